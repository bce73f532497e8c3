"""Tests for `analyzer.schemas` (DDL found in the repository) and `generators.schema` (Flink
columns for a job's tables). Cases are data: `tests/data/schemas/*.yml`; the sample repository's
36 DDL files are checked against a golden file (`--update-goldens` rewrites it).
"""

from __future__ import annotations

import dataclasses
import doctest
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import schemas as schemas_module
from analyzer.errors import UsageError
from analyzer.models import Analysis
from analyzer.schemas import (
    ColumnDef,
    TableDef,
    dialect_from_path,
    discover_schemas,
    table_defs_from_dict,
    table_defs_to_dict,
)
from generators import schema as schema_module
from generators.schema import FlinkColumn, FlinkTable, flink_type, load_schema_file, resolve_table

from .conftest import SAMPLES

DATA = Path(__file__).parent / "data" / "schemas"
SAMPLE_DDL = sorted((SAMPLES / "schemas").glob("*/*.sql"))
GOLDEN = DATA / "samples.yml"


def _cases(name: str) -> list[Any]:
    cases = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
    return [pytest.param(case, id=case.get("name") or f"{case['dialect']}:{case['type']}") for case in cases]


def _sample_files() -> list[tuple[str, str]]:
    return [(path.relative_to(SAMPLES).as_posix(), path.read_text(encoding="utf-8")) for path in SAMPLE_DDL]


def _column_text(column: ColumnDef) -> str:
    return f"{column.name} {column.source_type}" + ("" if column.nullable else " NOT NULL")


def _table_view(table_def: TableDef) -> dict[str, Any]:
    """A TableDef as the YAML cases and the golden file write it."""
    view = {field.name: getattr(table_def, field.name) for field in dataclasses.fields(table_def)}
    view["columns"] = [_column_text(column) for column in table_def.columns]
    return {key: list(value) if isinstance(value, tuple) else value for key, value in view.items()}


# ------------------------------------------------------------------------------ the samples


def test_samples_have_36_ddl_files() -> None:
    assert len(SAMPLE_DDL) == 36


@pytest.mark.parametrize("path", SAMPLE_DDL, ids=lambda path: path.relative_to(SAMPLES / "schemas").as_posix())
def test_every_sample_ddl_file_loads(path: Path) -> None:
    relative = path.relative_to(SAMPLES).as_posix()
    defs, findings = discover_schemas([(relative, path.read_text(encoding="utf-8"))], dialect_from_path)
    assert findings == ()
    (table_def,) = defs.values()
    assert table_def.table == path.stem.lower()  # the files are named after their table
    assert table_def.dialect == path.parent.name
    assert table_def.file == relative
    assert table_def.columns
    assert all(column.source_type for column in table_def.columns)
    # every column maps to a Flink type: the samples need no schema file
    flink, notes = resolve_table(table_def.table, defs, {})
    assert notes == ()
    assert flink.origin == f"ddl:{relative}:{table_def.line}"


def test_sample_schemas_match_the_golden_file(update_goldens: bool) -> None:
    defs, findings = discover_schemas(_sample_files(), dialect_from_path)
    assert findings == ()
    actual: dict[str, Any] = {}
    for name, table_def in defs.items():
        view = _table_view(table_def)
        flink, _ = resolve_table(name, defs, {})
        view["flink"] = [f"{column.name} {column.type}" for column in flink.columns]
        actual[name] = view
    if update_goldens or not GOLDEN.exists():
        header = "# discover_schemas(samples/schemas) -- regenerate with pytest --update-goldens\n"
        GOLDEN.write_text(header + yaml.safe_dump(actual, sort_keys=False, width=120), encoding="utf-8")
    assert actual == yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))


def test_every_table_the_sample_scan_names_has_a_schema(samples_analysis: Analysis) -> None:
    """A DDL file, or the types a dbt schema.yml / a query folder's schema.yaml declares; the
    hostile edge cases are exempt."""
    defs, _ = discover_schemas(_sample_files(), dialect_from_path)
    declared = set(defs) | set(samples_analysis.extra.get("schemas") or {})
    named = {
        table
        for job in samples_analysis.jobs
        if not job.file.startswith("edge_cases/")
        for table in (*job.reads, *job.writes)
    }
    assert named
    assert sorted(named - declared) == []


def test_guessing_the_dialect_still_loads_every_sample() -> None:
    named, _ = discover_schemas(_sample_files(), dialect_from_path)
    guessed, findings = discover_schemas(_sample_files(), lambda _path: None)
    assert findings == ()
    assert {name: [c.name for c in t.columns] for name, t in guessed.items()} == {
        name: [c.name for c in t.columns] for name, t in named.items()
    }


# -------------------------------------------------------------------------------- DDL cases


