"""Shared shape of the optimize rules: a statement kind or an Iceberg procedure proves them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from ..models import Finding, Pattern, Statement
from ..sql import StatementAnalysis
from .base import JobFacts, Rule

MAINTENANCE_KINDS = frozenset({"optimize", "zorder", "vacuum", "analyze", "msck_repair", "concatenate", "call"})


def is_maintenance(analysis: StatementAnalysis) -> bool:
    """The statement reorganises a table's files or metadata; its rows stay the same.

    Lineage keeps these apart from real writes, so a compaction job is never taken for a second
    producer of the table it compacts.
    """
    return analysis.kind in MAINTENANCE_KINDS or analysis.select_star_from_target


class MaintenanceRule(Rule):
    """Base for rules that fire on a maintenance statement; not a rule itself.

    A statement that names a procedure (`CALL cat.system.rewrite_manifests(...)`, Trino
    `ALTER TABLE t EXECUTE optimize_manifests`) is judged by the procedure alone, so that a
    procedure the parser files under a broader kind (`optimize`) does not also prove every rule
    of that kind. `phrases` catch maintenance that sqlglot keeps as a generic ALTER
    (`ALTER TABLE t RECOVER PARTITIONS`).
    """

    pattern = Pattern.OPTIMIZE
    kinds: ClassVar[frozenset[str]] = frozenset()
    procedures: ClassVar[frozenset[str]] = frozenset()
    phrases: ClassVar[tuple[re.Pattern[str], ...]] = ()  # matched in the SQL of an ALTER
    what: ClassVar[str] = ""

    def matches(self, statement: Statement, analysis: StatementAnalysis) -> bool:
        procedure = (analysis.procedure or "").lower()
        if procedure:
            return procedure in self.procedures
        if analysis.kind == "alter" and any(p.search(statement.sql) for p in self.phrases):
            return True
        return analysis.kind in self.kinds

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.statements:
            if self.matches(statement, analysis):
                procedure = (analysis.procedure or "").lower()
                target = analysis.target or "a table"
                how = f"CALL {procedure}" if procedure else (analysis.command or analysis.kind)
                yield self.at(statement, analysis, "command", f"{self.what} {target} ({how})")
