# EDGE CASE: Python syntax error (committed half-edited after a merge conflict).
# Line 36 (`) as dag`, the end of the `with DAG(...)` statement) lacks its trailing colon,
# so the file cannot be parsed: Python reports "SyntaxError: expected ':'" at line 36.
# A scanner must report a scan error for this file (E001 dag-syntax-error, line 36) and
# carry on with the other files. Nothing else in the file is wrong.
"""Nightly export of order counts for the ops dashboard (broken: see the top comment)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

default_args = {
    "owner": "ops-analytics",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

COUNT_ORDERS_SQL = """
SELECT status, COUNT(*) AS orders
FROM shop.orders
WHERE created_at >= DATE '{{ ds }}'
  AND created_at <  DATE '{{ ds }}' + INTERVAL '1 day'
GROUP BY status
"""

with DAG(
    dag_id="edge_syntax_error",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args=default_args,
    tags=["edge-case"],
) as dag
    count_orders = PostgresOperator(
        task_id="count_orders",
        postgres_conn_id="shop_pg",
        sql=COUNT_ORDERS_SQL,
    )
