# ATTACK: a format width of a billion characters (str.format).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

sql = "SELECT '{:>999999999}'".format("x")

with DAG("adv_format_width", schedule=None) as dag:
    PostgresOperator(task_id="pad", postgres_conn_id="shop_pg", sql=sql)
