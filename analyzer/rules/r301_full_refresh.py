from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .window import write_window

RECREATE_KINDS = frozenset({"create_or_replace_table_as"})


class R301FullRefresh(Rule):
    """Job rebuilds a whole table from scratch on every run.

    **Anti-pattern**: `CREATE OR REPLACE TABLE t AS SELECT ...`, `TRUNCATE t` followed by
    `INSERT INTO t ...`, or `INSERT OVERWRITE t SELECT ...` with no partition and no date filter:
    all history is recomputed to pick up every change. A rebuild filtered to the run's own days
    (a staging table holding today's rows) recomputes no history.
    **Streaming equivalent**: the same query runs continuously into an upsert sink, so the table is
    always current; a full recompute becomes a replay of the log from the earliest offset into a
    new sink version, done only when the logic changes.
    """

    code, name, pattern = "R301", "full-refresh", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        truncated: set[str] = set()
        for statement, analysis in facts.statements:
            target = analysis.target or "a table"
            # a rebuild filtered to the run's own days (a staging table of today's rows, a rolling
            # window) recomputes no history; a fixed start date (`>= '2020-01-01'`) still does
            whole_history = write_window(facts, statement, analysis) is None
            if analysis.kind in RECREATE_KINDS and whole_history:
                yield self.at(statement, analysis, "target", f"CREATE OR REPLACE rebuilds {target} on every run")
            elif analysis.kind == "truncate":
                truncated.update(analysis.writes or (target,))
            elif analysis.kind == "insert" and set(analysis.writes) & truncated and whole_history:
                yield self.at(statement, analysis, "target", f"TRUNCATE then INSERT rebuilds {target} on every run")
            elif (
                analysis.kind == "insert_overwrite"
                and not analysis.partition_spec
                and whole_history
                and not analysis.select_star_from_target
                and not analysis.reads_target
            ):
                yield self.at(
                    statement, analysis, "target", f"INSERT OVERWRITE of all of {target}, with no date filter"
                )
