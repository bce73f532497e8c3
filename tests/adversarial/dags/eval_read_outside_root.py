# ATTACK: the SQL is read from a file outside the repository (/etc/passwd); it must not be read.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

sql = open("/etc/passwd").read()

with DAG("adv_read_outside_root", schedule=None) as dag:
    PostgresOperator(task_id="leak", postgres_conn_id="shop_pg", sql=sql)
