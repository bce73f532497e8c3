# ATTACK (leak): password= and token= arguments, and a password in default_args and params.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG(
    "adv_secret_keyword_arguments",
    schedule=None,
    default_args={"owner": "etl", "db_password": "Adv3rsarial-DefaultArgs-Pw"},
    params={"api_token": "advtok-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"},
) as dag:
    PostgresOperator(
        task_id="load",
        postgres_conn_id="shop_pg",
        sql="SELECT '{{ params.api_token }}' AS token, COUNT(*) FROM shop.orders",
        password="Adv3rsarial-Kwarg-Pw",
    )
