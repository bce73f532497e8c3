from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

DEFAULT_TTL_DAYS = 1  # a daily batch job never looked further back than its own day


def lookback_window_days(facts: JobFacts) -> int:
    """How far back the batch job looked, in days (0 when it only read its own interval)."""
    return max((-d for d in facts.job.lookback_days if d < 0), default=0)


def suggested_ttl_days(facts: JobFacts) -> int:
    """State must outlive the latest correction the batch job would still make: lookback + 1 day."""
    return max(DEFAULT_TTL_DAYS, lookback_window_days(facts) + 1)


def keeps_state(facts: JobFacts) -> bool:
    return any(
        a.group_by
        or a.aggregates
        or a.dedup
        or a.distinct
        or a.count_distinct
        or a.window_functions
        or any(not lookup_join(j, facts) and not j.right.startswith("<") for j in a.joins)
        for _, a in facts.statements
    )


class C421StateTtl(EvidenceRule):
    """Suggested state TTL and allowed lateness, taken from the batch job's lookback window.

    **Anti-pattern**: a batch job that re-reads the last N days implicitly bounds how late data may
    be; a streaming job without a TTL keeps state forever instead.
    **Streaming equivalent**: `table.exec.state.ttl` = lookback + 1 day, and a watermark whose
    allowed lateness equals the lookback, so corrections the batch job would have made still land.
    """

    code, name = "C421", "state-ttl"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        if not facts.statements or not keeps_state(facts):
            return
        ttl = suggested_ttl_days(facts)
        lateness = lookback_window_days(facts)
        source = f"the {lateness}-day lookback" if lateness else "a daily schedule with no lookback"
        message = f"suggested state TTL {ttl}d and allowed lateness {lateness}d, from {source}"
        statement, analysis = facts.statements[0]
        yield Evidence(self.at(statement, analysis, "predicate", message), Classification.NONE, False)
