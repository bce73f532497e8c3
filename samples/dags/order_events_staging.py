"""
Order events & clickstream: raw -> staging (batch layer of the Lambda architecture).

Kafka Connect's HDFS sink lands the ``order-events`` and ``clickstream`` topics hourly under
``s3a://shop-lake/raw/<topic>/dt=YYYY-MM-DD/`` (dt = *ingestion* date). Once a day we

1. register the new partitions with the metastore,
2. clean them into ``staging.*`` (one partition per ingestion day),
3. fold the day's order events into ``lake.orders`` (one row per order, latest state),
4. remove the duplicate order rows that step 3 leaves behind when an order has events on
   more than one day (or when the task is retried).

Owner: data-platform (#data-platform on Slack).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG
from airflow.datasets import Dataset
from airflow.providers.apache.hive.operators.hive import HiveOperator
from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.utils.task_group import TaskGroup

STAGING_ORDER_EVENTS = Dataset("hive://staging/order_events")
STAGING_CLICKSTREAM = Dataset("hive://staging/clickstream")

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "email_on_failure": True,
    "email": ["data-platform-alerts@shop.example"],
}

with DAG(
    dag_id="order_events_staging",
    description="raw.order_events / raw.clickstream -> staging, lake.orders",
    doc_md=__doc__,
    start_date=datetime(2023, 11, 1),
    schedule_interval="@daily",
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    template_searchpath=[os.path.join(os.path.dirname(__file__), "sql")],
    tags=["lake", "staging", "orders", "hive", "spark"],
) as dag:

    with TaskGroup("staging") as staging:
        # Kafka Connect writes new dt= directories but cannot call the metastore.
        repair_raw_partitions = HiveOperator(
            task_id="repair_raw_partitions",
            hive_cli_conn_id="hive_cli_default",
            hql="MSCK REPAIR TABLE raw.order_events; MSCK REPAIR TABLE raw.clickstream;",
        )

        stage_order_events = SparkSqlOperator(
            task_id="stage_order_events",
            conn_id="spark_sql_default",
            sql="staging/stage_order_events.sql",
            name="stage_order_events_{{ ds_nodash }}",
            outlets=[STAGING_ORDER_EVENTS],
        )

        stage_clickstream = HiveOperator(
            task_id="stage_clickstream",
            hive_cli_conn_id="hive_cli_default",
            hql="staging/stage_clickstream.sql",
            outlets=[STAGING_CLICKSTREAM],
        )

        repair_raw_partitions >> [stage_order_events, stage_clickstream]

    # Appends one row per order that had events today. Orders live for days (created ->
    # paid -> shipped), so the same order_id shows up again on later days: see dedup_orders.
    build_orders_snapshot = SparkSqlOperator(
        task_id="build_orders_snapshot",
        conn_id="spark_sql_default",
        sql="""
        INSERT INTO TABLE lake.orders
        SELECT
            order_id,
            MAX(customer_id)                                             AS customer_id,
            MAX(product_id)                                              AS product_id,
            MAX(country)                                                 AS country,
            MAX(channel)                                                 AS channel,
            regexp_replace(max_by(event_type, event_time), '^order_', '') AS status,
            MAX(order_amount)                                            AS order_amount,
            MAX(currency)                                                AS currency,
            MIN(CASE WHEN event_type = 'order_created' THEN event_time END) AS created_at,
            MAX(event_time)                                              AS last_event_at,
            MAX(ingested_at)                                             AS ingested_at
        FROM staging.order_events
        WHERE dt = '{{ ds }}'
        GROUP BY order_id
        """,
    )

    # FIX: keep only the most recently ingested row per order. Runs over the whole table
    # because the duplicate can be days apart. (Ticket DATA-1432: finance saw orders twice.)
    dedup_orders = SparkSqlOperator(
        task_id="dedup_orders",
        conn_id="spark_sql_default",
        sql="""
        INSERT OVERWRITE TABLE lake.orders
        SELECT order_id, customer_id, product_id, country, channel, status, order_amount,
               currency, created_at, last_event_at, ingested_at
        FROM (
            SELECT *,
                   ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY ingested_at DESC) AS rn
            FROM lake.orders
        ) t
        WHERE rn = 1
        """,
    )

    # The snapshot only needs the order events; clickstream staging may still be running.
    build_orders_snapshot << [stage_order_events]
    dedup_orders << build_orders_snapshot
