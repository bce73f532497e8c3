from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule
from .f102_update_in_place import deletes_every_row, is_retention_delete, replaced_by_insert, scratch_table
from .window import write_window


class C411UpdateDelete(EvidenceRule):
    """Job changes or removes rows with UPDATE / DELETE: only an updating sink can express it.

    **Anti-pattern**: `UPDATE t SET status = 'shipped' WHERE order_id IN (...)`; `DELETE FROM t WHERE ...`.
    A DELETE that clears the dated slice the job then re-inserts is a partition overwrite (C412 /
    C414), while one that clears the keys about to arrive again (`DELETE ... USING staging`, then
    `INSERT`) is an upsert by hand and stays evidence here; a DELETE by age is retention, a DELETE
    of every row is a full rewrite (C416), and changes to the job's own scratch table never reach
    a reader.
    **Streaming equivalent**: an upsert (or retract) sink keyed by the table's key receives the new
    row versions and deletes as changelog events; Flink's streaming mode has no UPDATE statement.
    """

    code, name = "C411", "update-delete"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        for index, (statement, analysis) in enumerate(facts.statements):
            if analysis.kind not in {"update", "delete"} or is_retention_delete(analysis):
                continue
            if scratch_table(facts, index):
                continue
            if replaced_by_insert(facts, index) and write_window(facts, statement, analysis) is not None:
                continue  # the run's dated slice cleared and re-inserted: C412 / C414 judge it
            if deletes_every_row(statement, analysis):
                continue  # the table is emptied: a full rewrite (C416)
            message = f"{analysis.kind.upper()} of {analysis.target}: rows change after they were written"
            yield Evidence(self.at(statement, analysis, "target", message), Classification.SINK_UPDATE, True)
