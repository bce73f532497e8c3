from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

# words of a parameter name (`start_date`, `backfillFrom`, `days_back`) that make it a date or a range
DATE_WORDS = frozenset(
    {"date", "dates", "day", "days", "dt", "ds", "from", "to", "start", "end", "since", "until", "through"}
)
MANUAL_SCHEDULES = frozenset({None, "None", "@once"})
WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def name_words(name: str) -> set[str]:
    """`backfill_from` -> {backfill, from}; `fromDate` -> {from, date}."""
    return {word.lower() for word in WORD.findall(name)}


def date_params(params: dict[str, object]) -> list[str]:
    """Parameters that look like a date range: by a word of their name, or by an ISO date value.
    Whole words, so that `customer_tier` or `history_table` are not mistaken for `to`."""
    found = []
    for name, value in params.items():
        looks_like_date = isinstance(value, str) and len(value) >= 10 and value[:4].isdigit() and value[4] == "-"
        if looks_like_date or name_words(name) & DATE_WORDS:
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
