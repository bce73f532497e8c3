# ATTACK: a %-format width of a billion characters.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

sql = "SELECT '%999999999d'" % 1

with DAG("adv_percent_width", schedule=None) as dag:
    PostgresOperator(task_id="pad", postgres_conn_id="shop_pg", sql=sql)
