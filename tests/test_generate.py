"""`kappa generate`: golden Flink jobs for the samples, statuses with reasons, determinism, and
output safety."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

import generators.workers
from analyzer.cli import app
from analyzer.pipeline import scan
from generators.config import load_generate_config
from generators.flink import GENERATED, MANUAL, RETIRED, job_path, safe_name
from generators.generation import generate_analysis

from .conftest import SAMPLES, TESTS, write_tree

GOLDEN = TESTS / "golden" / "generated"
runner = CliRunner()


@pytest.fixture(scope="module")
def sample_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    result = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_golden_jobs(sample_output: Path, update_goldens: bool) -> None:
    produced = {p.relative_to(sample_output).as_posix(): p.read_text() for p in sample_output.rglob("*.sql")}
    if update_goldens:
        for old in GOLDEN.rglob("*.sql"):
            old.unlink()
        for relative, text in produced.items():
            (GOLDEN / relative).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / relative).write_text(text)
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_text() for p in GOLDEN.rglob("*.sql")}
    assert sorted(produced) == sorted(expected)
    for relative, text in produced.items():
        assert text == expected[relative], f"{relative} differs: run pytest --update-goldens and review"


def test_every_job_has_an_outcome_with_a_reason(sample_output: Path) -> None:
    document = json.loads((sample_output / "analysis.json").read_text())
    outcomes = {job["id"]: job["generated"] for job in document["jobs"]}
    assert outcomes and all(o["status"] in {GENERATED, RETIRED, MANUAL} and o["reason"] for o in outcomes.values())
    for job_id, outcome in outcomes.items():
        if outcome["status"] == GENERATED:
            assert (sample_output / outcome["path"]).is_file(), job_id
    statuses = {o["status"] for o in outcomes.values()}
    assert statuses == {GENERATED, RETIRED, MANUAL}
    # optimize jobs retire with the sink options that replace them
    maintenance = [j for j in document["jobs"] if j["pattern"] == "optimize"]
    assert maintenance and all(j["generated"]["status"] == RETIRED for j in maintenance)
    assert all("replaced by" in j["generated"]["reason"] for j in maintenance)


def test_fix_jobs_fold_into_the_producer(sample_output: Path) -> None:
    document = json.loads((sample_output / "analysis.json").read_text())
    jobs = {job["id"]: job for job in document["jobs"]}
    restate = jobs["lake_late_data_fix.restate_daily_sales"]["generated"]
    assert restate["status"] == RETIRED and "lake_daily_sales.build_daily_sales" in restate["reason"]
    owner = (sample_output / "jobs/lake_daily_sales/build_daily_sales/job.sql").read_text()
    assert "Replaces fix job lake_late_data_fix.restate_daily_sales" in owner
    assert "WATERMARK FOR `event_time` AS `event_time` - INTERVAL '3' DAY" in owner


def test_generation_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(app, ["generate", str(SAMPLES), "--out", str(first)]).exit_code == 0
    assert runner.invoke(app, ["generate", str(SAMPLES), "--out", str(second)]).exit_code == 0
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.output
    assert runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out), "--force"]).exit_code == 0
    assert (out / "keep.txt").read_text() == "mine"


HOSTILE = """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("../../escape", schedule="@daily") as dag:
    PostgresOperator(task_id="/etc/passwd", sql="INSERT INTO shop.t SELECT id, name FROM shop.s")
    PostgresOperator(task_id="..", sql="INSERT INTO shop.u SELECT id, name FROM shop.s")
