# ATTACK: a function that calls itself forever, used to build the SQL.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator


def table(depth):
    return table(depth + 1)


with DAG("adv_recursion", schedule=None) as dag:
    PostgresOperator(task_id="deep", postgres_conn_id="shop_pg", sql="SELECT * FROM " + table(0))
