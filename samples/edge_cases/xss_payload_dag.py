# EDGE CASE: a hostile repository. Text that ends up in the migration report (kappa report)
# carries HTML/JS payloads; the report must show them as text and never run them.
#   - doc_md (line 22): a <script> element and an <img onerror> handler
#   - task_id (line 42): markup with an event handler; Airflow itself would refuse this id
#     (letters, digits, dashes, dots and underscores only), but kappa scans repositories it does
#     not trust, so the scanner takes the string as written
#   - SQL comment (line 45): closes a <script> element and opens another, aimed at data embedded
#     as JSON inside the page
# Both tasks only read shop.orders (read-only checks): pattern none, nothing is generated.
"""Order checks whose texts carry script payloads (see above)."""

from __future__ import annotations

from datetime import datetime

from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator

DOC = """
### Order checks

<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">
"""

with DAG(
    dag_id="edge_xss_payloads",
    start_date=datetime(2024, 1, 1),
    schedule_interval="@daily",
    catchup=False,
    doc_md=DOC,
    description="<b onmouseover=\"window.__xss = 5\">order checks</b>",
    tags=["edge-case"],
) as dag:

    count_orders = PostgresOperator(
        task_id="count_orders",
        postgres_conn_id="shop_pg",
        sql="SELECT COUNT(*) AS orders FROM shop.orders WHERE created_at >= DATE '{{ ds }}'",
    )

    count_hostile = PostgresOperator(
        task_id='count_<svg onload="window.__xss = 3">',
        postgres_conn_id="shop_pg",
        sql="""
        -- </script><script>window.__xss = 4</script><!--
        SELECT COUNT(*) AS paid_orders
        FROM shop.orders
        WHERE status = 'paid'
          AND created_at >= DATE '{{ ds }}'
        """,
    )

    count_orders >> count_hostile
