# ATTACK (inline SQL): `'{0.__class__}'.format(x)`: attribute access inside a format string.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_format_string', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ '{0.__class__.__mro__}'.format(ds) }}' AS x")
