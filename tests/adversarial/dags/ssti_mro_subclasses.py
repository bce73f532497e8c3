# ATTACK (inline SQL): `''.__class__.__mro__[1].__subclasses__()`: from a string to every class in the process.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_mro_subclasses', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ ''.__class__.__mro__[1].__subclasses__() }}' AS x FROM shop.orders")
