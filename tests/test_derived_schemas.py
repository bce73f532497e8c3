"""Tables typed from the queries that write them: the cases of tests/data/derived_schemas.yml."""

from __future__ import annotations

import doctest
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

import generators.derived_schemas as derived_schemas_module
from analyzer.models import Job, SqlStatus, Statement
from analyzer.schemas import ColumnDef, TableDef, table_defs_from_dict, table_defs_to_dict
from generators.derived_schemas import Work, derive_table_defs, typed_tables

CASES = yaml.safe_load((Path(__file__).parent / "data" / "derived_schemas.yml").read_text(encoding="utf-8"))


def test_doctests() -> None:
    failures, tried = doctest.testmod(derived_schemas_module)
    assert tried and not failures


def _definition(table: str, columns: list[str], dialect: str) -> TableDef:
    pairs = [item.split(" ", 1) for item in columns]
    return TableDef(table, dialect, tuple(ColumnDef(n, t) for n, t in pairs), (), (), "ddl.sql", 1)


def _job(entry: dict[str, Any], dialect: str) -> Job:
    statement = Statement(0, entry["sql"], f"{entry['id']}.sql", 1, dialect, True)
    dag_id, task_id = entry["id"].split(".")
    return Job(
        entry["id"], dag_id, task_id, f"{dag_id}.py", 1, "op", dialect, SqlStatus.PARSED,
        reads=tuple(entry["reads"]), writes=tuple(entry["writes"]), statements=(statement,),
    )  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_derived_definitions(case: dict[str, Any]) -> None:
    dialect = case["dialect"]
    known = {table: _definition(table, columns, dialect) for table, columns in (case.get("ddl") or {}).items()}
    derived = derive_table_defs([_job(entry, dialect) for entry in case["jobs"]], known)
    shown = {
        table: {
            "from": definition.derived_from,
            "columns": [f"{c.name} {c.source_type}".strip() for c in definition.columns],
        }
        for table, definition in derived.items()
    }
    assert shown == case["expect"]
    # the definitions travel through analysis.json and back
    assert table_defs_from_dict(table_defs_to_dict(derived)) == derived
    # as in worker processes: each job crosses a pickle with the definitions it is sent, no more
    rounds: list[int] = []

    def in_workers(work: Sequence[Work]) -> list[list[TableDef]]:
        rounds.append(len(work))
        return [typed_tables(pickle.loads(pickle.dumps(item))) for item in work]

    jobs = [_job(entry, dialect) for entry in case["jobs"]]
    assert derive_table_defs(jobs, known, in_workers) == derived
    assert sum(rounds) <= len(jobs)
