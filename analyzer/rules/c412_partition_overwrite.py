from __future__ import annotations

from collections.abc import Iterator

from ..models import Classification
from .base import JobFacts
from .evidence import Evidence, EvidenceRule
from .f102_update_in_place import replaced_by_insert
from .window import rewritten_days, write_window


def rewrites_past_rows(facts: JobFacts) -> bool:
    """The job writes days before the run's own that earlier runs wrote (a lookback or a
    restatement); a read window that reaches back into a write pinned to the run does not count."""
    return rewritten_days(facts) > 0


class C412PartitionOverwrite(EvidenceRule):
    """Job overwrites the current run's partition: idempotent batch output, append-only as a stream.

    **Anti-pattern**: `INSERT OVERWRITE TABLE t PARTITION (dt='{{ ds }}') SELECT ...`, Databricks
    `REPLACE WHERE dt = '{{ ds }}'`, or `DELETE ... WHERE dt = '{{ ds }}'` then `INSERT`, so that
    a re-run of the day replaces its rows instead of adding them twice. An overwrite that no run
    date bounds (`PARTITION (dt)` over all history, `PARTITION (kind='x')`) is a full rewrite (C416).
    **Streaming equivalent**: when only the current interval is written, each row is written once:
    `INSERT INTO` an append sink partitioned by the event date (with a key for idempotence).
    """

    code, name = "C412", "partition-overwrite"

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        if rewrites_past_rows(facts):
            return  # C414 covers overwrites that reach back
        for index, (statement, analysis) in enumerate(facts.statements):
            # the written slice must be tied to the run: a dynamic `PARTITION (dt)` fed by all
            # history, or a constant partition rebuilt from scratch, is a full rewrite (C416)
            window = write_window(facts, statement, analysis)
            overwrite = analysis.kind == "insert_overwrite" and window is not None
            # DELETE of the run's slice, then INSERT: the same idempotent load, written by hand
            cleared = replaced_by_insert(facts, index) and window is not None
            if overwrite or cleared:
                columns = ", ".join(c for c, _ in analysis.partition_spec) or ", ".join(
                    dict.fromkeys(p.column for p in analysis.predicates)
                )
                how = "overwrites" if overwrite else "deletes and re-inserts"
                message = f"{how} the run's own partition of {analysis.target} ({columns}): append-only"
                yield Evidence(self.at(statement, analysis, "target", message), Classification.STATELESS, False)
