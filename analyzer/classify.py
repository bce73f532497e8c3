"""`classify(facts, pattern) -> Verdict`: stateless, stateful or sink-update, with the evidence.

One primary class per job, by precedence *stateful* > *sink-update* > *stateless*; `sink_mode`
says whether its streaming sink must take updates (any evidence whose result revises emitted
rows); the upsert key is the one the job's tool declares (a dbt `unique_key`), else the strongest
source of keys the SQL shows: MERGE keys, dedup PARTITION BY, GROUP BY keys (after the written
partition's columns), then the partition columns plus the natural key of an overwrite.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .models import Classification, Finding, Pattern, SinkMode
from .rules import EVIDENCE_RULES, JobFacts
from .rules.base import WRITING_KINDS
from .rules.c421_state_ttl import keeps_state, lookback_window_days, suggested_ttl_days
from .rules.f102_update_in_place import replaced_by_insert
from .sql import StatementAnalysis

CLASS_PRECEDENCE = (Classification.STATEFUL, Classification.SINK_UPDATE, Classification.STATELESS)


@dataclass(frozen=True)
class Verdict:
    classification: Classification
    sink_mode: SinkMode
    upsert_key: tuple[str, ...]
    findings: tuple[Finding, ...]
    state_ttl_days: int | None = None
    allowed_lateness_days: int | None = None


NO_VERDICT = Verdict(Classification.NONE, SinkMode.NONE, (), ())


SIMPLE_NAME = re.compile(r"^[\w`\"\[\]$]+(\.[\w`\"\[\]$]+)*$")


def bare(column: str) -> str:
    """`o.customer_id` -> `customer_id` (quotes dropped); an expression is left as it is."""
    if not SIMPLE_NAME.match(column):
        return column
    return column.rsplit(".", 1)[-1].strip('`"[]')


def _as_outputs(keys: Iterable[str], analysis: StatementAnalysis) -> list[str]:
    """Key columns as the sink sees them; a key the query does not output cannot key the sink."""
    names = [bare(k) for k in keys]
    outputs = {bare(c) for c in analysis.output_columns}
    return [n for n in names if n in outputs] if outputs else names


def primary_statement(facts: JobFacts) -> StatementAnalysis | None:
    """The statement that produces the job's output: its last writing statement that adds rows."""
    writing = [a for _, a in facts.statements if a.kind in WRITING_KINDS - {"truncate", "delete"}]
    return writing[-1] if writing else (facts.statements[-1][1] if facts.statements else None)


def natural_key(analysis: StatementAnalysis) -> tuple[str, ...]:
    return next(((bare(c),) for c in analysis.output_columns if bare(c).lower().endswith("_id")), ())


DATE_WORDS = ("date", "day", "dt", "month", "week", "hour")


def _date_output(analysis: StatementAnalysis) -> tuple[str, ...]:
    """The first output column that names a time bucket (`order_date`, `dt`, `revenue_month`)."""
    for column in analysis.output_columns:
        words = bare(column).lower().split("_")
        if any(word in DATE_WORDS for word in words):
            return (bare(column),)
    return ()


def _partition_columns(facts: JobFacts, analysis: StatementAnalysis) -> list[str]:
    """Columns the written table is partitioned by: the statement's PARTITION clause, else the DDL,
    else the columns of the slice a DELETE clears before the INSERT refills it (a partition
    replaced by hand, as a query scheduler writes `DELETE ... WHERE day = @date; INSERT ...`)."""
    spec = [bare(c) for c, _ in analysis.partition_spec]
    if spec:
        return spec
    outputs = {bare(c).lower() for c in analysis.output_columns}
    declared = facts.table_partitions.get(analysis.target or "", ())
    if declared:
        return [c for c in declared if c.lower() in outputs]
    cleared = (
        bare(predicate.column)
        for index, (_, delete) in enumerate(facts.statements)
        if delete.target == analysis.target and replaced_by_insert(facts, index)
        for predicate in delete.predicates
    )
    return list(dict.fromkeys(c for c in cleared if c.lower() in outputs))


def upsert_key(facts: JobFacts) -> tuple[str, ...]:
    """The columns that identify a row of the job's sink (empty: the SQL does not show them).

    A partitioned sink keys its rows within a partition, so the partition columns lead the key
    (a daily GROUP BY k written to PARTITION (dt='{{ ds }}') updates one row per (dt, k)).
    """
    analysis = primary_statement(facts)
    if analysis is None or analysis.kind in {"update", "delete"}:
        return ()  # the table's key is its producer's: filled in from the lineage
    if analysis.merge_keys:
        return tuple(dict.fromkeys(bare(k) for k in analysis.merge_keys))
    partition = _partition_columns(facts, analysis)
    if analysis.dedup is not None and analysis.dedup.partition_by:
        keys = analysis.dedup.partition_by_outputs or analysis.dedup.partition_by
        return tuple(dict.fromkeys([*partition, *_as_outputs(keys, analysis)]))
    if analysis.group_by:
        keys = analysis.group_by_outputs or analysis.group_by
        return tuple(dict.fromkeys([*partition, *_as_outputs(keys, analysis)]))
    if analysis.window_partition_by:
        outputs = {bare(c) for c in analysis.output_columns}
        window_keys = [bare(k) for k in analysis.window_partition_by[0] if bare(k) in outputs]
        if window_keys:
            return tuple(dict.fromkeys([*partition, *_date_output(analysis), *window_keys, *natural_key(analysis)]))
    if not partition and analysis.kind == "insert_overwrite":
        partition = [bare(p.column) for p in analysis.predicates]
    return tuple(dict.fromkeys([*partition, *natural_key(analysis)]))


def classify(facts: JobFacts, pattern: Pattern) -> Verdict:
    """Class, sink mode, upsert key, state TTL and the C4xx findings that justify them."""
    if pattern in {Pattern.OPTIMIZE, Pattern.NONE} or not facts.statements:
        return NO_VERDICT
    evidence = [item for rule in EVIDENCE_RULES for item in rule.evidence(facts)]
    classes = {item.classification for item in evidence}
    classification = next((c for c in CLASS_PRECEDENCE if c in classes), Classification.STATELESS)
    updates = any(item.updates for item in evidence)
    sink_mode = SinkMode.UPSERT if updates else SinkMode.APPEND
    stateful = keeps_state(facts)
    declared = next((item.key for item in evidence if item.key), ())  # a key the job's tool declares wins
    return Verdict(
        classification=classification,
        sink_mode=sink_mode,
        upsert_key=declared or upsert_key(facts),
        findings=tuple(item.finding for item in evidence),
        state_ttl_days=suggested_ttl_days(facts) if stateful else None,
        allowed_lateness_days=lookback_window_days(facts) if stateful or updates else None,
    )
