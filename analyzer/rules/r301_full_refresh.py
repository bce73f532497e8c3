from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Finding, Pattern, Statement
from ..sql import StatementAnalysis
from .base import JobFacts, Rule
from .f102_update_in_place import deletes_every_row
from .window import DATE_TEXT, job_markers, write_window

RECREATE_KINDS = frozenset({"create_or_replace_table_as"})
# statements that load a table the job emptied (or dropped) just before
RELOAD_KINDS = frozenset({"insert", "create_table_as"})
# Postgres / Trino / Snowflake: the view's query runs again over all its input
REFRESH_VIEW = re.compile(r"\bREFRESH\s+MATERIALIZED\s+VIEW\s+(?:CONCURRENTLY\s+)?([\w.\"`]+)", re.IGNORECASE)
# Snowflake: `CREATE OR REPLACE TABLE t CLONE s` replaces t with a copy of all of s
REPLACING_CLONE = re.compile(r"\bCREATE\s+OR\s+REPLACE\b[^;]*\bCLONE\b", re.IGNORECASE)


def empties(statement: Statement, analysis: StatementAnalysis) -> bool:
    """TRUNCATE, or a DELETE with no condition: every row of the table goes."""
    return analysis.kind == "truncate" or deletes_every_row(statement, analysis)


def overwrites_whole_table(facts: JobFacts, statement: Statement, analysis: StatementAnalysis) -> bool:
    """An INSERT OVERWRITE of a partitioned table that no run date or runtime value bounds: a dynamic
    `PARTITION (dt)` fed by all history, or a constant partition (`PARTITION (scd_active='T')`)
    recomputed from scratch. A dated partition (`dt='2024-01-01'`) or a filter on a template value
    (`params.day`, an XCom) restates a slice, not the table."""
    if analysis.kind != "insert_overwrite" or not analysis.partition_spec:
        return False
    if analysis.select_star_from_target or analysis.reads_target:
        return False  # a table rewritten from its own rows: compaction or dedup (O205, F103)
    if write_window(facts, statement, analysis) is not None:
        return False
    markers = job_markers(facts.job)
    values = [v for _, v in analysis.partition_spec if v is not None]
    values += [v for p in analysis.predicates for v in p.values]
    return not any(v in markers or DATE_TEXT.match(v.strip()) for v in values)


def full_refreshes(facts: JobFacts) -> Iterator[tuple[Statement, StatementAnalysis, str]]:
    """(statement, analysis, how) for every statement that rebuilds a whole table."""
    emptied: dict[str, str] = {}  # table -> the statement that emptied it
    same_dag = f"{facts.job.dag_id}."
    for index, (statement, analysis) in enumerate(facts.statements):
        target = analysis.target or "a table"
        # a rebuild filtered to the run's own days (a staging table of today's rows, a rolling
        # window) recomputes no history; a fixed start date (`>= '2020-01-01'`) still does
        whole_history = write_window(facts, statement, analysis) is None
        rest = facts.statements[index + 1 :]
        refreshed = REFRESH_VIEW.search(statement.sql) if analysis.kind == "other" else None
        if analysis.kind in RECREATE_KINDS and whole_history:
            yield statement, analysis, f"CREATE OR REPLACE rebuilds {target} on every run"
        elif refreshed is not None:
            yield statement, analysis, f"REFRESH MATERIALIZED VIEW recomputes {refreshed.group(1)} from scratch"
        elif analysis.kind == "create_table" and REPLACING_CLONE.search(statement.sql):
            yield statement, analysis, f"CREATE OR REPLACE ... CLONE copies all of its source into {target}"
        elif empties(statement, analysis) or analysis.kind == "drop":
            tables = set(analysis.writes or (target,))
            verb = "DROP" if analysis.kind == "drop" else "TRUNCATE" if analysis.kind == "truncate" else "DELETE"
            emptied.update(dict.fromkeys(tables, verb))
            reloaded_here = any(a.kind in RELOAD_KINDS and set(a.writes) & tables for _, a in rest)
            refillers = [job for table in tables for job in facts.other_producers(table) if job.startswith(same_dag)]
            if empties(statement, analysis) and not reloaded_here and refillers:
                how = "TRUNCATE" if analysis.kind == "truncate" else "DELETE of every row"
                yield statement, analysis, f"{how} empties {target}, which {', '.join(refillers)} then reloads"
        elif analysis.kind in RELOAD_KINDS and set(analysis.writes) & emptied.keys() and whole_history:
            # a table dropped again later in the job is its scratch table, not its output
            scratch = any(a.kind == "drop" and set(a.writes) & set(analysis.writes) for _, a in rest)
            if not scratch:
                verb = next(emptied[t] for t in analysis.writes if t in emptied)
                load = "INSERT" if analysis.kind == "insert" else "CREATE TABLE AS"
                yield statement, analysis, f"{verb} then {load} rebuilds {target} on every run"
        elif (
            analysis.kind == "insert_overwrite"
            and not analysis.partition_spec
            and whole_history
            and not analysis.select_star_from_target
            and not analysis.reads_target
        ):
            yield statement, analysis, f"INSERT OVERWRITE of all of {target}, with no date filter"
        elif overwrites_whole_table(facts, statement, analysis):
            columns = ", ".join(c for c, _ in analysis.partition_spec)
            yield statement, analysis, f"INSERT OVERWRITE of {target} ({columns}) from all history, no date filter"


class R301FullRefresh(Rule):
    """Job rebuilds a whole table from scratch on every run.

    **Anti-pattern**: `CREATE OR REPLACE TABLE t AS SELECT ...` (or `... CLONE s`), `TRUNCATE t`
    (or `DELETE FROM t` with no condition, or `DROP TABLE t`) followed by `INSERT INTO t ...` or
    `CREATE TABLE t AS`, `INSERT OVERWRITE t SELECT ...` with no partition and no date filter, an
    overwrite of a partitioned table that no run date bounds (a dynamic `PARTITION (dt)` over all
    history, a constant partition recomputed from scratch), `REFRESH MATERIALIZED VIEW mv`: all
    history is recomputed to pick up every change. A TRUNCATE task whose table another task of
    the DAG reloads is the first half of the same refresh. A rebuild filtered to the run's own
    days (a staging table holding today's rows) recomputes no history.
    **Streaming equivalent**: the same query runs continuously into an upsert sink, so the table is
    always current; a full recompute becomes a replay of the log from the earliest offset into a
    new sink version, done only when the logic changes.
    """

    code, name, pattern = "R301", "full-refresh", Pattern.REPROCESS

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis, how in full_refreshes(facts):
            yield self.at(statement, analysis, "target", how)
