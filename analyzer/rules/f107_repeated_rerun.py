from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

# runs again of dates already run before the task counts as one that corrects its own output
MIN_RERUNS = 2


class F107RepeatedRerun(Rule):
    """Airflow's run history shows the task re-run, again and again, for dates it had already run.

    **Anti-pattern**: someone clears `load_daily_sales` for yesterday and the day before each
    morning (or backfills over dates that already ran) because late rows arrived after the first
    run: the run history (`kappa scan --airflow-url`) shows cleared task instances and repeated runs
    of the same dates. Airflow's own retries after a failure do not count.
    **Streaming equivalent**: one continuous job; late rows update their keys in an upsert sink
    as they arrive, within an allowed lateness and state TTL as long as the re-run window.
    """

    code, name, pattern = "F107", "repeated-rerun", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        history = facts.dag.history
        task = history.task(facts.task.task_id) if history is not None else None
        if history is None or task is None or not facts.statements or task.reruns < MIN_RERUNS:
            return
        shown = ", ".join(task.rerun_dates[:3]) + (", ..." if len(task.rerun_dates) > 3 else "")
        message = (
            f"task {facts.task.task_id} ran again {task.reruns} times for {len(task.rerun_dates)} "
            f"date{'s' if len(task.rerun_dates) != 1 else ''} already run ({shown}) in the last {history.days} days"
        )
        yield self.at_task(facts, message)
