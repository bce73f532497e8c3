"""`generators.verify`: the batch jobs replayed in DuckDB against the generated streaming jobs run
in Flink, over the same rows.

The pure parts (values, changelog materialization, naming) run everywhere; the DuckDB translation
tests need duckdb. The verification tests are `slow`, skip without pyflink or duckdb, and share
ONE `StreamRunner` (one JVM) for the session. Their cases are data, `tests/data/verify/*.yml`: a
one-DAG repository (DDL, CSV rows, the tasks' SQL) run through scan -> generate -> verify.
The samples test runs `kappa generate` and verifies every generated sample job.
"""

from __future__ import annotations

import doctest
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.models import Analysis
from analyzer.pipeline import scan
from analyzer.render import render_sql
from generators import verify as verify_module
from generators.config import load_generate_config
from generators.generation import generate_analysis
from generators.verify import (
    DIFFERENT,
    EQUAL,
    SKIPPED,
    Equivalence,
    Session,
    StreamRunner,
    Warehouse,
    canonical,
    data_days,
    duckdb_name,
    generated_in_folder,
    materialize,
    to_duckdb,
    verify_jobs,
)

from .conftest import SAMPLES, write_tree

DATA = Path(__file__).parent / "data" / "verify"
CASE_KEYS = {"name", "dialect", "ddl", "tables", "jobs", "files", "config", "verify", "expect", "message"}

# Issue 5's bar: at least 90% of the generated sample jobs proven equal on data (on 2026-11-28:
# 29 of 32; the 3 others differ in meaning, each with its row diff and the reason)
SAMPLES_EQUAL_SHARE = 0.9


def _load_cases() -> list[Any]:
    cases = []
    for path in sorted(DATA.glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


CASES = _load_cases()


@pytest.fixture(scope="session")
def runner() -> Iterator[StreamRunner]:
    """The one Flink runner (one JVM) every verification test of the session shares."""
    pytest.importorskip("pyflink.table")
    pytest.importorskip("duckdb")
    with StreamRunner() as shared:
        yield shared


# ------------------------------------------------------------------------------ pure parts


def test_doctests() -> None:
    failures, tried = doctest.testmod(verify_module)
    assert tried and not failures


def test_case_files_are_well_formed() -> None:
    assert len(CASES) >= 8
    names = [param.values[0]["name"] for param in CASES]
    assert len(names) == len(set(names))
    for param in CASES:
        case = param.values[0]
        assert set(case) <= CASE_KEYS, set(case) - CASE_KEYS
        assert case["expect"] in {EQUAL, DIFFERENT, SKIPPED}
        assert ":" in case["verify"] or case["verify"] in {job["task_id"] for job in case.get("jobs") or []}
    assert {param.values[0]["expect"] for param in CASES} == {EQUAL, DIFFERENT, SKIPPED}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, "true"),
        (3, "3"),
        (Decimal("119.000"), "119"),
        (0.1 + 0.2, "0.3"),
        (-0.00001, "0"),
        (Decimal("433.2400"), "433.24"),
        (datetime(2024, 1, 10, 8, 0, 2), "2024-01-10 08:00:02"),
        (datetime(2024, 1, 10, 8, 0, 2, 500000), "2024-01-10 08:00:02.5"),
        (datetime(2024, 1, 10, 9, 0, tzinfo=UTC), "2024-01-10 09:00:00"),
        (date(2024, 1, 10), "2024-01-10"),
        ("  DE ", "DE"),
    ],
)
def test_canonical_values(value: Any, expected: str | None) -> None:
    assert canonical(value) == expected


def test_materialize_applies_retractions_as_a_multiset() -> None:
    changes = [("+I", ("a",)), ("+I", ("a",)), ("-D", ("a",)), ("+I", ("b",)), ("-U", ("c",))]
    assert materialize(changes) == [("a",), ("b",)]


