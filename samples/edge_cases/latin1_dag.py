# EDGE CASE: file encoded in ISO-8859-1 (Latin-1), not UTF-8, without a PEP 263 coding line.
# Line 9 (and line 28) contain the byte 0xE9 (e-acute in Latin-1), invalid in UTF-8, inside
# comments. `python latin1_dag.py` refuses the file ("SyntaxError: Non-UTF-8 code starting with
# ... on line 9"); open(path, encoding="utf-8").read() raises UnicodeDecodeError. (ast.parse() on
# the raw bytes happens to accept it, because the bad bytes are only in comments.) A scanner
# must not crash: report a decode finding for line 9 or fall back to Latin-1; either way the
# DAG below is valid (dag_id edge_latin1_encoding, one read-only Postgres task).
#
# Export quotidien des clients créés la veille, pour l'équipe service client (Lyon).
"""Daily list of yesterday's new customers for the French customer-service team."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

with DAG(
    dag_id="edge_latin1_encoding",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args={"owner": "service-client", "retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["edge-case", "fr"],
) as dag:

    # requête en lecture seule : aucun écrit dans la base
    list_new_customers = PostgresOperator(
        task_id="list_new_customers",
        postgres_conn_id="shop_pg",
        sql="""
        SELECT customer_id, email, first_name, last_name, created_at
        FROM shop.customers
        WHERE country = 'FR'
          AND created_at >= DATE '{{ ds }}'
          AND created_at <  DATE '{{ ds }}' + INTERVAL '1 day'
        ORDER BY created_at
        """,
    )
