from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule, lookup_join

QUERY_KINDS = frozenset({"insert", "insert_overwrite", "create_table_as", "create_or_replace_table_as", "select"})


class C413StatelessProjection(EvidenceRule):
    """Job only projects, filters and computes per row (UNION ALL, lookup joins included): no state.

    **Anti-pattern**: `INSERT INTO events_de SELECT * FROM events WHERE country = 'DE'` per day.
    **Streaming equivalent**: the same SELECT, continuously: each input row maps to at most one
    output row; an append sink suffices.
    """

    code, name = "C413", "stateless-projection"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            stateful = (
                analysis.group_by
                or analysis.aggregates
                or analysis.window_functions
                or analysis.dedup
                or analysis.distinct
                or analysis.count_distinct
                or analysis.correlated_subquery
                or set(analysis.set_operations) - {"union_all"}
                or (analysis.order_by and analysis.limit)
                # a join of two streams keeps both sides (C402 / C409); a lookup join does not
                or any(
                    j.kind != "lateral" and not j.right.startswith("<") and not lookup_join(j, facts)
                    for j in analysis.joins
                )
            )
            if analysis.kind in QUERY_KINDS and not stateful and not analysis.select_star_from_target:
                what = "UNION ALL of projections" if analysis.set_operations else "projection and filter"
                message = f"{what} into {analysis.target or 'the result'}: one output row per input row"
                yield Evidence(self.at(statement, analysis, "target", message), Classification.STATELESS, False)
