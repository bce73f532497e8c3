"""
Lake marts: dimensions, daily sales and customer activity.

Triggered by the staging datasets produced by ``order_events_staging``. Dimensions are
maintained with Iceberg ``MERGE`` (customers from the day's Debezium changelog, products
synced from the replicated ``shop.products``); the marts are rebuilt one partition per day.

Daily sales only count events that arrived on time; ``lake_late_data_fix`` rewrites the last
three days to fold late mobile events in.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.datasets import Dataset
from airflow.models.baseoperator import cross_downstream
from airflow.providers.apache.spark.operators.spark_sql import SparkSqlOperator
from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator

SQL_DIR = "/opt/airflow/include/sql"

default_args = {
    "owner": "analytics-engineering",
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="lake_daily_sales",
    description="Dimensions + daily sales + customer activity in the lake",
    doc_md=__doc__,
    start_date=datetime(2023, 11, 1),
    schedule=[Dataset("hive://staging/order_events"), Dataset("hive://staging/clickstream")],
    catchup=False,
    default_args=default_args,
    template_searchpath=[SQL_DIR],
    tags=["lake", "marts", "spark", "databricks"],
) as dag:

    # SCD1 customer dimension from the Debezium changelog. Debezium delivers at-least-once and
    # the connector sometimes replays old offsets, so take the newest change per customer and
    # never overwrite a newer row with an older one.
    merge_dim_customers = SparkSqlOperator(
        task_id="merge_dim_customers",
        conn_id="spark_sql_default",
        sql="""
        MERGE INTO lake.dim_customers t
        USING (
            SELECT op, customer_id, email, first_name, last_name, country, segment,
                   marketing_opt_in, updated_at
            FROM (
                SELECT *,
                       ROW_NUMBER() OVER (PARTITION BY customer_id
                                          ORDER BY updated_at DESC, ingested_at DESC) AS rn
                FROM raw.customers_cdc
                WHERE dt = '{{ ds }}'
            ) changes
            WHERE rn = 1
        ) s
        ON t.customer_id = s.customer_id
        WHEN MATCHED AND s.op = 'd' THEN DELETE
        WHEN MATCHED AND s.updated_at > t.updated_at THEN UPDATE SET
            email = s.email,
            first_name = s.first_name,
            last_name = s.last_name,
            country = s.country,
            segment = s.segment,
            marketing_opt_in = s.marketing_opt_in,
            updated_at = s.updated_at
        WHEN NOT MATCHED AND s.op <> 'd' THEN INSERT
            (customer_id, email, first_name, last_name, country, segment, marketing_opt_in, updated_at)
            VALUES (s.customer_id, s.email, s.first_name, s.last_name, s.country, s.segment,
                    s.marketing_opt_in, s.updated_at)
        """,
    )

    # The catalogue is small (~15k products): sync the whole replicated table every day and
    # only touch rows that changed.
    merge_dim_products = SparkSqlOperator(
        task_id="merge_dim_products",
        conn_id="spark_sql_default",
        sql="""
        MERGE INTO lake.dim_products t
        USING (
            SELECT product_id, sku, name, category, brand, price, currency, is_active, updated_at
            FROM shop.products
        ) s
        ON t.product_id = s.product_id
        WHEN MATCHED AND s.updated_at > t.updated_at THEN UPDATE SET *
        WHEN NOT MATCHED THEN INSERT *
        """,
    )

    build_daily_sales = SparkSqlOperator(
        task_id="build_daily_sales",
        conn_id="spark_sql_default",
        sql="lake/daily_sales.sql",
    )

    # lake.customer_activity is a Delta table owned by the CRM team's Databricks workspace.
    build_customer_activity = DatabricksSqlOperator(
        task_id="build_customer_activity",
        databricks_conn_id="databricks_crm",
        sql_endpoint_name="crm-etl",
        sql="lake/customer_activity.sql",
    )

    # Both marts join both dimensions' *current* state, so all of them must be merged first.
    cross_downstream(
        [merge_dim_customers, merge_dim_products],
        [build_daily_sales, build_customer_activity],
    )
