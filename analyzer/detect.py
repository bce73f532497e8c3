"""`detect(facts) -> Detection`: which Lambda-era pattern a job is, with the evidence.

Precedence: a job is *optimize* only when every statement it runs is maintenance (a job that
loads data and then runs ANALYZE is still a load); otherwise *fix* beats *reprocess* beats
*transform*. Task and DAG names (fix, dedup, backfill, compact...) raise or lower the confidence,
never decide the pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .models import Finding, Pattern
from .rules import PATTERN_RULES, RULES_BY_CODE, JobFacts
from .rules.optimize import is_maintenance

PRECEDENCE = (Pattern.FIX, Pattern.REPROCESS)
OPTIMIZE_RULES = tuple(rule for rule in PATTERN_RULES if rule.pattern is Pattern.OPTIMIZE)
NEUTRAL_KINDS = frozenset({"set", "use", "select"})

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


def maintenance_only(facts: JobFacts) -> bool:
    """Every statement that does something is proven maintenance by an optimize rule."""
    working = [pair for pair in facts.statements if pair[1].kind not in NEUTRAL_KINDS]
    return bool(working) and all(
        any(True for rule in OPTIMIZE_RULES for _ in rule.check(replace(facts, statements=(pair,)))) for pair in working
    )


def detect(facts: JobFacts) -> Detection:
    """The job's pattern and the findings that prove it."""
    findings = tuple(finding for rule in PATTERN_RULES for finding in rule.check(facts))
    if facts.statements and not any(a.writes or is_maintenance(a) for _, a in facts.statements):
        # a read-only query (a data-quality check, an export to XCom) has no table to stream into
        return Detection(Pattern.NONE, findings, 0.0)
    fired = {RULES_BY_CODE[f.code].pattern for f in findings}
    if Pattern.OPTIMIZE in fired and maintenance_only(facts):
        pattern = Pattern.OPTIMIZE
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
