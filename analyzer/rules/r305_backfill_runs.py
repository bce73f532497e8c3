from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .r303_manual_backfill_dag import MANUAL_SCHEDULES

# hand-triggered runs of a scheduled DAG before they count: one can be a test, two are a habit
MIN_MANUAL_RUNS = 2


def _dates(dates: tuple[str, ...]) -> str:
    shown = ", ".join(dates[:3])
    return f" ({shown}{', ...' if len(dates) > 3 else ''})" if dates else ""


class R305BackfillRuns(Rule):
    """Airflow's run history shows the DAG backfilled, or re-run by hand, to recompute past dates.

    **Anti-pattern**: `airflow backfill create --dag-id daily_sales --from-date ... --to-date ...`,
    or "Trigger DAG" with a date, whenever a bug fix or a late source makes past days wrong: the run
    history (`kappa scan --airflow-url`) holds backfill and manual runs beside the scheduled ones.
    **Streaming equivalent**: a replay plan: the streaming job is reset to a savepoint or to the
    earliest offset that covers the period, or the same Flink SQL runs in batch mode over the
    bounded range into the same upsert sink; nobody re-triggers days by hand.
    """

    code, name, pattern = "R305", "backfill-runs", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        history = facts.dag.history
        if history is None or not facts.statements:
            return
        backfills, manual = history.runs.get("backfill", 0), history.runs.get("manual", 0)
        # a DAG with no schedule only ever runs by hand: each manual run is a recomputation
        needed = 1 if facts.dag.schedule in MANUAL_SCHEDULES else MIN_MANUAL_RUNS
        parts = []
        if backfills:
            parts.append(f"{backfills} backfill run{'s' if backfills > 1 else ''}{_dates(history.backfill_dates)}")
        if manual >= needed:
            parts.append(f"{manual} run{'s' if manual > 1 else ''} triggered by hand{_dates(history.manual_dates)}")
        if parts:
            message = f"DAG {facts.dag.dag_id} had {' and '.join(parts)} in the last {history.days} days"
            yield self.at_task(facts, message)
