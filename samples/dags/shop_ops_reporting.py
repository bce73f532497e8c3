"""
Operational reporting on the shop's Postgres read replica (schema ``analytics``).

Customer service and the warehouse team query these tables from Metabase during the day, so
they live next to the operational data instead of in the lake.

* ``analytics.order_facts``     - orders enriched with customer attributes (upserted daily)
* ``analytics.inventory_daily`` - end-of-day stock per product

Corrections applied after the load:

* unpaid orders older than 3 days are shown as cancelled (the shop cancels them in the UI, but
  the cancellation is not written back to ``shop.orders`` until the nightly ERP sync);
* orders placed by QA test accounts are removed.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.postgres.operators.postgres import PostgresOperator

from plugins.operators.shop_operators import ShopPostgresOperator

default_args = {
    "owner": "ops-analytics",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="shop_ops_reporting",
    description="Order facts and inventory snapshots on the shop replica",
    doc_md=__doc__,
    start_date=datetime(2023, 9, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args=default_args,
    template_searchpath=[os.path.join(os.path.dirname(__file__), "sql")],
    tags=["postgres", "ops", "reporting"],
) as dag:

    load_order_facts = PostgresOperator(
        task_id="load_order_facts",
        postgres_conn_id="shop_pg",
        sql="""
        INSERT INTO analytics.order_facts
            (order_id, customer_id, customer_country, customer_segment, status, total_amount,
             currency, payment_method, order_date, created_at, updated_at)
        SELECT
            o.order_id,
            o.customer_id,
            c.country,
            c.segment,
            o.status,
            o.total_amount,
            o.currency,
            o.payment_method,
            o.created_at::date,
            o.created_at,
            o.updated_at
        FROM shop.orders o
        JOIN shop.customers c
          ON c.customer_id = o.customer_id
        WHERE o.created_at >= DATE '{{ ds }}'
          AND o.created_at <  DATE '{{ ds }}' + INTERVAL '1 day'
        ON CONFLICT (order_id) DO UPDATE SET
            status = EXCLUDED.status,
            updated_at = EXCLUDED.updated_at
        """,
    )

    # FIX (update in place): mirror the shop's "auto-cancel after 3 days unpaid" rule.
    cancel_stale_unpaid_orders = SQLExecuteQueryOperator(
        task_id="cancel_stale_unpaid_orders",
        conn_id="shop_pg",
        sql="""
        UPDATE analytics.order_facts
        SET status = 'cancelled',
            updated_at = now()
        WHERE status = 'pending_payment'
          AND created_at < DATE '{{ ds }}' - INTERVAL '3 days'
        """,
    )

    # FIX (delete bad rows): QA runs checkout smoke tests in production every hour.
    delete_test_orders = ShopPostgresOperator(
        task_id="delete_test_orders",
        conn_id="shop_pg",
        statement_timeout="2min",
        sql="""
        DELETE FROM analytics.order_facts
        WHERE customer_id IN (
            SELECT customer_id FROM shop.customers WHERE email LIKE '%@test.shop.example'
        )
           OR total_amount <= 0
        """,
    )

    snapshot_inventory = SQLExecuteQueryOperator(
        task_id="snapshot_inventory",
        conn_id="shop_pg",
        sql="postgres/inventory_daily.sql",
    )

    load_order_facts >> [cancel_stale_unpaid_orders, delete_test_orders]
