from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C405Deduplication(EvidenceRule):
    """Job keeps one row per key with ROW_NUMBER() = 1 or QUALIFY: deduplication state.

    **Anti-pattern**: `QUALIFY ROW_NUMBER() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1`.
    **Streaming equivalent**: Flink's deduplication (`ROW_NUMBER() OVER (PARTITION BY k ORDER BY
    rowtime DESC) = 1` in a subquery): keeping the last row updates the sink, keeping the first
    only appends.
    """

    code, name = "C405", "deduplication"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.dedup is not None:
                dedup = analysis.dedup
                keep = "last" if dedup.descending else "first"
                keys, order = ", ".join(dedup.partition_by), ", ".join(dedup.order_by)
                message = f"keeps the {keep} row per ({keys}) by {order}"
                evidence = Evidence(
                    self.at(statement, analysis, "dedup", message), Classification.STATEFUL, dedup.descending
                )
                yield evidence
