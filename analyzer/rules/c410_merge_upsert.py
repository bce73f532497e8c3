from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C410MergeUpsert(EvidenceRule):
    """Job upserts with MERGE (or INSERT ... ON CONFLICT): its sink must take updates by key.

    **Anti-pattern**: `MERGE INTO dim_customers t USING staging s ON t.customer_id = s.customer_id
    WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT ...`.
    **Streaming equivalent**: `INSERT INTO` an upsert sink whose PRIMARY KEY is the MERGE key; both
    branches become upserts, deletes come from the changelog.
    """

    code, name = "C410", "merge-upsert"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.kind == "merge" or (analysis.kind == "insert" and analysis.merge_keys):
                keys = ", ".join(analysis.merge_keys) or "an unknown key"
                actions = ", ".join(analysis.merge_actions) or "upsert"
                message = f"{actions} into {analysis.target} keyed by {keys}"
                yield Evidence(
                    self.at(statement, analysis, "merge", message), Classification.SINK_UPDATE, True
                )