@pytest.mark.parametrize("case", _cases("ddl.yml"))
def test_ddl_case(case: dict[str, Any]) -> None:
    defs, findings = discover_schemas(case["files"].items(), dialect_from_path)
    expect = case["expect"]
    assert sorted(defs) == sorted(expect["tables"])
    for name, expected in expect["tables"].items():
        view = _table_view(defs[name])
        assert {key: view[key] for key in expected} == expected, view
    assert [{"code": f.code, "line": f.line} for f in findings] == expect.get("findings", [])


def test_parse_error_finding_is_located_and_named() -> None:
    text = "CREATE TABLE shop.bad (\n  id BIGINT,\n  name TEXT\n  ts TIMESTAMP\n)"
    _, findings = discover_schemas([("schemas/postgres/bad.sql", text)], dialect_from_path)
    (finding,) = findings
    assert (finding.code, finding.name, finding.file) == (
        "E010",
        "sql-parse-error",
        "schemas/postgres/bad.sql",
    )
    assert finding.line >= 1
    assert "postgres" in finding.message


def test_files_without_create_table_are_not_parsed() -> None:
    calls: list[str] = []

    def dialect_for(path: str) -> str | None:
        calls.append(path)
        return None

    defs, findings = discover_schemas([("dags/x.sql", "SELECT * FROM {{ broken"), ("y.sql", "")], dialect_for)
    assert (defs, findings, calls) == ({}, (), [])


def test_dialect_from_path() -> None:
    assert dialect_from_path("samples/schemas/snowflake/raw.payments.sql") == "snowflake"
    assert dialect_from_path("schemas/postgres/sub/t.sql") == "postgres"
    assert dialect_from_path("sql/daily.sql") is None
    assert dialect_from_path("hive.sql") is None  # the file name is not a folder


def test_table_defs_round_trip_through_json_shape() -> None:
    defs, _ = discover_schemas(_sample_files(), dialect_from_path)
    data = table_defs_to_dict(defs)
    assert list(data) == sorted(data)
    assert data["raw.order_events"]["columns"][0] == {
        "name": "event_id",
        "source_type": "STRING",
        "nullable": True,
    }
    assert table_defs_from_dict(yaml.safe_load(yaml.safe_dump(data))) == defs


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"db.t": {"columns": []}},  # no dialect
        {"db.t": {"dialect": "hive", "columns": [{"source_type": "INT"}]}},  # column without a name
    ],
)
def test_table_defs_from_dict_rejects_malformed_entries(data: Any) -> None:
    with pytest.raises(UsageError, match=r"analysis\.json"):
        table_defs_from_dict(data)


# ------------------------------------------------------------------------------------- types


TYPE_CASES = _cases("types.yml")


@pytest.mark.parametrize("case", TYPE_CASES)
def test_flink_type(case: dict[str, Any]) -> None:
    assert flink_type(case["type"], case["dialect"]) == case["flink"]


def test_type_cases_cover_the_dialects() -> None:
    dialects = [param.values[0]["dialect"] for param in TYPE_CASES]
    for dialect in ("bigquery", "snowflake", "hive", "spark", "postgres", "trino"):
        assert dialects.count(dialect) >= 5, dialect
    assert len(TYPE_CASES) >= 30


# ------------------------------------------------------------------------------- schema file


@pytest.mark.parametrize("case", _cases("schema_files.yml"))
def test_schema_file_case(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "schema.yml"
    path.write_text(case["text"], encoding="utf-8")
    if "error" in case:
        with pytest.raises(UsageError) as raised:
            load_schema_file(path)
        assert case["error"] in str(raised.value)
        assert path.as_posix() in str(raised.value)
        return
    tables = load_schema_file(path)
    assert sorted(tables) == sorted(case["expect"])
    for name, expected in case["expect"].items():
        table = tables[name]
        view = {
            "columns": [f"{column.name} {column.type}" for column in table.columns],
            "primary_key": list(table.primary_key),
            "partitioned_by": list(table.partitioned_by),
        }
        assert {key: view[key] for key in expected} == expected
        assert table.origin == f"schema-file:{path.as_posix()}"


def test_missing_schema_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"cannot read schema file .*nope\.yml"):
        load_schema_file(tmp_path / "nope.yml")


# ------------------------------------------------------------------------------- precedence

