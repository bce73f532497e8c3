from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C415Unnest(EvidenceRule):
    """Job explodes arrays (UNNEST, LATERAL VIEW explode, FLATTEN): per-row work, no state.

    **Anti-pattern**: `SELECT o.id, item FROM orders o CROSS JOIN UNNEST(o.items) AS item`.
    **Streaming equivalent**: `CROSS JOIN UNNEST(arr) AS t(x)` (or `LATERAL TABLE(udtf(...))`),
    a stateless correlate in Flink.
    """

    code, name = "C415", "unnest"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.unnest or analysis.lateral:
                message = "explodes arrays row by row (UNNEST / LATERAL): stateless"
                yield Evidence(self.at(statement, analysis, "unnest", message), Classification.STATELESS, False)
