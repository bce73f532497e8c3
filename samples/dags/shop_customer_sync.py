"""
Customer order statistics for the CRM, maintained on the shop replica (TaskFlow API).

``analytics.customer_order_stats`` is updated incrementally: each run adds the day's orders
to the running totals (so a manual re-run of a day double counts - clear the day first, see
runbook RB-12). Customers without an order for 90 days are flagged as churn risks for the
win-back campaign.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pendulum
from airflow.decorators import dag, task
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.postgres.hooks.postgres import PostgresHook

def build_order_stats_sql(ds: str) -> str:
    """Upsert the orders created on ``ds`` into the per-customer running totals."""
    return f"""
        INSERT INTO analytics.customer_order_stats AS s
            (customer_id, orders, revenue, first_order_at, last_order_at, updated_at)
        SELECT
            customer_id,
            COUNT(*)          AS orders,
            SUM(total_amount) AS revenue,
            MIN(created_at)   AS first_order_at,
            MAX(created_at)   AS last_order_at,
            now()             AS updated_at
        FROM shop.orders
        WHERE status <> 'cancelled'
          AND created_at >= DATE '{ds}'
          AND created_at <  DATE '{ds}' + INTERVAL '1 day'
        GROUP BY customer_id
        ON CONFLICT (customer_id) DO UPDATE SET
            orders         = s.orders + EXCLUDED.orders,
            revenue        = s.revenue + EXCLUDED.revenue,
            first_order_at = LEAST(s.first_order_at, EXCLUDED.first_order_at),
            last_order_at  = GREATEST(s.last_order_at, EXCLUDED.last_order_at),
            updated_at     = EXCLUDED.updated_at
    """


@dag(
    dag_id="shop_customer_sync",
    schedule="@daily",
    start_date=pendulum.datetime(2023, 9, 1, tz="Europe/Berlin"),
    catchup=False,
    default_args={"owner": "crm-analytics", "retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["postgres", "crm", "taskflow"],
    doc_md=__doc__,
)
def shop_customer_sync():

    @task
    def accumulate_order_stats(**context) -> None:
        ds = context["ds"]
        sql = build_order_stats_sql(ds)
        PostgresHook(postgres_conn_id="shop_pg").run(sql)

    @task
    def flag_churn_risk() -> None:
        hook = PostgresHook(postgres_conn_id="shop_pg")
        conn = hook.get_conn()
        # Relative to now(), not the logical date: the campaign tool reads the flag in real time.
        conn.cursor().execute(
            "UPDATE analytics.customer_order_stats "
            "SET churn_risk = (last_order_at < now() - INTERVAL '90 days'), updated_at = now()"
        )
        conn.commit()

    # VACUUM cannot run inside a transaction block, hence autocommit.
    vacuum_reporting_tables = SQLExecuteQueryOperator.partial(
        task_id="vacuum_reporting_tables",
        conn_id="shop_pg",
        autocommit=True,
    ).expand(
        sql=[
            "VACUUM ANALYZE analytics.order_facts",
            "VACUUM ANALYZE analytics.customer_order_stats",
            "VACUUM ANALYZE analytics.inventory_daily",
        ]
    )

    accumulate_order_stats() >> flag_churn_risk() >> vacuum_reporting_tables


shop_customer_sync()


# Kept for the on-call runbook: `python shop_customer_sync.py 2024-01-15` prints the SQL.
if __name__ == "__main__":
    import sys

    print(build_order_stats_sql(sys.argv[1] if len(sys.argv) > 1 else datetime.now().date().isoformat()))
