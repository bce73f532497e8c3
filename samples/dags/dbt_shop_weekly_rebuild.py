"""
Weekly rebuild of the order marts from scratch, with astronomer-cosmos.

Late corrections that the nightly incremental run misses (an order event replayed after its
merge) are only repaired by this full refresh of ``fct_order_state`` and everything built on it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow import DAG
from cosmos import DbtTaskGroup, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.profiles import SnowflakeUserPasswordProfileMapping

DBT_ROOT = Path("/opt/airflow/dbt")

profile_config = ProfileConfig(
    profile_name="shop_snowflake",
    target_name="prod",
    profile_mapping=SnowflakeUserPasswordProfileMapping(
        conn_id="snowflake_transform",
        profile_args={"database": "analytics", "schema": "dbt"},
    ),
)

with DAG(
    dag_id="dbt_shop_weekly_rebuild",
    description="Full refresh of fct_order_state and its descendants (cosmos)",
    doc_md=__doc__,
    start_date=datetime(2024, 1, 1),
    schedule="0 3 * * 0",
    catchup=False,
    tags=["dbt", "cosmos", "full-refresh"],
) as dag:

    rebuild_order_marts = DbtTaskGroup(
        group_id="rebuild_order_marts",
        project_config=ProjectConfig(DBT_ROOT / "shop_dbt"),
        profile_config=profile_config,
        render_config=RenderConfig(select=["fct_order_state+"]),
        operator_args={"full_refresh": True},
    )
