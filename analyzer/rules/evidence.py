"""Shared shape of the classification rules (C4xx): each yields `Evidence`, a finding plus what it
implies for the job's class and for its streaming sink."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..models import Classification, Finding, Pattern
from ..sql import JoinInfo
from .base import JobFacts, Rule

DIMENSION_WORDS = ("dim_", "_dim", "dimension", "lookup", "_ref", "ref_", "mapping", "calendar")
DIMENSION_ENTITIES = (
    "customers",
    "customer",
    "products",
    "product",
    "stores",
    "store",
    "suppliers",
    "users",
    "accounts",
    "countries",
    "currencies",
    "exchange_rates",
    "fx_rates",
    "inventory",
    "sellers",
)


@dataclass(frozen=True)
class Evidence:
    finding: Finding
    classification: Classification  # what this construct makes the job (NONE: a note only)
    updates: bool  # the streaming result updates rows it already emitted (needs an upsert sink)
    key: tuple[str, ...] = ()  # the sink key the job declares outside its SQL (a dbt unique_key)


def is_dimension(table: str, facts: JobFacts) -> bool:
    """A slowly changing lookup table: by name, or because some job updates it in place."""
    name = table.lower().rsplit(".", 1)[-1]
    if any(word in name for word in DIMENSION_WORDS) or name in DIMENSION_ENTITIES:
        return True
    return table in facts.upserted_tables


def lookup_join(join: JoinInfo, facts: JobFacts) -> bool:
    """An inner or left join to a dimension: a lookup join, or a temporal join when the ON clause
    also picks the dimension row valid at the fact's time (`s.ts BETWEEN d.valid_from AND
    d.valid_to`, an SCD2 table)."""
    return join.kind in {"inner", "left"} and is_dimension(join.right, facts)


class EvidenceRule(Rule):
    """Base for classification rules; not a rule itself."""

    pattern = Pattern.NONE

    def evidence(self, facts: JobFacts) -> Iterator[Evidence]:
        raise NotImplementedError

    def check(self, facts: JobFacts) -> Iterator[Finding]:
        for item in self.evidence(facts):
            yield item.finding
