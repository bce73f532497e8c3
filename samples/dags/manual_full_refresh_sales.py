"""
Manual full refresh of the sales marts for a date range.

Trigger from the UI ("Trigger DAG w/ config") after a bug fix in the sales logic or a
replay of raw data, e.g. ``{"start_date": "2024-01-01", "end_date": "2024-01-14"}``.

1. recompute ``lake.daily_sales`` for every event day in the range (dynamic partitions),
2. recompute ``marts.daily_revenue`` in BigQuery for the same range (delete + insert),
3. re-run the country KPIs of ``bq_marts_daily`` (they read ``daily_revenue``) for the range
   with ``airflow dags backfill``.

Runbook: RB-07 "Restating sales history".
"""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.bash import BashOperator
from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

with DAG(
    dag_id="manual_full_refresh_sales",
    doc_md=__doc__,
    start_date=datetime(2024, 1, 1),
    schedule=None,
    catchup=False,
    max_active_runs=1,
    params={
        "start_date": Param("2024-01-01", type="string", format="date",
                            description="first event day to recompute (inclusive)"),
        "end_date": Param("2024-01-14", type="string", format="date",
                          description="last event day to recompute (inclusive)"),
    },
    default_args={"owner": "analytics-engineering", "retries": 0},
    tags=["reprocess", "manual", "spark", "bigquery"],
) as dag:

    refresh_daily_sales = SparkSqlOperator(
        task_id="refresh_daily_sales",
        conn_id="spark_sql_default",
        executor_memory="8g",
        num_executors=20,
        sql="""
        SET spark.sql.sources.partitionOverwriteMode=dynamic;

        INSERT OVERWRITE TABLE lake.daily_sales PARTITION (dt)
        SELECT
            o.country,
            p.category,
            COALESCE(c.segment, 'unknown') AS customer_segment,
            COUNT(DISTINCT o.order_id)     AS orders,
            COUNT(DISTINCT o.customer_id)  AS customers,
            SUM(o.quantity)                AS units,
            SUM(o.order_amount)            AS revenue,
            CAST(to_date(o.event_time) AS STRING) AS dt
        FROM staging.order_events o
        JOIN lake.dim_products p
          ON p.product_id = o.product_id
        LEFT JOIN lake.dim_customers c
          ON c.customer_id = o.customer_id
        WHERE o.dt >= '{{ params.start_date }}'
          AND to_date(o.event_time) BETWEEN '{{ params.start_date }}' AND '{{ params.end_date }}'
          AND o.event_type = 'order_paid'
        GROUP BY o.country, p.category, COALESCE(c.segment, 'unknown'), to_date(o.event_time);
        """,
    )

    refresh_daily_revenue = BigQueryInsertJobOperator(
        task_id="refresh_daily_revenue",
        location="EU",
        configuration={
            "query": {
                "query": """
                DELETE FROM `shop-analytics.marts.daily_revenue`
                WHERE order_date BETWEEN '{{ params.start_date }}' AND '{{ params.end_date }}';

                INSERT INTO `shop-analytics.marts.daily_revenue`
                    (order_date, country, orders, customers, gross_revenue, avg_order_value)
                SELECT
                    order_date,
                    country,
                    COUNT(DISTINCT order_id),
                    COUNT(DISTINCT customer_id),
                    SUM(order_amount),
                    ROUND(AVG(order_amount), 2)
                FROM `shop-analytics.marts.fct_orders`
                WHERE status IN ('paid', 'shipped')
                  AND order_date BETWEEN '{{ params.start_date }}' AND '{{ params.end_date }}'
                GROUP BY order_date, country;
                """,
                "useLegacySql": False,
            }
        },
    )

    backfill_country_kpis = BashOperator(
        task_id="backfill_country_kpis",
        bash_command=(
            "airflow dags backfill "
            "-s {{ params.start_date }} -e {{ params.end_date }} "
            "--task-regex '^build_country_kpis$' --reset-dagruns -y bq_marts_daily"
        ),
    )

    [refresh_daily_sales, refresh_daily_revenue] >> backfill_country_kpis
