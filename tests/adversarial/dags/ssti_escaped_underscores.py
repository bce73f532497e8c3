# ATTACK (inline SQL): `['\x5f\x5fclass\x5f\x5f']`: underscores written as escapes, through item access.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_escaped_underscores', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}' AS x")
