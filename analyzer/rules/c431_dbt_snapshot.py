from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .c430_dbt_unique_key import _keys
from .evidence import Evidence, EvidenceRule


class C431DbtSnapshot(EvidenceRule):
    """dbt snapshot keeps every version of a row (SCD-2): stateful, and its sink takes updates.

    **Anti-pattern**: `{% snapshot customers_snapshot %}` with `strategy='timestamp'` (or
    `check`): each run compares the source with the snapshot table, closes the changed rows
    (`dbt_valid_to`) and inserts their new versions; changes between two runs are lost.
    **Streaming equivalent**: the source's changelog feeds a job keyed by (unique_key,
    `dbt_valid_from`) that writes every version as it happens; the state per key (the open
    version) closes it when the next one arrives, so no change is missed.
    """

    code, name = "C431", "dbt-snapshot"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        meta = facts.task.meta
        config = meta.get("config") or {}
        if meta.get("materialized") != "snapshot" or not isinstance(config, dict):
            return
        keys = _keys(config.get("unique_key"))
        strategy = str(config.get("strategy") or "timestamp")
        changed = f"{strategy} on {config.get('updated_at')}" if config.get("updated_at") else strategy
        message = f"snapshot keeps every version of each {', '.join(keys) or 'row'} (SCD-2, {changed})"
        key = (*keys, "dbt_valid_from") if keys else ()
        yield Evidence(self.at_task(facts, message), Classification.STATEFUL, True, key)
