from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C410MergeUpsert(EvidenceRule):
    """Job upserts with MERGE (or INSERT ... ON CONFLICT / ON DUPLICATE KEY): its sink takes updates.

    **Anti-pattern**: `MERGE INTO dim_customers t USING staging s ON t.customer_id = s.customer_id
    WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT ...`.
    **Streaming equivalent**: `INSERT INTO` an upsert sink whose PRIMARY KEY is the MERGE key; both
    branches become upserts, deletes come from the changelog.
    """

    code, name = "C410", "merge-upsert"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            # ON CONFLICT names its keys; MySQL's ON DUPLICATE KEY uses the table's own key
            upsert = analysis.kind == "insert" and bool(analysis.merge_keys or analysis.merge_actions)
            if analysis.kind == "merge" or upsert:
                keys = ", ".join(analysis.merge_keys) or "the table's primary key"
                actions = ", ".join(analysis.merge_actions) or "upsert"
                message = f"{actions} into {analysis.target} keyed by {keys}"
                yield Evidence(self.at(statement, analysis, "merge", message), Classification.SINK_UPDATE, True)
