"""Shared shape of the optimize rules: a statement kind or an Iceberg procedure proves them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from ..models import Finding, Pattern
from .base import JobFacts, Rule


class MaintenanceRule(Rule):
    """Base for rules that fire on a maintenance statement; not a rule itself."""

    pattern = Pattern.OPTIMIZE
    kinds: ClassVar[frozenset[str]] = frozenset()
    procedures: ClassVar[frozenset[str]] = frozenset()
    what: ClassVar[str] = ""

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for statement, analysis in facts.statements:
            procedure = (analysis.procedure or "").lower()
            if analysis.kind in self.kinds or (procedure and procedure in self.procedures):
                target = analysis.target or "a table"
                how = (
                    f"CALL {procedure}"
                    if procedure in self.procedures
                    else (analysis.command or analysis.kind)
                )
                yield self.at(statement, analysis, "command", f"{self.what} {target} ({how})")
