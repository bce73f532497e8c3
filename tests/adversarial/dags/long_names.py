# ATTACK (files): path components longer than any file system allows (ENAMETOOLONG), in
# template_searchpath, a .sql reference, an {% include %} and open(): each is "not found".
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

LONG = "x" * 300

with DAG("adv_long_names", schedule=None, template_searchpath=[LONG, "/opt/" + LONG + "/sql"]) as dag:
    PostgresOperator(task_id="reference", postgres_conn_id="shop_pg", sql=LONG + ".sql")
    PostgresOperator(task_id="include", postgres_conn_id="shop_pg", sql="SELECT 1 {% include '" + LONG + "' %}")
    PostgresOperator(task_id="opened", postgres_conn_id="shop_pg", sql=open(LONG + ".sql").read())
