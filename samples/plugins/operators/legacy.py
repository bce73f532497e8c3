"""The warehouse operator from before we adopted the Snowflake provider (2019).

Still used by the finance ledger DAG because the auditors signed off on it; do not extend it,
new DAGs use ``SnowflakeOperator`` or ``SQLExecuteQueryOperator(conn_id="warehouse")``.

Note: ``query`` is deliberately NOT templated by Airflow here (no ``template_fields``); the
operator formats ``{{ ds }}`` itself with the logical date, the way the 2019 code did.
"""

from __future__ import annotations

from typing import Any

from airflow.models import BaseOperator


class LegacyWarehouseOperator(BaseOperator):
    """Runs ``query`` on the finance Snowflake account through the legacy connector."""

    ui_color = "#c9ada7"

    def __init__(self, *, query: str, conn_id: str = "warehouse", autocommit: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.query = query
        self.conn_id = conn_id
        self.autocommit = autocommit

    def execute(self, context: Any) -> None:
        from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook

        sql = self.query.replace("{{ ds }}", context["ds"])
        hook = SnowflakeHook(snowflake_conn_id=self.conn_id)
        self.log.info("Running legacy warehouse query:\n%s", sql)
        hook.run(sql, autocommit=self.autocommit)
