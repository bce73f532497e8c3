from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule
from .f102_update_in_place import is_retention_delete, replaced_by_insert, scratch_table


class C411UpdateDelete(EvidenceRule):
    """Job changes or removes rows with UPDATE / DELETE: only an updating sink can express it.

    **Anti-pattern**: `UPDATE t SET status = 'shipped' WHERE order_id IN (...)`; `DELETE FROM t WHERE ...`.
    A DELETE that clears the slice the job then re-inserts is a partition overwrite (C412 / C414),
    a DELETE by age is retention, and changes to the job's own scratch table never reach a reader.
    **Streaming equivalent**: an upsert (or retract) sink keyed by the table's key receives the new
    row versions and deletes as changelog events; Flink's streaming mode has no UPDATE statement.
    """

    code, name = "C411", "update-delete"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for index, (statement, analysis) in enumerate(facts.statements):
            if analysis.kind not in {"update", "delete"} or is_retention_delete(analysis):
                continue
            if replaced_by_insert(facts, index) or scratch_table(facts, index):
                continue
            message = f"{analysis.kind.upper()} of {analysis.target}: rows change after they were written"
            yield Evidence(self.at(statement, analysis, "target", message), Classification.SINK_UPDATE, True)
