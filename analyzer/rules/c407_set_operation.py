from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule

STATEFUL_SET_OPERATIONS = frozenset({"union", "intersect", "except"})


class C407SetOperation(EvidenceRule):
    """Job uses UNION (distinct), INTERSECT or EXCEPT: rows are compared across inputs in state.

    **Anti-pattern**: `SELECT id FROM a UNION SELECT id FROM b` or `... EXCEPT ...` over daily snapshots.
    **Streaming equivalent**: the same set operation (a GroupAggregate or anti-join in Flink) with a
    state TTL and an upsert sink; `UNION ALL` alone stays stateless.
    """

    code, name = "C407", "set-operation"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            stateful = sorted(set(analysis.set_operations) & STATEFUL_SET_OPERATIONS)
            if stateful:
                message = f"{', '.join(op.upper() for op in stateful)}: rows compared across inputs in state"
                yield Evidence(self.at(statement, analysis, "set_operation", message), Classification.STATEFUL, True)
