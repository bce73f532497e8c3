# ATTACK (inline SQL): `|attr('__class__')`: the attr filter instead of a dot.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_attr_filter', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ (''|attr('__class__')|attr('__mro__'))[1] }}' AS x")
