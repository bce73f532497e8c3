# ATTACK: squaring an integer in a loop makes a number of 2**64 bits (the evaluator would hang).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

n = 7
for _ in range(64):
    n = n * n

with DAG("adv_int_squaring", schedule=None) as dag:
    PostgresOperator(task_id="big", postgres_conn_id="shop_pg", sql="SELECT " + str(n))
