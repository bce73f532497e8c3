"""
Compact yesterday's Hive staging partitions and refresh their statistics.

``staging.clickstream`` and ``staging.order_events`` are written by many small Hive/Spark
tasks (plus retries), leaving hundreds of small ORC files per partition. Small files hurt the
NameNode and every downstream scan, so once a partition is complete we compact it:

* ``staging.clickstream`` is plain ORC: ``ALTER TABLE ... CONCATENATE`` merges stripes in place.
* ``staging.order_events`` is written by Spark with a different ORC writer version, which
  CONCATENATE refuses, so it is rewritten onto itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.providers.apache.hive.operators.hive import HiveOperator

default_args = {
    "owner": "data-platform",
    "retries": 1,
    "retry_delay": timedelta(minutes=20),
}

with DAG(
    "hive_partition_maintenance",
    doc_md=__doc__,
    start_date=datetime(2023, 11, 1),
    schedule_interval="@daily",
    catchup=False,
    default_args=default_args,
    tags=["hive", "maintenance", "staging"],
) as dag:

    concatenate_clickstream = HiveOperator(
        task_id="concatenate_clickstream",
        hql="ALTER TABLE staging.clickstream PARTITION (dt='{{ ds }}') CONCATENATE",
    )

    compact_order_events = HiveOperator(
        task_id="compact_order_events",
        hql="""
        INSERT OVERWRITE TABLE staging.order_events PARTITION (dt='{{ ds }}')
        SELECT event_id, order_id, customer_id, product_id, event_type, quantity, unit_price,
               order_amount, currency, country, channel, event_time, ingested_at
        FROM staging.order_events
        WHERE dt = '{{ ds }}'
        """,
        hiveconfs={"hive.merge.mapfiles": "true", "hive.merge.smallfiles.avgsize": "134217728"},
    )

    analyze_order_events = HiveOperator(
        task_id="analyze_order_events",
        hql="ANALYZE TABLE staging.order_events PARTITION (dt='{{ ds }}') COMPUTE STATISTICS",
    )

    compact_order_events.set_downstream(analyze_order_events)
