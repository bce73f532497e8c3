"""
BigQuery marts for the BI team (Looker): order facts, daily revenue, product performance.

``raw.order_events`` is the BigQuery copy of the ``order-events`` topic (BigQuery sink
connector, dataset ``raw``); ``shop.*`` is the Datastream replica of the shop database.

* ``marts.fct_orders`` holds the current state of every order (MERGE of the day's events).
* ``marts.daily_revenue`` is appended once per day, then the last 3 days are restated because
  payments and late mobile events keep changing recent orders.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.google.cloud.operators.bigquery import (
    BigQueryExecuteQueryOperator,
    BigQueryInsertJobOperator,
)
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, Asset

PROJECT = "shop-analytics"
DATASET = "marts"
LOCATION = "EU"
GCP_CONN_ID = "google_cloud_default"

TABLE = f"{PROJECT}.{DATASET}.daily_revenue"
FCT_ORDERS = f"{PROJECT}.{DATASET}.fct_orders"

FCT_ORDERS_ASSET = Asset("bigquery://shop-analytics/marts/fct_orders")

# Shared by the daily append and the 3-day restatement so the two cannot drift apart.
REVENUE_BY_DAY = f"""
    SELECT
        order_date,
        country,
        COUNT(DISTINCT order_id)    AS orders,
        COUNT(DISTINCT customer_id) AS customers,
        SUM(order_amount)           AS gross_revenue,
        ROUND(AVG(order_amount), 2) AS avg_order_value
    FROM `{FCT_ORDERS}`
    WHERE status IN ('paid', 'shipped')
"""

MERGE_FCT_ORDERS = """
MERGE `shop-analytics.marts.fct_orders` T
USING (
    -- latest event per order among today's arrivals; raw has duplicates (producer retries)
    SELECT *
    FROM raw.order_events
    WHERE dt = '{{ ds }}'
    QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY event_time DESC, ingested_at DESC) = 1
) S
ON T.order_id = S.order_id
WHEN MATCHED AND S.event_time >= T.updated_at THEN UPDATE SET
    status = REGEXP_REPLACE(S.event_type, r'^order_', ''),
    updated_at = S.event_time
WHEN NOT MATCHED THEN INSERT
    (order_id, customer_id, product_id, country, channel, status, quantity, order_amount,
     currency, created_at, updated_at, order_date)
VALUES
    (S.order_id, S.customer_id, S.product_id, S.country, S.channel,
     REGEXP_REPLACE(S.event_type, r'^order_', ''), S.quantity,
     CAST(S.quantity * S.unit_price AS NUMERIC), S.currency, S.event_time, S.event_time,
     DATE(S.event_time))
"""

default_args = {
    "owner": "bi-team",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="bq_marts_daily",
    description="BigQuery marts: fct_orders, daily_revenue, product_performance, KPIs",
    doc_md=__doc__,
    start_date=datetime(2024, 1, 1),
    schedule="0 3 * * *",
    catchup=False,
    default_args=default_args,
    tags=["bigquery", "marts", "bi"],
):
    merge_fct_orders = BigQueryInsertJobOperator(
        task_id="merge_fct_orders",
        gcp_conn_id=GCP_CONN_ID,
        location=LOCATION,
        project_id=PROJECT,
        configuration={
            "query": {
                "query": MERGE_FCT_ORDERS,
                "useLegacySql": False,
                "priority": "BATCH",
            },
            "labels": {"team": "bi", "dag": "bq_marts_daily"},
        },
        outlets=[FCT_ORDERS_ASSET],
    )

    build_daily_revenue = BigQueryInsertJobOperator(
        task_id="build_daily_revenue",
        gcp_conn_id=GCP_CONN_ID,
        location=LOCATION,
        configuration={
            "query": {
                "query": "INSERT INTO `" + TABLE + "` "
                "(order_date, country, orders, customers, gross_revenue, avg_order_value)"
                + REVENUE_BY_DAY
                + "      AND order_date = '{{ ds }}'\n    GROUP BY order_date, country",
                "useLegacySql": False,
            }
        },
    )

    # FIX: payments confirmed after midnight and late app events change the last days'
    # revenue; restate them in place instead of appending a correction row.
    restate_daily_revenue = BigQueryInsertJobOperator(
        task_id="restate_daily_revenue",
        gcp_conn_id=GCP_CONN_ID,
        location=LOCATION,
        configuration={
            "query": {
                "query": "MERGE `" + TABLE + "` T\nUSING (" + REVENUE_BY_DAY
                + "      AND order_date BETWEEN '{{ macros.ds_add(ds, -3) }}' AND '{{ ds }}'\n"
                "    GROUP BY order_date, country\n) S\n"
                "ON T.order_date = S.order_date AND T.country = S.country\n"
                "WHEN MATCHED THEN UPDATE SET orders = S.orders, customers = S.customers,\n"
                "    gross_revenue = S.gross_revenue, avg_order_value = S.avg_order_value\n"
                "WHEN NOT MATCHED THEN INSERT ROW",
                "useLegacySql": False,
            }
        },
    )

    # Legacy task from the 2021 Looker migration; still on the deprecated operator.
    build_product_performance = BigQueryExecuteQueryOperator(
        task_id="build_product_performance",
        gcp_conn_id=GCP_CONN_ID,
        location=LOCATION,
        use_legacy_sql=False,
        sql="""
        INSERT INTO `shop-analytics.marts.product_performance`
            (order_date, product_id, sku, category, units, revenue, category_rank)
        SELECT
            f.order_date,
            f.product_id,
            p.sku,
            p.category,
            SUM(f.quantity)     AS units,
            SUM(f.order_amount) AS revenue,
            RANK() OVER (PARTITION BY p.category ORDER BY SUM(f.order_amount) DESC) AS category_rank
        FROM `shop-analytics.marts.fct_orders` f
        JOIN shop.products p
          ON p.product_id = f.product_id
        WHERE f.order_date = '{{ ds }}'
          AND f.status IN ('paid', 'shipped')
        GROUP BY f.order_date, f.product_id, p.sku, p.category
        """,
    )

    # Written by the analyst who owns the KPI dashboard; kept as a bq CLI call on purpose
    # (it runs under the analyst service account configured in the worker's gcloud profile).
    build_country_kpis = BashOperator(
        task_id="build_country_kpis",
        bash_command="""bq query --use_legacy_sql=false --location=EU --project_id=shop-analytics '
INSERT INTO `shop-analytics.marts.country_daily_kpis`
    (order_date, country, gross_revenue, prev_day_revenue, revenue_7d)
SELECT
    order_date,
    country,
    gross_revenue,
    LAG(gross_revenue) OVER (PARTITION BY country ORDER BY order_date) AS prev_day_revenue,
    SUM(gross_revenue) OVER (PARTITION BY country ORDER BY order_date
                             ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS revenue_7d
FROM `shop-analytics.marts.daily_revenue`
WHERE order_date BETWEEN DATE_SUB(DATE "{{ ds }}", INTERVAL 7 DAY) AND DATE "{{ ds }}"
QUALIFY order_date = DATE "{{ ds }}"
'""",
    )

    merge_fct_orders >> [build_daily_revenue, build_product_performance]
    build_daily_revenue >> restate_daily_revenue >> build_country_kpis
