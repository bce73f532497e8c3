from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule


class F110IncrementalLookback(Rule):
    """Incremental dbt model re-processes the last N days on every run to catch late data.

    **Anti-pattern**: a dbt model `materialized='incremental'` whose `{% if is_incremental() %}`
    filter reaches back from the table's high-water mark (`where updated_at >= (select
    dateadd(day, -3, max(updated_at)) from {{ this }})`): each run merges again days that earlier
    runs already wrote, because rows arrive late.
    **Streaming equivalent**: one continuous job over the model's full SELECT (no filter on
    `{{ this }}`); late rows update their keys in an upsert sink, and the lookback becomes the
    watermark's allowed lateness and the state TTL.
    """

    code, name, pattern = "F110", "incremental-lookback", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        meta = facts.task.meta
        days = meta.get("lookback_days")
        if meta.get("materialized") != "incremental" or not isinstance(days, int) or days <= 0:
            return
        line = meta.get("incremental_line")
        message = (
            f"is_incremental() filter reaches {days} days back ({meta.get('incremental_filter', '')}): "
            "every run re-processes days that earlier runs wrote"
        )
        yield Finding(self.code, self.name, message, facts.task.file, line if isinstance(line, int) else 1, 1)