def test_materialize_keeps_the_last_row_per_key() -> None:
    changes = [
        ("+I", ("k1", "1")),
        ("+I", ("k2", "1")),
        ("-U", ("k1", "1")),
        ("+U", ("k1", "2")),
        ("+I", ("k2", "5")),  # a second insert for a key: the upsert sink keeps the last one
        ("-D", ("k2", "5")),  # its retraction brings back the row before it
    ]
    assert materialize(changes, [0]) == [("k2", "1"), ("k1", "2")]


def test_duckdb_names() -> None:
    assert duckdb_name("Shop.Orders") == ("shop", "orders")
    assert duckdb_name("shop-analytics.marts.fct_orders") == ("shop-analytics.marts", "fct_orders")
    assert duckdb_name("t") == ("main", "t")


def test_equivalence_to_dict_and_finding() -> None:
    verdict = Equivalence("d.t", DIFFERENT, "x differs", 2, 1, ("only in batch: (1)",))
    assert verdict.to_dict() == {
        "status": "different",
        "message": "x differs",
        "batch_rows": 2,
        "stream_rows": 1,
        "diff": ["only in batch: (1)"],
    }
    finding = verdict.finding("jobs/d/t/job.sql", 40)
    assert finding is not None and (finding.code, finding.line) == ("V602", 40)
    assert Equivalence("d.t", EQUAL, "").finding("jobs/d/t/job.sql") is None


# ------------------------------------------------------------------------- DuckDB translation


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[Warehouse]:
    pytest.importorskip("duckdb")
    csv = tmp_path / "raw.events.csv"
    csv.write_text("k,v,dt\na,1,2024-01-10\nb,2,2024-01-10\na,3,2024-01-11\n", encoding="utf-8")
    house = Warehouse({})
    house.load_csv("raw.events", csv)
    yield house
    house.close()


def _run(house: Warehouse, sql: str, dialect: str, session: Session | None = None) -> None:
    session = session or Session()
    for tree in sqlglot.parse(sql, read=dialect):
        assert tree is not None
        steps, _ = to_duckdb(tree, house, session)
        for step in steps:
            house.execute(step, float("inf"))


def _table(house: Warehouse, table: str) -> list[tuple[Any, ...]]:
    columns = [name for name, _ in house.columns(table)]
    return sorted(house.rows(table, columns), key=str)


def test_static_partition_overwrite_replaces_only_its_partition(warehouse: Warehouse) -> None:
    for day in ("2024-01-10", "2024-01-11", "2024-01-10"):
        _run(
            warehouse,
            f"INSERT OVERWRITE TABLE lake.totals PARTITION (dt='{day}') "
            f"SELECT k, SUM(v) AS total FROM raw.events WHERE dt = '{day}' GROUP BY k",
            "hive",
        )
    rows = _table(warehouse, "lake.totals")
    assert [(k, int(total), str(dt)) for k, total, dt in rows] == [
        ("a", 1, "2024-01-10"),
        ("a", 3, "2024-01-11"),
        ("b", 2, "2024-01-10"),
    ]


def test_dynamic_partition_overwrite_replaces_the_partitions_it_writes(warehouse: Warehouse) -> None:
    sql = (
        "INSERT OVERWRITE TABLE lake.totals PARTITION (dt) SELECT k, SUM(v) AS total, dt FROM raw.events GROUP BY k, dt"
    )
    _run(warehouse, sql, "spark")
    _run(warehouse, sql, "spark")
    assert len(_table(warehouse, "lake.totals")) == 3


def test_overwrite_without_partition_replaces_the_table(warehouse: Warehouse) -> None:
    _run(warehouse, "INSERT OVERWRITE INTO lake.last SELECT k, MAX(v) AS v FROM raw.events GROUP BY k", "snowflake")
    _run(warehouse, "INSERT OVERWRITE INTO lake.last SELECT k, MAX(v) AS v FROM raw.events GROUP BY k", "snowflake")
    assert [(k, int(v)) for k, v in _table(warehouse, "lake.last")] == [("a", 3), ("b", 2)]


