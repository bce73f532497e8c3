from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

# words of a table name (split at `.` and `_`) that name a feed of corrections; whole words, so
# that `product_latest` or `email_templates` are not mistaken for `late` arrivals
CORRECTION_WORDS = re.compile(
    r"corrections?|corrected|adjustments?|adjusted|fix|fixes|fixed|late|restate(?:d|ments?)?"
    r"|refunds?|reversals?|reversed|amend(?:ed|ments?)?"
)


def names_corrections(table: str) -> bool:
    return any(CORRECTION_WORDS.fullmatch(word) for word in re.split(r"[^a-z0-9]+", table.lower()))


class F104MergeCorrection(Rule):
    """Job merges corrections into rows that another run already wrote.

    **Anti-pattern**: `MERGE INTO t USING corrections s ON t.id = s.id WHEN MATCHED THEN UPDATE ...`
    (or `INSERT ... ON CONFLICT DO UPDATE`), run after the batch that produced `t`: only existing
    rows change (no new rows arrive), the source is a feed of corrections, or another job
    produces `t` from other tables (not one that runs after it: that one patches this job's
    output; not a job that only creates the table or seeds it with VALUES). A MERGE whose
    only action is `WHEN NOT MATCHED THEN INSERT` adds the rows not there yet and changes none.
    **Streaming equivalent**: corrections are ordinary change events on the log; the job that
    produces the table consumes them and updates its upsert sink by key.
    """

    code, name, pattern = "F104", "merge-correction", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.statements:
            upsert = analysis.kind == "insert" and "update" in analysis.merge_actions  # ON CONFLICT
            if analysis.kind != "merge" and not upsert:
                continue
            actions = set(analysis.merge_actions)
            if actions == {"insert"}:
                continue  # WHEN NOT MATCHED THEN INSERT alone only adds rows: nothing is corrected
            target = analysis.target or "the target"
            reasons = []
            if actions and "insert" not in actions:  # a MERGE with no WHEN NOT MATCHED
                reasons.append("it only updates or deletes existing rows")
            if any(names_corrections(table) for table in analysis.reads):
                reasons.append("its source is a corrections feed")
            # a job that reads no table (CREATE TABLE IF NOT EXISTS, a seed INSERT ... VALUES)
            # creates the table or seeds it: it wrote no rows that a MERGE would correct
            producers = [job for job in facts.prior_producers(target) if facts.lineage.reads_of(job)]
            if producers:
                reasons.append(f"{', '.join(producers)} produces {target}")
            if reasons:
                verb = "MERGE INTO" if analysis.kind == "merge" else "upsert into"
                message = f"{verb} {target} corrects rows already written: {'; '.join(reasons)}"
                yield self.at(statement, analysis, "merge", message)