DDL = {
    "shop.orders": TableDef(
        table="shop.orders",
        dialect="postgres",
        columns=(
            ColumnDef("order_id", "BIGINT", nullable=False),
            ColumnDef("amount", "NUMERIC(12, 2)"),
            ColumnDef("location", "POINT"),
        ),
        primary_key=("order_id",),
        partitioned_by=(),
        file="schemas/postgres/shop.orders.sql",
        line=3,
    ),
    "proj.marts.daily": TableDef(
        table="proj.marts.daily",
        dialect="bigquery",
        columns=(ColumnDef("day", "DATE"), ColumnDef("ts", "TIMESTAMP"), ColumnDef("n", "INT64")),
        primary_key=(),
        partitioned_by=("day", "ts"),
        file="schemas/bigquery/daily.sql",
        line=1,
        partition_spec=("day", "DATE(ts)"),
    ),
}
SCHEMA_FILE = {
    "shop.orders": FlinkTable(
        "shop.orders",
        (FlinkColumn("order_id", "BIGINT"), FlinkColumn("geo", "STRING")),
        ("order_id",),
        (),
        "schema-file:schema.yml",
    )
}


def test_schema_file_wins_over_ddl() -> None:
    table, findings = resolve_table("SHOP.ORDERS", DDL, SCHEMA_FILE, ["x"])
    assert (table, findings) == (SCHEMA_FILE["shop.orders"], ())


def test_ddl_wins_over_inferred_columns_and_unknown_types_are_g502() -> None:
    table, findings = resolve_table("shop.orders", DDL, {}, ["order_id", "other"])
    assert table == FlinkTable(
        "shop.orders",
        (
            FlinkColumn("order_id", "BIGINT"),
            FlinkColumn("amount", "DECIMAL(12, 2)"),
            FlinkColumn("location", None),
        ),
        ("order_id",),
        (),
        "ddl:schemas/postgres/shop.orders.sql:3",
    )
    assert table.unknown_columns == ("location",)
    (finding,) = findings
    assert (finding.code, finding.name) == ("G502", "unknown-column-type")
    assert (finding.file, finding.line) == ("schemas/postgres/shop.orders.sql", 3)
    assert finding.message.startswith("unknown column type for shop.orders.location")
    assert finding.message.endswith("; declare it in a schema file")


def test_inferred_columns_have_unknown_types_one_finding_each() -> None:
    table, findings = resolve_table("lake.new", DDL, SCHEMA_FILE, ["k", "n", "k"], file="dags/x.py", line=7)
    assert table == FlinkTable("lake.new", (FlinkColumn("k", None), FlinkColumn("n", None)), (), (), "inferred")
    assert [f.format() for f in findings] == [
        "dags/x.py:7:1 G502 unknown column type for lake.new.k; declare it in a schema file",
        "dags/x.py:7:1 G502 unknown column type for lake.new.n; declare it in a schema file",
    ]


def test_no_columns_at_all_is_one_finding_for_the_table() -> None:
    table, findings = resolve_table("lake.new", {}, {}, file="dags/x.py", line=2)
    assert table.columns == ()
    assert [f.code for f in findings] == ["G502"]
    assert "declare the table in a schema file" in findings[0].message


def test_a_unique_dotted_suffix_finds_the_table() -> None:
    table, _ = resolve_table("marts.daily", DDL, {})
    assert table.origin == "ddl:schemas/bigquery/daily.sql:1"
    # a partition by a transform is no Flink partition column
    assert table.partitioned_by == ("day",)
    assert [c.type for c in table.columns] == ["DATE", "TIMESTAMP_LTZ(3)", "BIGINT"]
    # the longer name finds the shorter one too
    longer, _ = resolve_table("analytics_db.shop.orders", DDL, {})
    assert longer.origin.startswith("ddl:")


def test_an_ambiguous_suffix_finds_nothing() -> None:
    defs = {name: dataclasses.replace(DDL["shop.orders"], table=name) for name in ("a.x.t", "b.x.t")}
    table, _ = resolve_table("x.t", defs, {}, ["c"])
    assert table.origin == "inferred"


# ------------------------------------------------------------------------------- robustness


@settings(max_examples=150, deadline=None)
@given(
    body=st.text(alphabet="CREATE TABLE(),<>`'\"-/*\n ;=.abdtINT0123PARTITIONEDBYSTRUCT", max_size=120),
    dialect=st.sampled_from(["hive", "bigquery", "postgres", "snowflake", "trino", "spark", None]),
)
def test_discovery_never_raises(body: str, dialect: str | None) -> None:
    text = "CREATE TABLE db.t (" + body
    defs, findings = discover_schemas([("ddl/t.sql", text)], lambda _path: dialect)
    assert all(f.code == "E010" and f.file == "ddl/t.sql" and f.line >= 1 for f in findings)
    for table_def in defs.values():
        for column in table_def.columns:
            flink_type(column.source_type, table_def.dialect)  # never raises either


def test_docstring_examples() -> None:
    for module in (schemas_module, schema_module):
        failures, _ = doctest.testmod(module)
        assert failures == 0, module.__name__
