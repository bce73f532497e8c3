# ATTACK (inline SQL): `{% set ns.__class__ = ... %}` and `namespace()`: writing attributes.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_namespace_setattr', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql='{% set ns = namespace(a=1) %}{% set ns.__class__ = 1 %}SELECT 1 AS x')
