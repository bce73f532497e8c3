from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .r303_manual_backfill_dag import MANUAL_SCHEDULES


class R302CatchupBackfill(Rule):
    """DAG runs with catchup from a fixed start date, so deploying it reprocesses all history.

    **Anti-pattern**: `DAG(..., start_date=datetime(2021, 1, 1), catchup=True)`: Airflow schedules
    one run per interval since the start date, which is how the batch layer backfills (a DAG with
    no schedule, or `@once`, has no intervals to catch up).
    **Streaming equivalent**: history is replayed from the log (earliest offsets, or a bounded
    re-run of the same SQL over the archive), once, into the streaming job's sink.
    """

    code, name, pattern = "R302", "catchup-backfill", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        dag = facts.dag
        start = dag.start_date or ""
        scheduled = dag.schedule not in MANUAL_SCHEDULES  # a manual or run-once DAG has no intervals
        if dag.catchup is True and scheduled and start[:4].isdigit() and facts.statements:
            message = f"DAG {dag.dag_id} has catchup=True from {start}: every {dag.schedule} interval since runs"
            yield self.at_task(facts, message)
