from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join


class C403LookupJoin(EvidenceRule):
    """Job enriches facts with a dimension table: a lookup or temporal join, no join state.

    **Anti-pattern**: `orders o JOIN dim_customers c ON o.customer_id = c.customer_id`, re-run daily
    so each day sees the current dimension.
    **Streaming equivalent**: `JOIN dim FOR SYSTEM_TIME AS OF o.proc_time` (a lookup join against
    the database) or a temporal join against a versioned dimension table (PRIMARY KEY + watermark).
    """

    code, name = "C403", "lookup-join"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            for join in analysis.joins:
                if lookup_join(join, facts):
                    keys = ", ".join(f"{a} = {b}" for a, b in join.keys) or "no equality keys"
                    message = f"{join.kind} join to dimension {join.right} on {keys}: a lookup / temporal join"
                    yield Evidence(self.at(statement, analysis, "join", message), Classification.STATELESS, False)
