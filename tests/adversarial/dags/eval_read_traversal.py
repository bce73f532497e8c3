# ATTACK: the SQL file path climbs out of the repository with ../ (template_searchpath and sql=).
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG("adv_read_traversal", schedule=None, template_searchpath=["../../../../../../etc"]) as dag:
    PostgresOperator(task_id="leak", postgres_conn_id="shop_pg", sql="../../../../../../etc/hostname.sql")
