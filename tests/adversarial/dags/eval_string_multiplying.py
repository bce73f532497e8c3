# ATTACK: repeated `*` builds a gigabyte string from a short one.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

sql = "SELECT 1 -- " * 999
sql = sql * 999
sql = sql * 999

with DAG("adv_string_multiplying", schedule=None) as dag:
    PostgresOperator(task_id="grow", postgres_conn_id="shop_pg", sql=sql)
