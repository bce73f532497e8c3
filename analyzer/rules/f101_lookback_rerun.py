from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule, origin_offset

RANGE_OPERATORS = frozenset({"between", ">=", ">", "in"})
RELATIVE_DAYS = re.compile(
    r"INTERVAL\s*'?(\d+)'?\s*DAY|(\d+)\s*DAYS?|DATEADD\(\s*'?DAYS?'?\s*,\s*-(\d+)", re.IGNORECASE
)


def _window_days(origins: tuple[str, ...], values: tuple[str, ...]) -> int:
    """How many days back the predicate reaches, from template offsets or CURRENT_DATE arithmetic."""
    offsets = [o for o in (origin_offset(origin) for origin in origins) if o is not None]
    days = -min(offsets) if offsets else 0
    for value in values:
        if "CURRENT" in value.upper() or "NOW" in value.upper():
            for match in RELATIVE_DAYS.finditer(value):
                days = max(days, int(next(g for g in match.groups() if g)))
    return days


class F101LookbackRerun(Rule):
    """Job re-writes the last N days on every run to catch late data.

    **Anti-pattern**: `INSERT OVERWRITE ... WHERE dt BETWEEN '{{ macros.ds_add(ds, -3) }}' AND '{{ ds }}'`:
    each run recomputes days that earlier runs already wrote, because events arrive late.
    **Streaming equivalent**: one continuous job; late rows update their keys in an upsert sink;
    the lookback becomes the watermark's allowed lateness and the state TTL.
    """

    code, name, pattern = "F101", "lookback-rerun", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            for predicate in analysis.predicates:
                if predicate.op not in RANGE_OPERATORS:
                    continue
                days = _window_days(predicate.template_origins, predicate.values)
                if days >= 2 or (days >= 1 and predicate.op != "in" and len(predicate.values) > 1):
                    bounds = ", ".join(predicate.template_origins or predicate.values)
                    message = (
                        f"re-writes {analysis.target or 'its target'} for the last {days} days on every run "
                        f"({predicate.column} {predicate.op} {bounds})"
                    )
                    yield self.at(statement, analysis, "predicate", message)
                    return
