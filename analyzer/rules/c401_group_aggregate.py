from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C401GroupAggregate(EvidenceRule):
    """Job aggregates with GROUP BY (or a global aggregate): keyed state, updating results.

    **Anti-pattern**: `SELECT dt, product_id, SUM(amount) FROM orders WHERE dt = '{{ ds }}' GROUP BY
    dt, product_id`, recomputed per day.
    **Streaming equivalent**: a continuous GROUP BY whose rows update in an upsert sink keyed by the
    group keys (with a state TTL), or a TUMBLE/CUMULATE window when the sink only appends.
    """

    code, name = "C401", "group-aggregate"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.group_by or analysis.aggregates:
                keys = ", ".join(analysis.group_by) or "no keys (global aggregate)"
                functions = ", ".join(analysis.aggregates) or "aggregates"
                message = f"{functions} grouped by {keys}: keyed state whose results update"
                finding = self.at(statement, analysis, "group_by" if analysis.group_by else "aggregate", message)
                yield Evidence(finding, Classification.STATEFUL, True)