"""


def test_names_are_made_safe_and_stay_inside_the_output(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", {"dags/hostile.py": HOSTILE})
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(root), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = list(tmp_path.rglob("*.sql"))
    assert written and all(out in p.parents for p in written)
    assert not (tmp_path / "escape").exists()
    assert safe_name("../../escape") == "escape" and safe_name("..").startswith("unnamed-")


def test_upsert_jobs_refuse_an_append_only_sink() -> None:
    generation = generate_analysis(scan(SAMPLES), load_generate_config(SAMPLES), sink="filesystem")
    results = {r.job_id: r for r in generation.results}
    aggregate = results["bq_marts_daily.build_daily_revenue"]
    assert aggregate.status == MANUAL and "filesystem" in aggregate.reason
    append = results["trino_clickstream_marts.route_orders_de"]
    assert append.status == GENERATED and "'connector' = 'filesystem'" in (append.sql or "")


def test_job_paths_are_unique_per_task() -> None:
    analysis = scan(SAMPLES)
    paths = [job_path(job) for job in analysis.jobs]
    assert len(paths) == len(set(paths))


@pytest.mark.slow
def test_migrate_generates_and_validates_in_one_go(tmp_path: Path) -> None:
    pytest.importorskip("pyflink")
    out = tmp_path / "out"
    result = runner.invoke(app, ["migrate", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "jobs pass the Flink planner" in result.output
    document = json.loads((out / "analysis.json").read_text())
    planned = [j for j in document["jobs"] if j["generated"]["status"] == GENERATED]
    assert planned and all(j["validation"]["status"] == "passed" for j in planned)
    # the samples carry data/, so migrate also verified the jobs on it
    assert {j["equivalence"]["status"] for j in planned} <= {"equal", "different", "skipped"}
    assert any(j["equivalence"]["status"] == "equal" for j in planned)


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["generate", str(tmp_path / "none"), "--out", str(tmp_path / "o")]).exit_code == 2
    assert runner.invoke(app, ["validate", str(tmp_path)]).exit_code == 2
    bad_sink = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(tmp_path / "o"), "--sink", "nosuch"])
    assert bad_sink.exit_code == 2


def test_generate_types_each_writer_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kappa generate` derives the tables no DDL defines once (`with_derived_schemas`): the
    catalog does not type again the ones that could not be typed (parsing and qualifying their
    writers a second time)."""
    from generators import derived_schemas  # noqa: PLC0415 - patched here only

    written = derived_schemas._written
    seen: list[tuple[str, str]] = []

    def counting(statement, dialect):  # type: ignore[no-untyped-def]
        seen.append((statement.sql, dialect))
        return written(statement, dialect)

    monkeypatch.setattr(derived_schemas, "_written", counting)
    dag = """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("shop", schedule="@daily") as dag:
    PostgresOperator(task_id="typed", sql="INSERT INTO shop.daily SELECT dt, COUNT(*) AS n FROM shop.orders GROUP BY 1")
    PostgresOperator(task_id="untyped", sql="INSERT INTO shop.copy SELECT * FROM shop.elsewhere")
"""
    ddl = "CREATE TABLE shop.orders (id BIGINT, dt DATE);"
    root = write_tree(tmp_path / "repo", {"dags/shop.py": dag, "sql/orders.sql": ddl})
    result = runner.invoke(app, ["generate", str(root), "--out", str(tmp_path / "out"), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert sorted(sql for sql, _ in seen) == sorted(
        [
            "INSERT INTO shop.daily SELECT dt, COUNT(*) AS n FROM shop.orders GROUP BY 1",
            "INSERT INTO shop.copy SELECT * FROM shop.elsewhere",
        ]
    )


def test_analysis_json_is_written_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """generate, and validate and verify recording their results, write analysis.json in pieces
    (at 10,000 DAGs, the document as one indented string took 1.4 GiB more than the generation), with
    the bytes `json.dumps(indent=2, sort_keys=True)` gives."""
    from analyzer import cli  # noqa: PLC0415 - patched here only
    from generators import output  # noqa: PLC0415

    written: dict[str, bool] = {}

    def recording(write):  # type: ignore[no-untyped-def]
        def write_atomically(path: Path, text) -> None:  # type: ignore[no-untyped-def]
            written[path.name] = isinstance(text, str)
            write(path, text)

        return write_atomically

    monkeypatch.setattr(output, "write_atomically", recording(output.write_atomically))
    monkeypatch.setattr(cli, "write_atomically", recording(cli.write_atomically))
    out = tmp_path / "out"
    assert runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out), "--no-cache"]).exit_code == 0
    assert written.pop("analysis.json") is False and written and all(written.values())
    document_path = out / "analysis.json"
    text = document_path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "infra" in document
    some_job = document["jobs"][0]["id"]
    cli.record_in_analysis(document_path, "equivalence", {some_job: {"status": "equal"}}, by="id")
    assert written.pop("analysis.json") is False
    text = document_path.read_text(encoding="utf-8")
    document = json.loads(text)
    assert document["jobs"][0]["equivalence"] == {"status": "equal"}
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.slow
def test_generate_in_worker_processes_writes_the_same_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Typing the tables and assembling the jobs in worker processes (two each) changes nothing:
    the samples, with the size threshold lowered so that their 76 jobs start the workers."""
    from generators import generation  # noqa: PLC0415 - patched here only

    started: list[bool] = []

    def spy(real):  # type: ignore[no-untyped-def]
        @contextmanager
        def runner_in_use(*arguments):  # type: ignore[no-untyped-def]
            with real(*arguments) as run:
                started.append(run is not None)
                yield run

        return runner_in_use

    monkeypatch.setattr(generators.workers, "PARALLEL_JOBS", 1)
    monkeypatch.setattr(generation, "typing_runner", spy(generation.typing_runner))
    monkeypatch.setattr(generation, "assembly_runner", spy(generation.assembly_runner))
    files = {}
    for workers in ("1", "2"):
        out = tmp_path / workers
        result = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out), "--jobs", workers, "--no-cache"])
        assert result.exit_code == 0, result.output
        files[workers] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert started == [False, False, True, True]
    assert files["2"] == files["1"] and sum(path.name == "job.sql" for path in files["1"]) > 20
