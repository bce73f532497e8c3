from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

TIME_WORDS = ("date", "day", "dt", "ts", "time", "hour", "week", "month", "window")


def has_time_key(columns: tuple[str, ...]) -> bool:
    return any(any(word in column.lower().rsplit(".", 1)[-1] for word in TIME_WORDS) for column in columns)


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
                message = (
                    f"state keyed by ({', '.join(analysis.group_by)}) has no time component: it grows forever"
                )
                yield Evidence(self.at(statement, analysis, "group_by", message), Classification.NONE, False)
            for join in analysis.joins:
                if (
                    join.kind != "cross"
                    and not join.has_time_bound
                    and not lookup_join(join, facts)
                    and not join.right.startswith("<")
                ):
                    message = (
                        f"join of {join.left} and {join.right} has no time bound: both sides are kept forever"
                    )
                    yield Evidence(self.at(statement, analysis, "join", message), Classification.NONE, False)
