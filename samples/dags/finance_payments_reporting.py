"""
Finance: payment events and revenue reporting in Snowflake.

``raw.payments`` is loaded by Snowpipe from the payment providers' webhooks (Adyen, PayPal,
Klarna). Webhooks are retried until acknowledged, so the same provider event can arrive more
than once, and Klarna sends refunds and chargebacks in nightly batches up to three days late.

Tables (database FINANCE, schema REPORTING):

* ``payment_events``  - one row per provider event, EUR amounts added (this DAG)
* ``daily_ledger``    - written by ``finance_legacy_ledger``; restated here for late refunds
* ``revenue_summary`` - monthly revenue per country and provider, rebuilt every night
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.snowflake.operators.snowflake import SnowflakeOperator

from plugins.operators.shop_operators import DataQualityCheckOperator

SNOWFLAKE_CONN_ID = "warehouse"

default_args = {
    "owner": "finance-data",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "snowflake_conn_id": SNOWFLAKE_CONN_ID,
}

with DAG(
    dag_id="finance_payments_reporting",
    description="raw.payments -> finance.reporting.*",
    doc_md=__doc__,
    start_date=datetime(2023, 6, 1),
    schedule_interval="30 4 * * *",
    catchup=False,
    default_args=default_args,
    template_searchpath="/opt/airflow/include/sql",
    tags=["finance", "snowflake", "payments"],
) as dag:

    load_payment_events = SnowflakeOperator(
        task_id="load_payment_events",
        warehouse="FINANCE_WH",
        database="FINANCE",
        role="FINANCE_ETL",
        sql="finance/load_payment_events.sql",
    )

    # FIX: webhook retries produce the same provider event (event_id) twice, sometimes on
    # different days. Collapse the whole table, newest copy wins.
    dedup_payment_events = SQLExecuteQueryOperator(
        task_id="dedup_payment_events",
        conn_id=SNOWFLAKE_CONN_ID,
        sql="""
        INSERT OVERWRITE INTO finance.reporting.payment_events
        SELECT *
        FROM finance.reporting.payment_events
        QUALIFY ROW_NUMBER() OVER (PARTITION BY event_id ORDER BY ingested_at DESC) = 1
        """,
    )

    check_payment_amounts = DataQualityCheckOperator(
        task_id="check_payment_amounts",
        conn_id=SNOWFLAKE_CONN_ID,
        description="no negative or unconvertible amounts today",
        check_sql="""
        SELECT COUNT(*)
        FROM finance.reporting.payment_events
        WHERE payment_date = '{{ ds }}'
          AND (amount < 0 OR amount_eur IS NULL)
        """,
    )

    # FIX: Klarna's late refund/chargeback batches change the ledger of the previous days.
    restate_daily_ledger = SnowflakeOperator(
        task_id="restate_daily_ledger",
        warehouse="FINANCE_WH",
        sql="""
        MERGE INTO finance.reporting.daily_ledger t
        USING (
            SELECT
                payment_date                                AS ledger_date,
                currency,
                provider,
                SUM(IFF(status = 'captured', amount, 0))    AS captured_amount,
                SUM(IFF(status = 'refunded', amount, 0))    AS refunded_amount,
                SUM(IFF(status = 'chargeback', amount, 0))  AS chargeback_amount,
                SUM(CASE status WHEN 'captured' THEN amount
                                WHEN 'refunded' THEN -amount
                                WHEN 'chargeback' THEN -amount
                                ELSE 0 END)                 AS net_amount,
                COUNT(DISTINCT payment_id)                  AS payment_count
            FROM finance.reporting.payment_events
            WHERE payment_date BETWEEN '{{ macros.ds_add(ds, -3) }}' AND '{{ ds }}'
            GROUP BY payment_date, currency, provider
        ) s
        ON  t.ledger_date = s.ledger_date
        AND t.currency = s.currency
        AND t.provider = s.provider
        WHEN MATCHED THEN UPDATE SET
            captured_amount = s.captured_amount,
            refunded_amount = s.refunded_amount,
            chargeback_amount = s.chargeback_amount,
            net_amount = s.net_amount,
            payment_count = s.payment_count,
            updated_at = CURRENT_TIMESTAMP()
        WHEN NOT MATCHED THEN INSERT
            (ledger_date, currency, provider, captured_amount, refunded_amount,
             chargeback_amount, net_amount, payment_count, updated_at)
        VALUES
            (s.ledger_date, s.currency, s.provider, s.captured_amount, s.refunded_amount,
             s.chargeback_amount, s.net_amount, s.payment_count, CURRENT_TIMESTAMP())
        """,
    )

    # Full rebuild every night (TRUNCATE + INSERT): the controllers want restated history
    # whenever FX rates or refunds change, and the table is tiny.
    rebuild_revenue_summary = SQLExecuteQueryOperator(
        task_id="rebuild_revenue_summary",
        conn_id=SNOWFLAKE_CONN_ID,
        sql="finance/rebuild_revenue_summary.sql",
        split_statements=True,
    )

    load_payment_events.set_downstream(dedup_payment_events)
    dedup_payment_events.set_downstream([check_payment_amounts, restate_daily_ledger])
    rebuild_revenue_summary.set_upstream(dedup_payment_events)
