# ATTACK (inline SQL): `{% include '../../../../etc/passwd' %}`: climbing out of the search path.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_include_traversal', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT 1 AS x -- {% include '../../../../../../etc/passwd' %}")