def test_merge_and_truncate(warehouse: Warehouse) -> None:
    _run(warehouse, "CREATE OR REPLACE TABLE `m.s.t` AS SELECT 'a' AS k, 0 AS v", "bigquery")
    merge = (
        "MERGE `m.s.t` T USING (SELECT k, SUM(v) AS v FROM raw.events GROUP BY k) S ON T.k = S.k "
        "WHEN MATCHED THEN UPDATE SET v = S.v WHEN NOT MATCHED THEN INSERT ROW"
    )
    _run(warehouse, merge, "bigquery")
    assert [(k, int(v)) for k, v in _table(warehouse, "m.s.t")] == [("a", 4), ("b", 2)]
    _run(warehouse, "TRUNCATE TABLE `m.s.t`", "bigquery")
    assert _table(warehouse, "m.s.t") == []


def test_session_settings_and_read_only_statements_are_skipped(warehouse: Warehouse) -> None:
    session = Session()
    tree = sqlglot.parse_one("SET spark.sql.sources.partitionOverwriteMode=dynamic", read="spark")
    assert to_duckdb(tree, warehouse, session) == ([], "SET")
    assert session.dynamic_partitions
    select = sqlglot.parse_one("SELECT * FROM raw.events", read="spark")
    assert to_duckdb(select, warehouse, session) == ([], "read-only query")


def test_data_days_span_the_partitions(warehouse: Warehouse) -> None:
    assert data_days(warehouse, ["raw.events"]) == [date(2024, 1, 10), date(2024, 1, 11)]


# ------------------------------------------------------------------------ verification cases


def build_repository(root: Path, case: dict[str, Any]) -> None:
    """A one-DAG repository: the tasks' SQL in dags/sql, the DDL in schemas/<dialect>/, the rows
    in data/<table>.csv, each task's connection speaking its dialect; `files` are more files of
    the repository (a dbt project, a folder of query files) and `config` more of kappa.toml."""
    jobs = case.get("jobs") or []
    dialects = {job.get("dialect", case["dialect"]) for job in jobs}
    connections = "[connections]\n" + "".join(f"conn_{d} = {d!r}\n" for d in sorted(dialects))
    files = {"kappa.toml": connections + case.get("config", ""), **(case.get("files") or {})}
    lines = [
        "import datetime, os\n",
        "from airflow import DAG\n",
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator\n",
        "with DAG('case', schedule='@daily', start_date=datetime.datetime(2024, 1, 1), catchup=False,\n",
        "         template_searchpath=[os.path.join(os.path.dirname(__file__), 'sql')]):\n",
    ]
    for job in jobs:
        dialect = job.get("dialect", case["dialect"])
        lines.append(
            f"    SQLExecuteQueryOperator(task_id={job['task_id']!r}, conn_id='conn_{dialect}', "
            f"sql={job['task_id'] + '.sql'!r})\n"
        )
        files[f"dags/sql/{job['task_id']}.sql"] = job["sql"]
    if jobs:
        files["dags/case.py"] = "".join(lines)
    for table, ddl in (case.get("ddl") or {}).items():
        files[f"schemas/{case['dialect']}/{table}.sql"] = ddl + ";\n"
    for table, rows in (case.get("tables") or {}).items():
        files[f"data/{table}.csv"] = rows
    write_tree(root, files)


def _verify_repository(repo: Path, runner: StreamRunner, job_id: str | None = None) -> list[Equivalence]:
    generation = generate_analysis(scan(repo), load_generate_config(repo.resolve(), None))
    only = [job_id] if job_id else None
    return verify_jobs(
        generation.analysis, generation.results, repo / "data", runner, render=render_sql, only=only, budget_seconds=60
    )


