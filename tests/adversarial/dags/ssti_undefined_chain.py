# ATTACK (inline SQL): a name Airflow does not have (`request`, Flask's) walked to builtins: undefined, then blocked.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_undefined_chain', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}' AS x")
