# ATTACK (inline SQL): `{% import 'os' as os %}`: importing a Python module as a template.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_import_module', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="{% import 'os' as os %}SELECT 1 AS x")
