from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

OUTER = frozenset({"left", "right", "full"})


class C409OuterJoin(EvidenceRule):
    """Job outer-joins two streams: unmatched rows are emitted, then retracted when a match arrives.

    **Anti-pattern**: `orders LEFT JOIN shipments ON ...` over one day of each.
    **Streaming equivalent**: the same outer join with a state TTL into an upsert sink (it retracts
    padded rows), or an interval join when a time bound exists.
    """

    code, name = "C409", "outer-join"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            for join in analysis.joins:
                if join.kind in OUTER and not lookup_join(join, facts) and not join.right.startswith("<"):
                    sides = f"{join.left} and {join.right}"
                    message = f"{join.kind} outer join of {sides}: padded rows are later retracted"
                    yield Evidence(self.at(statement, analysis, "join", message), Classification.STATEFUL, True)
