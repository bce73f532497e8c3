"""Shop-specific operators shared by several DAGs.

Deployed to ``$AIRFLOW_HOME/plugins/operators`` by the platform team's CI.
"""

from __future__ import annotations

from typing import Any

from airflow.exceptions import AirflowException
from airflow.hooks.base import BaseHook
from airflow.models import BaseOperator
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator


class ShopPostgresOperator(SQLExecuteQueryOperator):
    """``SQLExecuteQueryOperator`` for the shop database, with a statement timeout.

    The replica kills queries after 30 minutes anyway; we fail faster so that retries start
    before the morning reporting window.
    """

    ui_color = "#336791"

    def __init__(
        self,
        *,
        conn_id: str = "shop_pg",
        statement_timeout: str = "10min",
        **kwargs: Any,
    ) -> None:
        hook_params = kwargs.pop("hook_params", None) or {}
        hook_params.setdefault("options", f"-c statement_timeout={statement_timeout}")
        super().__init__(conn_id=conn_id, hook_params=hook_params, **kwargs)


class DataQualityCheckOperator(BaseOperator):
    """Fails the task when ``check_sql`` returns a first value outside ``[min_value, max_value]``.

    ``check_sql`` must return a single row; its first column is compared. Typical use: count
    rows that violate a rule and require zero of them.
    """

    template_fields = ("check_sql",)
    template_ext = (".sql",)
    ui_color = "#f4a261"

    def __init__(
        self,
        *,
        check_sql: str,
        conn_id: str,
        min_value: float = 0,
        max_value: float = 0,
        description: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.check_sql = check_sql
        self.conn_id = conn_id
        self.min_value = min_value
        self.max_value = max_value
        self.description = description

    def execute(self, context: Any) -> float:
        hook = BaseHook.get_connection(self.conn_id).get_hook()
        record = hook.get_first(self.check_sql)
        if not record:
            raise AirflowException(f"Data quality check returned no rows: {self.check_sql}")
        value = float(record[0])
        self.log.info("Check %r returned %s (allowed %s..%s)", self.description, value,
                      self.min_value, self.max_value)
        if not self.min_value <= value <= self.max_value:
            raise AirflowException(
                f"Data quality check failed: {self.description or self.task_id} returned {value}, "
                f"allowed range is [{self.min_value}, {self.max_value}]"
            )
        return value
