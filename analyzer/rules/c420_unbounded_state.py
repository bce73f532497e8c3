from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

# words of a key (`event_date`, `DATE_TRUNC('HOUR', ts)`, `created_at`) that make it a time bucket;
# whole words, so that `candidate_id` or `update_source` are not mistaken for dates
TIME_WORDS = frozenset(
    {
        "date",
        "day",
        "dt",
        "ds",
        "ts",
        "at",
        "time",
        "timestamp",
        "hour",
        "minute",
        "week",
        "month",
        "quarter",
        "year",
        "window",
        "period",
    }
)
WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")  # snake_case, camelCase and SQL keywords


def has_time_key(columns: tuple[str, ...]) -> bool:
    return any(TIME_WORDS & {w.lower() for w in WORD.findall(column)} for column in columns)


class C420UnboundedState(EvidenceRule):
    """Job's streaming state grows without bound (keys with no time component, joins with no time bound).

    **Anti-pattern**: `GROUP BY customer_id` over all history, or `a JOIN b ON a.id = b.id` with no
    time condition: in batch each run starts empty; a stream keeps every key forever.
    **Streaming equivalent**: a state TTL (`table.exec.state.ttl` or a `STATE_TTL` hint), a time
    column in the key (window TVF), or an interval join.
    """

    code, name = "C420", "unbounded-state"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.group_by and not has_time_key(analysis.group_by):
                message = f"state keyed by ({', '.join(analysis.group_by)}) has no time component: it grows forever"
                yield Evidence(self.at(statement, analysis, "group_by", message), Classification.NONE, False)
            for join in analysis.joins:
                if (
                    join.kind != "cross"
                    and not join.has_time_bound
                    and not lookup_join(join, facts)
                    and not join.right.startswith("<")
                ):
                    message = f"join of {join.left} and {join.right} has no time bound: both sides are kept forever"
                    yield Evidence(self.at(statement, analysis, "join", message), Classification.NONE, False)
