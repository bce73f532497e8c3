"""`detect(facts) -> Detection`: which Lambda-era pattern a job is, with the evidence.

Precedence: a job is *optimize* only when every statement it runs is maintenance (a job that
loads data and then runs ANALYZE is still a load); otherwise *fix* beats *reprocess* beats
*transform*. A job that moves no rows (a read-only check, or only DDL: CREATE TABLE with no
query, DROP, ALTER ... RENAME) is *none*: it has no table to stream into. Task and DAG names
(fix, dedup, backfill, compact...) raise or lower the confidence, never decide the pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .models import Finding, Pattern, Statement
from .rules import PATTERN_RULES, RULES_BY_CODE, JobFacts
from .rules.optimize import is_maintenance
from .sql import StatementAnalysis

PRECEDENCE = (Pattern.FIX, Pattern.REPROCESS)
OPTIMIZE_RULES = tuple(rule for rule in PATTERN_RULES if rule.pattern is Pattern.OPTIMIZE)
NEUTRAL_KINDS = frozenset({"set", "use", "select"})
# statements that define, rename or remove schema objects: they write no rows (a maintenance
# ALTER, `ADD PARTITION` / `RECOVER PARTITIONS`, is proven by its optimize rule first)
DDL_KINDS = frozenset({"create_table", "drop", "alter"})
CLONE = re.compile(r"\bCLONE\b", re.IGNORECASE)  # Snowflake `CREATE TABLE t CLONE s` copies rows
# an ALTER that removes or swaps the rows of partitions is a write, not a schema change
PARTITION_DATA = re.compile(r"\b(DROP|TRUNCATE|EXCHANGE|REPLACE)\s+(IF\s+EXISTS\s+)?PARTITION", re.IGNORECASE)
# rules that prove a pattern from what the task runs besides its SQL (`airflow dags backfill`)
COMMAND_RULES = frozenset({"R304"})

NAME_HINTS: dict[Pattern, tuple[str, ...]] = {
    Pattern.FIX: ("fix", "repair", "correct", "restate", "late", "dedup", "patch", "reconcile", "rerun"),
    Pattern.OPTIMIZE: (
        "compact",
        "optimize",
        "vacuum",
        "maintenance",
        "maintain",
        "zorder",
        "analyze",
        "msck",
    ),
    Pattern.REPROCESS: (
        "backfill",
        "reprocess",
        "full_refresh",
        "refresh",
        "rebuild",
        "replay",
        "historical",
    ),
}


@dataclass(frozen=True)
class Detection:
    pattern: Pattern
    findings: tuple[Finding, ...]
    confidence: float


def name_hints(facts: JobFacts) -> set[Pattern]:
    words = set(re.split(r"[^a-z0-9]+", f"{facts.job.dag_id} {facts.job.task_id}".lower()))
    joined = "_".join(sorted(words))
    return {pattern for pattern, hints in NAME_HINTS.items() if any(h in words or h in joined for h in hints)}


def moves_rows(statement: Statement, analysis: StatementAnalysis) -> bool:
    """The statement adds, changes or removes rows of a table (or maintains its files)."""
    if analysis.kind == "create_table":
        return bool(CLONE.search(statement.sql))
    if analysis.kind == "alter":
        return bool(PARTITION_DATA.search(statement.sql))
    if analysis.kind in DDL_KINDS:
        return False
    return bool(analysis.writes) or is_maintenance(analysis)


def maintenance_only(facts: JobFacts) -> bool:
    """Every statement that does something is proven maintenance by an optimize rule."""
    working = [pair for pair in facts.statements if pair[1].kind not in NEUTRAL_KINDS]
    return bool(working) and all(
        any(True for rule in OPTIMIZE_RULES for _ in rule.check(replace(facts, statements=(pair,)))) for pair in working
    )


def detect(facts: JobFacts) -> Detection:
    """The job's pattern and the findings that prove it."""
    findings = tuple(finding for rule in PATTERN_RULES for finding in rule.check(facts))
    fired = {RULES_BY_CODE[f.code].pattern for f in findings}
    if Pattern.OPTIMIZE in fired and maintenance_only(facts):
        pattern = Pattern.OPTIMIZE
    elif (
        facts.statements
        and not any(moves_rows(s, a) for s, a in facts.statements)
        and not any(f.code in COMMAND_RULES for f in findings)
    ):
        # a read-only query (a data-quality check, an export to XCom) or schema DDL alone
        # (CREATE TABLE IF NOT EXISTS, DROP, RENAME) has no table to stream into
        return Detection(Pattern.NONE, findings, 0.0)
    else:
        pattern = next((p for p in PRECEDENCE if p in fired), Pattern.TRANSFORM if facts.statements else Pattern.NONE)
    if pattern is Pattern.NONE:
        return Detection(pattern, findings, 0.0)
    hints = name_hints(facts)
    confidence = 0.9 if pattern is not Pattern.TRANSFORM else 0.8
    if pattern in hints:
        confidence += 0.05
    elif hints:
        confidence -= 0.2  # the names say something the SQL does not show: worth a human look
    return Detection(pattern, findings, round(confidence, 2))
