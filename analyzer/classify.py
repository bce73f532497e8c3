"""`classify(facts, pattern) -> Verdict`: stateless, stateful or sink-update, with the evidence.

One primary class per job, by precedence *stateful* > *sink-update* > *stateless*; `sink_mode`
says whether its streaming sink must take updates (any evidence whose result revises emitted
rows); the upsert key comes from the strongest source of keys the SQL shows: MERGE keys, dedup
PARTITION BY, GROUP BY keys, then the partition columns plus the natural key of an overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import Classification, Finding, Pattern, SinkMode
from .rules import EVIDENCE_RULES, JobFacts
from .rules.base import WRITING_KINDS
from .rules.c421_state_ttl import keeps_state, lookback_window_days, suggested_ttl_days
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


def bare(column: str) -> str:
    """`o.customer_id` -> `customer_id`; backticks and quotes dropped."""
    return column.rsplit(".", 1)[-1].strip('`"[]')


def primary_statement(facts: JobFacts) -> StatementAnalysis | None:
    """The statement that produces the job's output: its last writing statement that adds rows."""
    writing = [a for _, a in facts.statements if a.kind in WRITING_KINDS - {"truncate", "delete"}]
    return writing[-1] if writing else (facts.statements[-1][1] if facts.statements else None)


def natural_key(analysis: StatementAnalysis) -> tuple[str, ...]:
    return next(((bare(c),) for c in analysis.output_columns if bare(c).lower().endswith("_id")), ())


def upsert_key(facts: JobFacts) -> tuple[str, ...]:
    analysis = primary_statement(facts)
    if analysis is None:
        return ()
    if analysis.merge_keys:
        return tuple(dict.fromkeys(bare(k) for k in analysis.merge_keys))
    if analysis.dedup is not None and analysis.dedup.partition_by:
        return tuple(dict.fromkeys(bare(k) for k in analysis.dedup.partition_by))
    if analysis.group_by:
        return tuple(dict.fromkeys(bare(k) for k in analysis.group_by))
    partition = [bare(c) for c, _ in analysis.partition_spec]
    if not partition and analysis.kind == "insert_overwrite":
        partition = [bare(p.column) for p in analysis.predicates]
    key = tuple(dict.fromkeys([*partition, *natural_key(analysis)]))
    if key:
        return key
    return natural_key(analysis)


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
    return Verdict(
        classification=classification,
        sink_mode=sink_mode,
        upsert_key=upsert_key(facts),
        findings=tuple(item.finding for item in evidence),
        state_ttl_days=suggested_ttl_days(facts) if stateful else None,
        allowed_lateness_days=lookback_window_days(facts) if stateful or updates else None,
    )
