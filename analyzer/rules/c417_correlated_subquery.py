from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C417CorrelatedSubquery(EvidenceRule):
    """Job uses a correlated subquery: planned as an aggregate plus a join, both stateful.

    **Anti-pattern**: `WHERE amount > (SELECT AVG(amount) FROM orders i WHERE i.customer_id = o.customer_id)`.
    **Streaming equivalent**: the same SQL plans (GroupAggregate + join) with updating output; a
    state TTL bounds it. Rewriting it as an explicit join makes the state visible.
    """

    code, name = "C417", "correlated-subquery"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.correlated_subquery:
                message = "correlated subquery: an aggregate and a join kept in state"
                yield Evidence(self.at(statement, analysis, "predicate", message), Classification.STATEFUL, True)
