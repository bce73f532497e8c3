# EDGE CASE: a DAG file with a side effect at import time.
# Line 20 writes a marker file (<tempdir>/kappa_booby_trap_marker) when the module is
# IMPORTED or executed. The scanner reads DAG files with `ast` and never imports them, so after
# any scan the marker must not exist (tests assert this). Statically, the file is an ordinary
# DAG: dag_id edge_booby_trap with one SQL task (`count_orders`, Postgres, read-only).
# Real-world equivalents: DAG files that call Variable.get() / an API / a database at the top
# level, which a scanner must never trigger.
"""Counts yesterday's orders (and, if imported, leaves a marker file behind - see above)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

# Module-level side effect: this is the trap. Never import this file.
open(os.path.join(tempfile.gettempdir(), "kappa_booby_trap_marker"), "w").write("imported")

with DAG(
    dag_id="edge_booby_trap",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args={"owner": "ops-analytics", "retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["edge-case"],
) as dag:

    count_orders = PostgresOperator(
        task_id="count_orders",
        postgres_conn_id="shop_pg",
        sql="""
        SELECT COUNT(*) AS orders
        FROM shop.orders
        WHERE created_at >= DATE '{{ ds }}'
          AND created_at <  DATE '{{ ds }}' + INTERVAL '1 day'
        """,
    )
