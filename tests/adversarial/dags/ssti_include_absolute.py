# ATTACK (inline SQL): `{% include '/etc/passwd' %}`: an absolute path.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_include_absolute', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT 1 AS x -- {% include '/etc/passwd' %}")
