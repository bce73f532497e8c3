"""
Customer 360 in BigQuery: customer dimension, per-customer order history and lifetime value.

Runs whenever ``bq_marts_daily`` has merged the day's orders into ``marts.fct_orders``.
``marts.customer_ltv`` is small (one row per customer), so it is simply rebuilt from scratch
every run; the CRM export reads it with ``SELECT *``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
from airflow.sdk import Asset, chain, dag

FCT_ORDERS = Asset("bigquery://shop-analytics/marts/fct_orders")


def _query(sql: str) -> dict:
    """BigQuery job configuration for a standard-SQL query job."""
    return {"query": {"query": sql, "useLegacySql": False}}


@dag(
    dag_id="bq_customer_360",
    schedule=[FCT_ORDERS],
    start_date=datetime(2024, 1, 1),
    catchup=False,
    default_args={"owner": "crm-analytics", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["bigquery", "crm", "customers"],
    doc_md=__doc__,
)
def bq_customer_360():
    # SCD1: Datastream keeps shop.customers current; pick up today's changes only.
    merge_dim_customer = BigQueryInsertJobOperator(
        task_id="merge_dim_customer",
        location="EU",
        configuration={
            "query": {
                "query": """
                MERGE `shop-analytics.marts.dim_customer` T
                USING (
                    SELECT customer_id, email, country, segment, marketing_opt_in, updated_at
                    FROM shop.customers
                    WHERE DATE(updated_at) = '{{ ds }}'
                ) S
                ON T.customer_id = S.customer_id
                WHEN MATCHED THEN UPDATE SET
                    email = S.email,
                    country = S.country,
                    segment = S.segment,
                    marketing_opt_in = S.marketing_opt_in,
                    updated_at = S.updated_at
                WHEN NOT MATCHED THEN INSERT
                    (customer_id, email, country, segment, marketing_opt_in, updated_at)
                VALUES
                    (S.customer_id, S.email, S.country, S.segment, S.marketing_opt_in, S.updated_at)
                """,
                "useLegacySql": False,
            }
        },
    )

    # Order sequence, gap to the previous order and running revenue per customer. The window
    # functions need the customer's full history, the QUALIFY keeps only today's orders.
    build_customer_orders = BigQueryInsertJobOperator(
        task_id="build_customer_orders",
        location="EU",
        configuration=_query(
            """
            INSERT INTO `shop-analytics.marts.customer_orders`
                (order_id, customer_id, order_date, order_amount, customer_segment,
                 order_seq, days_since_previous_order, running_revenue)
            SELECT
                o.order_id,
                o.customer_id,
                o.order_date,
                o.order_amount,
                d.segment AS customer_segment,
                ROW_NUMBER() OVER (PARTITION BY o.customer_id ORDER BY o.created_at) AS order_seq,
                DATE_DIFF(
                    o.order_date,
                    LAG(o.order_date) OVER (PARTITION BY o.customer_id ORDER BY o.created_at),
                    DAY) AS days_since_previous_order,
                SUM(o.order_amount) OVER (
                    PARTITION BY o.customer_id ORDER BY o.created_at
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_revenue
            FROM `shop-analytics.marts.fct_orders` o
            LEFT JOIN `shop-analytics.marts.dim_customer` d
              ON d.customer_id = o.customer_id
            WHERE o.status != 'cancelled'
            QUALIFY o.order_date = '{{ ds }}'
            """
        ),
    )

    # Full refresh on purpose: ~50k customers, cheaper than getting incremental LTV right.
    rebuild_customer_ltv = BigQueryInsertJobOperator(
        task_id="rebuild_customer_ltv",
        location="EU",
        configuration=_query(
            """
            CREATE OR REPLACE TABLE `shop-analytics.marts.customer_ltv`
            CLUSTER BY segment
            AS
            SELECT
                d.customer_id,
                d.segment,
                d.country,
                COUNT(o.order_id)   AS orders,
                COALESCE(SUM(o.order_amount), 0) AS lifetime_revenue,
                MIN(o.order_date)   AS first_order_date,
                MAX(o.order_date)   AS last_order_date
            FROM `shop-analytics.marts.dim_customer` d
            LEFT JOIN `shop-analytics.marts.fct_orders` o
              ON o.customer_id = d.customer_id
             AND o.status != 'cancelled'
            GROUP BY d.customer_id, d.segment, d.country
            """
        ),
    )

    chain(merge_dim_customer, [build_customer_orders, rebuild_customer_ltv])


bq_customer_360()
