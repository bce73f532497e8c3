from __future__ import annotations

import re
from collections.abc import Iterator

from ..models import Finding, Pattern
from .base import JobFacts, Rule

STREAM_WORDS = frozenset(
    {"kafka", "stream", "streaming", "topic", "topics", "realtime", "rt", "speed", "kinesis", "pubsub"}
)


def is_stream_table(table: str) -> bool:
    """A table fed by a stream, by the words of its name (`kafka.orders`, `orders_stream`), not
    by substrings (`clickstream` is a batch table of clicks)."""
    return bool(STREAM_WORDS & set(re.split(r"[^a-z0-9]+|_", table.lower())))


class F106DualWrite(Rule):
    """Batch job writes a table that a streaming-fed job also writes (Lambda's two layers).

    **Anti-pattern**: a speed layer appends rows from Kafka into a serving table during the day,
    and a batch job overwrites the same table from the lake at night to make it right.
    **Streaming equivalent**: one job, fed by the log, is the only writer; its upsert sink makes
    the result right as data arrives, so the batch rewrite retires.
    """

    code, name, pattern = "F106", "dual-write", Pattern.FIX

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        if any(is_stream_table(t) for t in facts.job.reads):
            return  # this job is the streaming writer
        for statement, analysis in facts.writing():
            for table in analysis.writes:
                streaming = [
                    job
                    for job in facts.other_producers(table)
                    if any(is_stream_table(t) for t in facts.lineage.reads_of(job))
                ]
                if streaming:
                    message = f"batch write to {table}, which {', '.join(streaming)} also writes from a stream"
                    yield self.at(statement, analysis, "target", message)
                    return
