"""
Clickstream sessions and per-country order feeds, built with Trino on the Iceberg lake.

The Trino connection's default catalog is ``iceberg`` with the Hive metastore, so
``staging.*`` and ``lake.*`` resolve exactly as they do in Spark and Hive.

* ``lake.clickstream_sessions``: one row per web/app session and day.
* ``lake.order_events_<cc>``: the order events of one country, for the country teams'
  local BI tools (each country only gets read access to its own table - GDPR / works council).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.trino.operators.trino import TrinoOperator

COUNTRIES = ["DE", "FR", "NL", "PL"]

default_args = {
    "owner": "web-analytics",
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="trino_clickstream_marts",
    description="Sessions + per-country order event feeds (Trino)",
    doc_md=__doc__,
    start_date=datetime(2023, 12, 1),
    schedule_interval="0 5 * * *",
    catchup=False,
    default_args=default_args,
    tags=["trino", "clickstream", "lake"],
) as dag:

    build_sessions = TrinoOperator(
        task_id="build_sessions",
        trino_conn_id="trino_default",
        sql="""
        INSERT INTO lake.clickstream_sessions
        SELECT
            session_id,
            max(customer_id)                      AS customer_id,
            max(country)                          AS country,
            max(device)                           AS device,
            min(event_time)                       AS session_start,
            max(event_time)                       AS session_end,
            count_if(event_type = 'page_view')    AS page_views,
            count_if(event_type = 'product_view') AS product_views,
            count_if(event_type = 'add_to_cart')  AS add_to_cart,
            bool_or(event_type = 'purchase')      AS converted,
            DATE '{{ ds }}'                       AS dt
        FROM staging.clickstream
        WHERE dt = '{{ ds }}'
        GROUP BY session_id
        """,
    )

    # FIX: scrapers with a browser user agent get past the staging filter. Nobody reads
    # 300 pages in a session without buying; drop those sessions.
    delete_bot_sessions = SQLExecuteQueryOperator(
        task_id="delete_bot_sessions",
        conn_id="trino_default",
        sql="""
        DELETE FROM lake.clickstream_sessions
        WHERE dt = DATE '{{ ds }}'
          AND page_views > 300
          AND NOT converted
        """,
    )

    build_sessions >> delete_bot_sessions

    # Stateless routing: one INSERT per country, plain filter, no aggregation.
    for country in COUNTRIES:
        route = SQLExecuteQueryOperator(
            task_id=f"route_orders_{country.lower()}",
            conn_id="trino_default",
            sql=f"""
            INSERT INTO lake.order_events_{country.lower()}
            SELECT event_id, order_id, customer_id, product_id, event_type, quantity,
                   unit_price, order_amount, currency, channel, event_time, ingested_at,
                   CAST(dt AS DATE) AS dt
            FROM staging.order_events
            WHERE dt = '{{{{ ds }}}}'
              AND country = '{country}'
            """,
        )
