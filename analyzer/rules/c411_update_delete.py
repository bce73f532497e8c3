from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule


class C411UpdateDelete(EvidenceRule):
    """Job changes or removes rows with UPDATE / DELETE: only an updating sink can express it.

    **Anti-pattern**: `UPDATE t SET status = 'shipped' WHERE order_id IN (...)`; `DELETE FROM t WHERE ...`.
    **Streaming equivalent**: an upsert (or retract) sink keyed by the table's key receives the new
    row versions and deletes as changelog events; Flink's streaming mode has no UPDATE statement.
    """

    code, name = "C411", "update-delete"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for statement, analysis in facts.statements:
            if analysis.kind in {"update", "delete"}:
                message = f"{analysis.kind.upper()} of {analysis.target}: rows change after they were written"
                yield Evidence(
                    self.at(statement, analysis, "target", message), Classification.SINK_UPDATE, True
                )