def _show(verdicts: list[Equivalence]) -> None:
    for verdict in verdicts:
        print(f"{verdict.status:9} {verdict.job_id} ({verdict.seconds:.1f} s): {verdict.message}")
        for line in verdict.diff:
            print(f"    {line}")


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_verification_case(case: dict[str, Any], tmp_path: Path, runner: StreamRunner) -> None:
    repo = tmp_path / "repo"
    build_repository(repo, case)
    job_id = case["verify"] if ":" in case["verify"] else f"case.{case['verify']}"
    verdicts = _verify_repository(repo, runner, job_id)
    _show(verdicts)
    assert len(verdicts) == 1, "the job was not generated"
    verdict = verdicts[0]
    assert verdict.status == case["expect"], verdict.message
    assert case.get("message", "") in verdict.message
    if verdict.status == DIFFERENT and "fails while it runs" not in verdict.message:
        assert verdict.diff


@pytest.mark.slow
def test_a_job_that_fails_in_flink_is_different(tmp_path: Path, runner: StreamRunner) -> None:
    """A stream job that plans but fails while it runs gives no table: a verdict, not a skip. The
    generator leaves LAG over a plain column to a person for this reason; a job file edited to use
    it anyway (Flink 2.3 plans it, then its accumulator fails) shows the verdict."""
    repo = tmp_path / "repo"
    case = {
        "dialect": "spark",
        "ddl": {
            "lake.daily": "CREATE TABLE lake.daily (country STRING, visitors BIGINT, dt STRING) USING parquet",
            "lake.change": "CREATE TABLE lake.change (dt STRING, country STRING, rate DOUBLE) USING parquet",
        },
        "tables": {"lake.daily": "country,visitors,dt\nDE,1,2024-01-10\nDE,3,2024-01-11\nDE,2,2024-01-11\n"},
        "jobs": [
            {
                "task_id": "change",
                "sql": "INSERT OVERWRITE TABLE lake.change SELECT dt, country, v / NULLIF(v, 0) AS rate "
                "FROM (SELECT dt, country, SUM(visitors) AS v FROM lake.daily GROUP BY dt, country) f",
            }
        ],
    }
    build_repository(repo, case)
    generation = generate_analysis(scan(repo), load_generate_config(repo.resolve(), None))
    analysis, generated = generation.analysis, generation.results
    job = next(g for g in generated if g.job_id == "case.change")
    assert job.sql is not None and "AS rate" in job.sql
    lag = "AS country, CAST(LAG(CAST(v AS DOUBLE)) OVER (PARTITION BY country ORDER BY dt) AS DOUBLE) AS rate FROM"
    edited = re.sub(r"AS country, .*? AS rate FROM", lambda _: lag, job.sql)
    assert edited != job.sql
    verdicts = verify_jobs(
        analysis, [replace(job, sql=edited)], repo / "data", runner, render=render_sql, budget_seconds=60
    )
    _show(verdicts)
    assert [v.status for v in verdicts] == [DIFFERENT]
    assert "fails while it runs" in verdicts[0].message


@pytest.mark.slow
def test_samples(tmp_path: Path, runner: StreamRunner, samples_analysis: Analysis) -> None:
    """`kappa generate samples/`, then every generated job verified over samples/data."""
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    generated = generated_in_folder(out)
    verdicts = verify_jobs(samples_analysis, generated, SAMPLES / "data", runner, render=render_sql)
    counts = Counter(v.status for v in verdicts)
    print(f"\nsamples: {len(verdicts)} generated jobs verified: {dict(counts)}")
    _show([v for v in verdicts if v.status != EQUAL])
    assert len(verdicts) == sum(1 for g in generated if g.status == "generated")
    assert counts[EQUAL] >= math.ceil(SAMPLES_EQUAL_SHARE * len(verdicts))
    # dbt models and query files are replayed too, not skipped
    assert {v.job_id.split(":")[0] for v in verdicts if v.status == EQUAL} >= {"dbt", "sql"}
    # every verdict says why; every difference shows rows (or the run-time failure)
    assert all(v.message for v in verdicts)
    assert all(v.diff or "fails while it runs" in v.message for v in verdicts if v.status == DIFFERENT)
