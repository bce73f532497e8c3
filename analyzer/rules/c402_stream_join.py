from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

REGULAR = frozenset({"inner", "left", "right", "full", "cross"})


class C402StreamJoin(EvidenceRule):
    """Job joins two streams of facts: both sides are kept in state.

    **Anti-pattern**: `orders JOIN payments ON o.order_id = p.order_id` over one day of each.
    **Streaming equivalent**: an interval join (`p.ts BETWEEN o.ts AND o.ts + INTERVAL '1' DAY`)
    whose state expires with the watermark, or a regular join with a state TTL.
    """

    code, name = "C402", "stream-join"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            for join in analysis.joins:
                if join.kind not in REGULAR or lookup_join(join, facts) or join.right.startswith("<"):
                    continue
                if join.kind in {"left", "right", "full"}:
                    continue  # C409 covers outer joins between streams
                bound = "time-bounded" if join.has_time_bound else "unbounded (no time condition)"
                message = f"{join.kind} join of {join.left} and {join.right}: both sides in state, {bound}"
                yield Evidence(self.at(statement, analysis, "join", message), Classification.STATEFUL, False)
