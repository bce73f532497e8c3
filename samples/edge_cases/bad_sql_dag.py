# EDGE CASE: valid DAG, SQL that does not parse (postgres dialect).
# Task `daily_status_counts`: the SQL string opens on line 34 and file line 38 has an
# unbalanced parenthesis, `SUM(total_amount AS revenue` never closes. sqlglot (read="postgres")
# raises ParseError "Expecting ). Line 5, Col: 26" (line 5 of the SQL text = file line 38).
# A scanner must mark that job sql_status=unparsed with E010 sql-parse-error at this file,
# line 38, and keep going: the second task, `count_stale_orders`, parses fine.
"""Order status counts for the ops dashboard (contains a broken query, see above)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

default_args = {
    "owner": "ops-analytics",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="edge_bad_sql",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args=default_args,
    tags=["edge-case"],
) as dag:

    daily_status_counts = PostgresOperator(
        task_id="daily_status_counts",
        postgres_conn_id="shop_pg",
        sql="""
SELECT status,
       COUNT(*) AS orders,
       COUNT(DISTINCT customer_id) AS customers,
       SUM(total_amount AS revenue
FROM shop.orders
WHERE created_at >= DATE '{{ ds }}'
GROUP BY status
""",
    )

    count_stale_orders = PostgresOperator(
        task_id="count_stale_orders",
        postgres_conn_id="shop_pg",
        sql="""
        SELECT COUNT(*)
        FROM shop.orders
        WHERE status = 'pending_payment'
          AND created_at < DATE '{{ ds }}' - INTERVAL '3 days'
        """,
    )

    daily_status_counts >> count_stale_orders
