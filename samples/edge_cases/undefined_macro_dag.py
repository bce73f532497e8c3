# EDGE CASE: valid DAG and valid SQL shape, but the Jinja template uses names that are not
# defined anywhere the scanner can see.
# * line 41, task `count_region_orders`: `{{ macros.my_custom_shop_macro(ds) }}` - the macro
#   was meant to come from a plugin (shop_macros) that is not in this repository.
# * line 54, task `count_region_clicks`: `{{ shop_region }}` - a variable that was meant to be
#   passed via user_defined_macros, which this DAG does not set.
# Airflow itself would fail at render time (jinja2 UndefinedError). A scanner must report a
# render finding for each task naming the unknown template name and its line, and must not
# pass the SQL off as fully resolved (SqlSource.resolved=False); if it substitutes a
# placeholder to get a parse, the finding must remain.
"""Regional order and click counts (relies on macros that are not deployed - see above)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator

default_args = {
    "owner": "web-analytics",
    "retries": 1,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="edge_undefined_macro",
    start_date=datetime(2024, 1, 1),
    schedule="@daily",
    catchup=False,
    default_args=default_args,
    tags=["edge-case"],
) as dag:

    count_region_orders = SQLExecuteQueryOperator(
        task_id="count_region_orders",
        conn_id="trino_default",
        sql="""
        SELECT country, count(*) AS orders
        FROM staging.order_events
        WHERE dt = '{{ macros.my_custom_shop_macro(ds) }}'
          AND event_type = 'order_paid'
        GROUP BY country
        """,
    )

    count_region_clicks = SQLExecuteQueryOperator(
        task_id="count_region_clicks",
        conn_id="trino_default",
        sql="""
        SELECT country, count(*) AS clicks
        FROM staging.clickstream
        WHERE dt = '{{ ds }}'
          AND country = '{{ shop_region }}'
        GROUP BY country
        """,
    )

    count_region_orders >> count_region_clicks
