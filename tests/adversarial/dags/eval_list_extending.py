# ATTACK: a list extended with itself in a loop (2**64 items).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

columns = ["a"]
for _ in range(64):
    columns.extend(columns)

with DAG("adv_list_extending", schedule=None) as dag:
    PostgresOperator(task_id="wide", postgres_conn_id="shop_pg", sql="SELECT " + ", ".join(columns) + " FROM t")
