"""What a rule sees (`JobFacts`), and the `Rule` base class.

A rule is a class with a stable code, a name that states the problem, and a docstring whose first
line is the message summary, followed by **Anti-pattern** and **Streaming equivalent** sections
(checked by a test). `check` yields findings located at the SQL span that proves them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from ..lineage import LineageGraph
from ..models import Dag, Finding, Job, Pattern, Statement, Task
from ..sql import StatementAnalysis

# statement kinds that change a table's content
WRITING_KINDS = frozenset(
    {
        "insert",
        "insert_overwrite",
        "merge",
        "update",
        "delete",
        "create_table_as",
        "create_or_replace_table_as",
        "truncate",
        "copy",
    }
)


@dataclass(frozen=True)
class JobFacts:
    job: Job
    dag: Dag
    task: Task
    statements: tuple[tuple[Statement, StatementAnalysis], ...]  # parsed statements only
    lineage: LineageGraph
    upserted_tables: frozenset[str] = frozenset()  # targets of MERGE / UPDATE anywhere in the repo
    table_partitions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # from repository DDL
    # facts derived from the others, worked out once for every rule that asks (`rules.window`)
    derived: dict[tuple[str, int], object] = field(default_factory=dict, compare=False, repr=False)

    def writing(self) -> Iterator[tuple[Statement, StatementAnalysis]]:
        return (pair for pair in self.statements if pair[1].kind in WRITING_KINDS)

    def kinds(self) -> tuple[str, ...]:
        return tuple(analysis.kind for _, analysis in self.statements)

    def other_producers(self, table: str) -> tuple[str, ...]:
        return tuple(job for job in self.lineage.producers(table) if job != self.job.id)

    def prior_producers(self, table: str) -> tuple[str, ...]:
        """Other writers of `table` that do not run after this job: the job that patches a table
        runs after the one that loads it, so a writer downstream of this job is its patcher."""
        others = self.other_producers(table)
        if not others:
            return ()
        later = set(self.lineage.downstream(self.job.id))
        return tuple(job for job in others if job not in later)


class Rule:
    """Base class; subclasses set `code`, `name`, `pattern` and implement `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    pattern: ClassVar[Pattern]  # the job pattern this rule is evidence for (NONE: classification)

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0]

    @classmethod
    def documentation(cls) -> str:
        return "\n".join(line.strip() for line in (cls.__doc__ or "").strip().splitlines())

    def at(self, statement: Statement, analysis: StatementAnalysis | None, span: str, message: str) -> Finding:
        """A finding located at a feature of the statement (falls back to the statement start)."""
        line, col = statement.line, 1
        spans = analysis.spans if analysis is not None else {}
        for key in (span, "target", "command"):
            if key in spans:
                span_line, span_col = spans[key]
                line, col = statement.line + span_line - 1, span_col
                break
        return Finding(self.code, self.name, message, statement.file, line, col)

    def at_task(self, facts: JobFacts, message: str) -> Finding:
        return Finding(self.code, self.name, message, facts.task.file, facts.task.line, facts.task.col)


def snippet(statement: Statement, limit: int = 90) -> str:
    text = " ".join(statement.sql.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(values: Sequence[str]) -> str:
    return ", ".join(values)
