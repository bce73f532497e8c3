# ATTACK: a loop doubles a string until it fills the machine's memory (2**64 characters).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

sql = "SELECT 1 -- "
for _ in range(64):
    sql = sql + sql

with DAG("adv_string_doubling", schedule=None) as dag:
    PostgresOperator(task_id="grow", postgres_conn_id="shop_pg", sql=sql)
