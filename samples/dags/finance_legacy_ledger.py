"""
Daily payment ledger (finance, audited - change only with a controller's sign-off).

Posts one ledger row per day, currency and provider from ``finance.reporting.payment_events``
and tells the controllers' Slack channel that the day is booked. Late refunds are restated
afterwards by ``finance_payments_reporting.restate_daily_ledger``.

Still on the in-house ``LegacyWarehouseOperator`` (see plugins/operators/legacy.py).
"""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.python import PythonOperator

from plugins.operators.legacy import LegacyWarehouseOperator

log = logging.getLogger(__name__)

default_args = {
    "owner": "finance-data",
    "retries": 1,
    "retry_delay": timedelta(minutes=30),
}


def notify_controllers(ds: str, **_context) -> None:
    """Post a short message to #finance-controllers through the Slack incoming webhook."""
    webhook = Variable.get("finance_slack_webhook_url")
    payload = {"text": f":ledger: Payment ledger for {ds} is booked in FINANCE.REPORTING.DAILY_LEDGER."}
    request = urllib.request.Request(
        webhook,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (https only)
        log.info("Slack answered %s", response.status)


with DAG(
    dag_id="finance_legacy_ledger",
    doc_md=__doc__,
    start_date=datetime(2022, 1, 1),
    schedule_interval="0 6 * * *",
    catchup=False,
    default_args=default_args,
    tags=["finance", "snowflake", "legacy", "audited"],
) as dag:

    post_daily_ledger = LegacyWarehouseOperator(
        task_id="post_daily_ledger",
        conn_id="warehouse",
        query="""
        INSERT INTO finance.reporting.daily_ledger
            (ledger_date, currency, provider, captured_amount, refunded_amount,
             chargeback_amount, net_amount, payment_count, updated_at)
        SELECT
            payment_date,
            currency,
            provider,
            SUM(IFF(status = 'captured', amount, 0)),
            SUM(IFF(status = 'refunded', amount, 0)),
            SUM(IFF(status = 'chargeback', amount, 0)),
            SUM(CASE status WHEN 'captured' THEN amount
                            WHEN 'refunded' THEN -amount
                            WHEN 'chargeback' THEN -amount
                            ELSE 0 END),
            COUNT(DISTINCT payment_id),
            CURRENT_TIMESTAMP()
        FROM finance.reporting.payment_events
        WHERE payment_date = '{{ ds }}'
        GROUP BY payment_date, currency, provider
        """,
    )

    notify_finance_slack = PythonOperator(
        task_id="notify_finance_slack",
        python_callable=notify_controllers,
    )

    post_daily_ledger >> notify_finance_slack
