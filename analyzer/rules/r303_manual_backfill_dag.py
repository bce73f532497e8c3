from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

DATE_WORDS = ("date", "day", "from", "to", "start", "end", "since", "until", "ds")
MANUAL_SCHEDULES = frozenset({None, "None", "@once"})


def date_params(params: dict[str, object]) -> list[str]:
    """Parameters that look like a date range (by name, or by an ISO date value)."""
    found = []
    for name, value in params.items():
        looks_like_date = (
            isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-"
        )
        if looks_like_date or any(word in name.lower() for word in DATE_WORDS):
            found.append(name)
    return sorted(found)


class R303ManualBackfillDag(Rule):
    """DAG is triggered by hand with a date range to recompute a period.

    **Anti-pattern**: `DAG(schedule=None, params={"start_date": ..., "end_date": ...})` whose SQL
    filters on `{{ params.start_date }}`: the team's tool for re-running history.
    **Streaming equivalent**: a replay plan: reset the streaming job to a savepoint or to the
    earliest offset covering the period, or run the same Flink SQL in batch mode over the bounded
    range into the same upsert sink.
    """

    code, name, pattern = "R303", "manual-backfill-dag", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        dag = facts.dag
        if dag.schedule not in MANUAL_SCHEDULES or not facts.statements:
            return
        params = date_params({**dag.params, **facts.task.params})
        used = sorted(v for v in facts.job.time_variables if v.startswith("params."))
        if params or used:
            evidence = ", ".join(used or params)
            yield self.at_task(facts, f"DAG {dag.dag_id} has no schedule and takes a date range ({evidence})")
