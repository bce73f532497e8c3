# ATTACK (outputs): ids, table and column names with line breaks and quotes that would end a
# `-- comment` or an option string of the generated Flink job and add statements of their own.
# Scanned as written; every generated job must stay comments, SET, CREATE TABLE and INSERT only.
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG("inject\nDROP TABLE from_dag_id; --", schedule="@daily") as dag:
    PostgresOperator(
        task_id="t\rDROP TABLE from_task_id; --\u2028DROP TABLE after_separator;",
        postgres_conn_id="shop_pg",
        sql='INSERT INTO "mart"."evil\nDROP TABLE from_table; --" '
        'SELECT "col\nDROP TABLE from_column; --", b FROM "src"."o\'k\'); DROP TABLE from_quote; --" WHERE c = 1',
    )
