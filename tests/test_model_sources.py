"""dbt projects and SQL folders as sources of jobs: the cases in tests/data/dbt/projects.yml and
tests/data/sql_folders/folders.yml, what a DAG run selects, and `kappa scan --sql-dir`."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

import analyzer.dbt_runs as dbt_runs_module
import analyzer.model_jobs as model_jobs_module
import analyzer.sql_folders as sql_folders_module
from analyzer.cli import app
from analyzer.dbt import incremental_filter
from analyzer.dbt_runs import DbtRun, parse_dbt_commands, select_nodes
from analyzer.models import Analysis, Job
from analyzer.pipeline import scan

from .conftest import TESTS, write_tree

CASES = [
    pytest.param(case, id=f"{path.parent.name}: {case['name']}")
    for path in (TESTS / "data" / "dbt" / "projects.yml", TESTS / "data" / "sql_folders" / "folders.yml")
    for case in yaml.safe_load(path.read_text(encoding="utf-8"))
]
runner = CliRunner()


def scan_case(root: Path, case: dict[str, Any]) -> Analysis:
    write_tree(root, case["files"])
    return scan(root, sql_folders=case.get("sql_folders", ()), dialect=case.get("dialect"))


def job_fields(job: Job) -> dict[str, Any]:
    return {
        "origin": job.origin.value,
        "sql_status": job.sql_status.value,
        "dialect": job.dialect,
        "operator": job.operator,
        "line": job.line,
        "statements": [s.kind for s in job.statements],
        "reads": list(job.reads),
        "writes": list(job.writes),
        "pattern": job.pattern.value,
        "classification": job.classification.value,
        "upsert_key": list(job.upsert_key),
        "time_variables": list(job.time_variables),
    }


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    analysis = scan_case(tmp_path / "repo", case)
    jobs = {job.id: job for job in analysis.jobs}
    for job_id, expected in case.get("jobs", {}).items():
        assert job_id in jobs, sorted(jobs)
        job = jobs[job_id]
        fields = job_fields(job)
        for name, value in expected.items():
            if name == "sql_contains":
                assert value in "\n".join(s.sql for s in job.statements), [s.sql for s in job.statements]
            else:
                assert fields[name] == value, (job_id, name, [f.format() for f in job.findings])
    for job_id in case.get("absent", []):
        assert job_id not in jobs
    everything = [*analysis.findings, *(f for job in analysis.jobs for f in job.findings)]
    located = {(f.file, f.line, f.code) for f in everything}
    for file, line, code in case.get("findings", []):
        assert (file, line, code) in located, sorted(f.format() for f in everything)
    dags = {dag.dag_id: dag for dag in analysis.dags}
    for dag_id, expected in case.get("dag", {}).items():
        if "schedule" in expected:
            assert dags[dag_id].schedule == expected["schedule"]
        if "edges" in expected:
            assert [list(e) for e in dags[dag_id].edges] == expected["edges"]
    tasks = {f"{dag.dag_id}.{task.task_id}": task for dag in analysis.dags for task in dag.tasks}
    for job_id, expected in case.get("meta", {}).items():
        meta = tasks[job_id].meta
        assert {k: list(meta[k]) if isinstance(meta[k], tuple) else meta[k] for k in expected} == expected
    schemas = analysis.extra.get("schemas") or {}
    for table, columns in case.get("schemas", {}).items():
        assert [f"{c.name} {c.source_type}" for c in schemas[table].columns] == columns
    counts = analysis.extra.get("models") or {}
    for key, value in case.get("counts", {}).items():
        assert counts.get(key) == value, counts


def test_scanning_twice_gives_the_same_analysis(tmp_path: Path) -> None:
    case = next(p.values[0] for p in CASES if "DAGs that run" in p.values[0]["name"])
    first = scan_case(tmp_path / "a", case)
    second = scan(tmp_path / "a", sql_folders=(), dialect=case.get("dialect"))
    assert [j.id for j in first.jobs] == [j.id for j in second.jobs]
    assert [(j.statements, j.findings) for j in first.jobs] == [(j.statements, j.findings) for j in second.jobs]


def test_doctests() -> None:
    for module in (dbt_runs_module, model_jobs_module, sql_folders_module):
        failures, tried = doctest.testmod(module)
        assert tried and not failures, module.__name__


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("dbt run", {"command": "run", "select": (), "full_refresh": False}),
        ("cd /opt/dbt/x && dbt deps && dbt run -m a b --exclude c", {"command": "run", "select": ("a", "b")}),
        ("/usr/bin/dbt build --select=tag:daily --full-refresh", {"select": ("tag:daily",), "full_refresh": True}),
        ("dbt snapshot --project-dir /srv/dbt/shop", {"command": "snapshot", "hints": ("/srv/dbt/shop",)}),
        ("dbt run --vars '{day: \"{{ ds }}\"}'", {"vars": {"day": "{{ ds }}"}}),
    ],
)
def test_dbt_commands(command: str, expected: dict[str, Any]) -> None:
    found = parse_dbt_commands(command)[-1]
    assert {key: found[key] for key in expected} == expected


class _Node:
    def __init__(self, name: str, folders: tuple[str, ...] = (), refs: tuple[str, ...] = (), **extra: Any) -> None:
        self.name, self.folders, self.refs = name, folders, refs
        self.kind = extra.get("kind", "model")
        self.file = f"models/{'/'.join(folders) + '/' if folders else ''}{name}.sql"
        self.tags = extra.get("tags", ())
        self.materialized = extra.get("materialized", "view")


NODES = [
    _Node("stg_a", ("staging",), tags=("daily",)),
    _Node("stg_b", ("staging",)),
    _Node("fct", ("marts",), ("stg_a", "stg_b"), materialized="incremental"),
    _Node("report", ("marts",), ("fct",), materialized="table"),
    _Node("snap", kind="snapshot"),
]


@pytest.mark.parametrize(
    ("command", "select", "exclude", "expected"),
    [
        ("run", (), (), {"stg_a", "stg_b", "fct", "report"}),
        ("snapshot", (), (), {"snap"}),
        ("build", ("marts",), (), {"fct", "report"}),
        ("run", ("+fct",), (), {"stg_a", "stg_b", "fct"}),
        ("run", ("fct+",), (), {"fct", "report"}),
        ("run", ("1+report",), (), {"fct", "report"}),
        ("run", ("@stg_a",), (), {"stg_a", "stg_b", "fct", "report"}),
        ("run", ("tag:daily",), (), {"stg_a"}),
        ("run", ("path:models/staging",), ("stg_b",), {"stg_a"}),
        ("run", ("config.materialized:incremental stg_*",), (), {"fct", "stg_a", "stg_b"}),
        ("run", ("marts,config.materialized:table",), (), {"report"}),
        ("test", (), (), set()),
    ],
)
def test_selection(command: str, select: tuple[str, ...], exclude: tuple[str, ...], expected: set[str]) -> None:
    run = DbtRun("p/dbt_project.yml", "d", "t", "d.py", 1, command, select, exclude)
    assert select_nodes(run, NODES) == expected


@pytest.mark.parametrize(
    ("incremental", "dialect", "days"),
    [
        ("where d >= (select max(d) from t) - interval '3 days'", "postgres", 3),
        ("where d >= (select dateadd(day, -2, max(d)) from t)", "snowflake", 2),
        ("where d >= date_sub((select max(d) from t), interval 7 day)", "bigquery", 7),
        ("where ts > (select max(ts) - interval '36' hour from t)", "trino", 2),
        ("where d > (select max(d) from t)", "postgres", 0),
    ],
)
def test_incremental_lookback(incremental: str, dialect: str, days: int) -> None:
    filtered, found = incremental_filter("select d from s", f"select d from s {incremental}", dialect)
    assert found == days and filtered


def test_cli_sql_dir_and_dialect(tmp_path: Path) -> None:
    case = next(p.values[0] for p in CASES if p.values[0]["name"].startswith("bigquery-etl"))
    root = write_tree(tmp_path / "repo", case["files"])
    out = tmp_path / "analysis.json"
    result = runner.invoke(
        app, ["scan", str(root), "--sql-dir", "sql", "--dialect", "bigquery", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "SQL folders: 1 query file, 1 parsed (1 schema file only define tables)" in result.output
    document = json.loads(out.read_text())
    assert {j["origin"] for j in document["jobs"]} == {"sql_file"}
    assert document["summary"]["origins"]["sql_file"] == {"jobs": 1, "parsed": 1}
    by_path = runner.invoke(app, ["scan", str(root), "--sql-dir", str(root / "sql"), "--dialect", "bigquery"])
    assert by_path.exit_code == 0 and "1 query file" in by_path.output


@pytest.mark.parametrize(
    "arguments",
    [["--sql-dir", "sql", "--dialect", "no_such_dialect"], ["--sql-dir", "../elsewhere"]],
)
def test_cli_refuses_bad_options(arguments: list[str], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"sql/q.sql": "select 1"})
    result = runner.invoke(app, ["scan", str(root), *arguments])
    assert result.exit_code == 2, result.output
