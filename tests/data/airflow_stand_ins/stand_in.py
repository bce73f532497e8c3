"""Stand-ins for the warehouse providers the sample DAGs import (BigQuery, Hive, Spark, Databricks),
so that a real Airflow loads those DAGs without the providers' heavy clients.

Only tests/test_airflow_live.py uses them: it puts this folder on the PYTHONPATH of the Airflow it
starts (`airflow` extends its package path, so `airflow.providers.google...` resolves here). Each
stand-in keeps its SQL arguments as template fields, like the real operator, and does nothing when
it runs, so triggered and backfilled runs finish in seconds.
"""

from __future__ import annotations

import inspect
from typing import Any

from airflow.sdk import BaseOperator

_BASE = frozenset(inspect.signature(BaseOperator.__init__).parameters)


class StandIn(BaseOperator):
    template_fields = ("sql", "hql", "configuration")
    template_ext = (".sql", ".hql")

    def __init__(self, **kwargs: Any) -> None:
        own = {key: kwargs.pop(key) for key in list(kwargs) if key not in _BASE}
        super().__init__(**kwargs)
        self.sql = own.get("sql")
        self.hql = own.get("hql")
        self.configuration = own.get("configuration")

    def execute(self, context: Any) -> None:
        self.log.info("stand-in %s: nothing run", type(self).__name__)
