"""
dbt transformations of the Snowflake warehouse, run nightly after the raw feeds have landed.

The SQL is not here: it lives in the dbt project ``dbt/shop_dbt`` (staging views, the order
state and payment marts, a customer snapshot). Airflow only runs ``dbt snapshot`` and ``dbt run``
on the project, deployed to ``/opt/airflow/dbt/shop_dbt`` on the workers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

DBT_DIR = "/opt/airflow/dbt/shop_dbt"
DBT = f"dbt --no-use-colors --log-format json"

default_args = {
    "owner": "analytics-engineering",
    "retries": 1,
    "retry_delay": timedelta(minutes=15),
}

with DAG(
    dag_id="dbt_shop_daily",
    description="dbt snapshot + dbt run of the shop_dbt project",
    doc_md=__doc__,
    start_date=datetime(2024, 1, 1),
    schedule="0 5 * * *",
    catchup=False,
    default_args=default_args,
    tags=["dbt", "snowflake"],
) as dag:

    dbt_snapshot = BashOperator(
        task_id="dbt_snapshot",
        bash_command=f"dbt snapshot --project-dir {DBT_DIR} --profiles-dir {DBT_DIR}",
    )

    dbt_run = BashOperator(
        task_id="dbt_run",
        bash_command=(
            f"cd {DBT_DIR} && dbt deps && "
            f"dbt run --profiles-dir {DBT_DIR} --target prod --vars '{{\"run_date\": \"{{{{ ds }}}}\"}}'"
        ),
    )

    dbt_snapshot >> dbt_run
