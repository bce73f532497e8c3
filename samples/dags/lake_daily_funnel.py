"""
Conversion funnel (product view -> add to cart -> checkout -> paid order), per country and day.

``catchup=True`` on purpose: the funnel was introduced in 2024 but marketing wanted history
back to the relaunch of the web shop (June 2021), so the DAG back-fills every day since then
(``max_active_runs`` keeps the Hive queue usable while it catches up) and then simply keeps
running daily.

The conversion table on top is tiny and fully recomputed by ``spark-sql -f`` every run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

SQL_DIR = "/opt/airflow/include/sql"

default_args = {
    "owner": "marketing-analytics",
    "retries": 3,
    "retry_delay": timedelta(minutes=10),
    "depends_on_past": False,
}

with DAG(
    dag_id="lake_daily_funnel",
    description="Daily conversion funnel, back-filled since 2021",
    doc_md=__doc__,
    start_date=datetime(2021, 6, 1),
    schedule_interval="@daily",
    catchup=True,
    max_active_runs=4,
    default_args=default_args,
    tags=["lake", "hive", "funnel", "backfill"],
) as dag:

    build_daily_funnel = BashOperator(
        task_id="build_daily_funnel",
        bash_command="""hive --hiveconf tez.queue.name=backfill -e "
INSERT OVERWRITE TABLE lake.daily_funnel PARTITION (dt='{{ ds }}')
SELECT country, step, COUNT(DISTINCT visitor_id) AS visitors, COUNT(*) AS events
FROM (
    SELECT country, event_type AS step,
           COALESCE(CAST(customer_id AS STRING), anonymous_id) AS visitor_id
    FROM staging.clickstream
    WHERE dt = '{{ ds }}'
      AND event_type IN ('product_view', 'add_to_cart', 'checkout_started')
    UNION ALL
    SELECT country, 'order_paid' AS step, CAST(customer_id AS STRING) AS visitor_id
    FROM staging.order_events
    WHERE dt = '{{ ds }}'
      AND event_type = 'order_paid'
) funnel
GROUP BY country, step
"
""",
    )

    build_funnel_conversion = BashOperator(
        task_id="build_funnel_conversion",
        bash_command=f"spark-sql --master yarn --queue backfill -f {SQL_DIR}/lake/funnel_conversion.sql",
    )

    build_daily_funnel >> build_funnel_conversion
