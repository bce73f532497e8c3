from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification, Finding
from .base import JobFacts
from .evidence import Evidence, EvidenceRule

KEYED_STRATEGIES = frozenset({"merge", "delete+insert", ""})


def _keys(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part) for part in value if str(part).strip())
    return ()


class C430DbtUniqueKey(EvidenceRule):
    """Incremental dbt model replaces rows by its unique_key: its sink takes updates.

    **Anti-pattern**: `config(materialized='incremental', unique_key='order_id',
    incremental_strategy='merge')` (or `delete+insert`): each run merges the rows it selected into
    the table, replacing the rows of the keys it sees.
    **Streaming equivalent**: `INSERT INTO` an upsert sink whose PRIMARY KEY is the unique_key;
    a new version of a row replaces the old one as it arrives.
    """

    code, name = "C430", "dbt-unique-key"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        meta = facts.task.meta
        config = meta.get("config") or {}
        if meta.get("materialized") != "incremental" or not isinstance(config, dict):
            return
        keys = _keys(config.get("unique_key"))
        strategy = str(config.get("incremental_strategy") or "").lower()
        if not keys or strategy not in KEYED_STRATEGIES:
            return
        how = strategy or "the adapter's default strategy"
        message = f"incremental model replaces rows by unique_key {', '.join(keys)} ({how})"
        line = meta.get("config_line")
        where = Finding(self.code, self.name, message, facts.task.file, line if isinstance(line, int) else 1, 1)
        yield Evidence(where, Classification.SINK_UPDATE, True, keys)
