from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule


class R310DbtFullRefresh(Rule):
    """Incremental dbt model is rebuilt from scratch: `dbt run --full-refresh`, or `full_refresh: true`.

    **Anti-pattern**: a DAG task runs `dbt run --full-refresh --select fct_orders+` (a Cosmos
    `DbtTaskGroup` with `operator_args={"full_refresh": True}`, a weekly "rebuild" DAG), or the
    model sets `full_refresh: true`: its incremental table is dropped and recomputed from all
    history, to repair what the incremental runs missed or to pick up a logic change.
    **Streaming equivalent**: the model's query runs continuously into an upsert sink, so there is
    nothing to repair; a logic change becomes a replay of the log from the earliest offsets into
    a new sink version, then readers switch over.
    """

    code, name, pattern = "R310", "dbt-full-refresh", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        meta = facts.task.meta
        if meta.get("materialized") != "incremental":
            return  # a view or table is rebuilt by every run anyway (R301); --full-refresh changes nothing
        runs = [str(run) for run in meta.get("full_refresh_by") or ()]
        if runs:
            yield self.at_task(facts, f"rebuilt from scratch by `--full-refresh` runs: {', '.join(runs)}")
        config = meta.get("config") or {}
        if isinstance(config, dict) and config.get("full_refresh") is True:
            line = meta.get("config_line")
            message = "config full_refresh: true rebuilds the model from scratch on every run"
            yield Finding(self.code, self.name, message, facts.task.file, line if isinstance(line, int) else 1, 1)
