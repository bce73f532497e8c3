from __future__ import annotations

from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule
from .window import job_markers, lookback_window


class F101LookbackRerun(Rule):
    """Job re-writes the last N days on every run to catch late data.

    **Anti-pattern**: `INSERT OVERWRITE ... WHERE dt BETWEEN '{{ macros.ds_add(ds, -3) }}' AND '{{ ds }}'`:
    each run recomputes days that earlier runs already wrote, because events arrive late. The window
    may also come from SQL date arithmetic (`dt >= date_sub('{{ ds }}', 2)`, `CURRENT_DATE -
    INTERVAL '3' DAY`); a job that only reads a longer window into the run's own static partition
    (a rolling 7-day aggregate) re-writes nothing.
    **Streaming equivalent**: one continuous job; late rows update their keys in an upsert sink;
    the lookback becomes the watermark's allowed lateness and the state TTL.
    """

    code, name, pattern = "F101", "lookback-rerun", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.writing():
            window = lookback_window(facts, statement, analysis)
            if window is None:
                continue
            markers = job_markers(facts.job)
            bounds = next(
                (
                    f"{p.column} {p.op} {', '.join(markers.get(v, v) for v in p.values)}"
                    for p in analysis.predicates
                    if p.column == window.column
                ),
                window.column,
            )
            message = (
                f"re-writes {analysis.target or 'its target'} for {window.days} days, back to "
                f"{-window.first} days before the run, on every run ({bounds})"
            )
            yield self.at(statement, analysis, "predicate", message)
            return
