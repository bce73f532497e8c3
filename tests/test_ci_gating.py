"""CI gating: `--fail-on` conditions (and `--baseline`), exit codes, and SARIF 2.1.0 output that
code-scanning tools read (checked against the structure of the SARIF schema; no network)."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import analyzer.gating
import analyzer.sarif
from analyzer.cli import app, catalog
from analyzer.gating import CONDITIONS, FailOn, crossed
from analyzer.sarif import to_sarif

from .conftest import PROJECT, SAMPLES, write_tree

runner = CliRunner()

DOCUMENT: dict[str, Any] = {
    "schema_version": 1,
    "findings": [
        {"code": "E001", "name": "dag-syntax-error", "message": "x.py does not parse", "file": "x.py", "line": 3},
        {"code": "E050", "name": "secret-in-code", "message": "a password", "file": "d.py", "line": 9, "col": 4},
    ],
    "jobs": [
        {"id": "d.fix", "pattern": "fix", "sql_status": "parsed", "findings": [], "generated": {"status": "retired"}},
        {"id": "d.bad", "pattern": "none", "sql_status": "unparsed", "findings": [], "generated": {"status": "manual"}},
        {"id": "d.gone", "pattern": "reprocess", "sql_status": "missing", "findings": []},
        {"id": "d.py", "pattern": "none", "sql_status": "opaque", "findings": []},
        {
            "id": "d.ok",
            "pattern": "transform",
            "sql_status": "parsed",
            "findings": [{"code": "C413", "message": "projection", "file": "d.py", "line": 5, "col": 1}],
            "generated": {"status": "generated", "path": "jobs/d/ok/job.sql"},
            "validation": {"status": "failed", "message": "V601"},
            "equivalence": {"status": "different", "message": "1 row"},
        },
        "not a job",
    ],
}
EXPECTED = {
    FailOn.ERROR: ["E001 x.py x.py does not parse", "E050 d.py a password"],
    FailOn.SECRET: ["E050 d.py a password"],
    FailOn.UNPARSED: ["d.bad"],
    FailOn.MISSING: ["d.gone"],
    FailOn.OPAQUE: ["d.py"],
    FailOn.FIX: ["d.fix"],
    FailOn.REPROCESS: ["d.gone"],
    FailOn.MANUAL: ["d.bad"],
    FailOn.PLANNER_FAILURE: ["d.ok"],
    FailOn.DIFFERENT: ["d.ok"],
}


def test_every_condition_is_in_the_table() -> None:
    assert set(CONDITIONS) == set(FailOn) == set(EXPECTED)


@pytest.mark.parametrize("condition", list(FailOn))
def test_each_condition_counts_what_it_names(condition: FailOn) -> None:
    assert crossed(DOCUMENT, [condition]) == {condition.value: EXPECTED[condition]}
    assert crossed({"jobs": [], "findings": []}, [condition]) == {}


def test_a_baseline_leaves_only_what_is_new() -> None:
    baseline = json.loads(json.dumps(DOCUMENT))
    assert crossed(DOCUMENT, list(FailOn), baseline) == {}
    baseline["jobs"] = [j for j in baseline["jobs"] if not isinstance(j, dict) or j["id"] != "d.fix"]
    baseline["findings"][0]["line"] = 40  # the same finding, moved by an edit above it: not new
    assert crossed(DOCUMENT, list(FailOn), baseline) == {"fix": ["d.fix"]}


def test_doctests() -> None:
    assert doctest.testmod(analyzer.gating).failed == 0
    assert doctest.testmod(analyzer.sarif).failed == 0


FIX_REPO = {
    "dags/fix.py": """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("d", schedule="@daily") as dag:
    PostgresOperator(task_id="rerun", postgres_conn_id="pg", sql='''
        DELETE FROM mart.t WHERE dt >= '{{ macros.ds_add(ds, -3) }}';
        INSERT INTO mart.t SELECT k, COUNT(*), dt FROM raw.s
        WHERE dt >= '{{ macros.ds_add(ds, -3) }}' GROUP BY k, dt''')
""",
}


def test_scan_exit_codes_and_the_baseline(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", FIX_REPO)
    fails = runner.invoke(app, ["scan", str(root), "--no-cache", "--fail-on", "fix"])
    assert fails.exit_code == 1, fails.output
    assert "fix: 1 (d.rerun)" in fails.output
    assert runner.invoke(app, ["scan", str(root), "--no-cache", "--fail-on", "secret"]).exit_code == 0
    baseline = tmp_path / "baseline.json"
    saved = runner.invoke(app, ["scan", str(root), "--no-cache", "--format", "json", "--out", str(baseline)])
    assert saved.exit_code == 0, saved.output
    again = runner.invoke(app, ["scan", str(root), "--no-cache", "--fail-on", "fix", "--baseline", str(baseline)])
    assert again.exit_code == 0, again.output
    missing = runner.invoke(app, ["scan", str(root), "--fail-on", "fix", "--baseline", str(tmp_path / "none.json")])
    assert missing.exit_code == 2
    assert runner.invoke(app, ["scan", str(root), "--fail-on", "nonsense"]).exit_code == 2


def test_report_gates_on_validation_and_verification(tmp_path: Path) -> None:
    source = tmp_path / "in" / "analysis.json"
    source.parent.mkdir()
    source.write_text(json.dumps(DOCUMENT | {"tool": {"name": "kappa-migrate", "version": "0"}}), encoding="utf-8")
    for condition, code in (("planner-failure", 1), ("different", 1), ("error", 1)):
        out = tmp_path / condition
        result = runner.invoke(app, ["report", str(source), "--out", str(out), "--fail-on", condition])
        assert result.exit_code == code, result.output
        assert (out / "report.html").is_file()  # the report is written first
    clean = DOCUMENT | {"jobs": [], "findings": []}
    source.write_text(json.dumps(clean), encoding="utf-8")
    result = runner.invoke(app, ["report", str(source), "--out", str(tmp_path / "ok"), "--fail-on", "different"])
    assert result.exit_code == 0, result.output


# ------------------------------------------------------------------ SARIF

LEVELS = {"none", "note", "warning", "error"}


def check_sarif(log: dict[str, Any]) -> None:
    """The parts of the SARIF 2.1.0 schema code-scanning tools rely on."""
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert isinstance(driver["name"], str) and driver["name"] and isinstance(driver["version"], str)
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert isinstance(rule["shortDescription"]["text"], str) and rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in LEVELS
    for result in run["results"]:
        assert result["ruleId"] in ids and ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in LEVELS
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert isinstance(uri, str) and uri and not uri.startswith("/") and ".." not in uri.split("/")
        region = physical["region"]
        assert isinstance(region["startLine"], int) and region["startLine"] >= 1
        assert isinstance(region["startColumn"], int) and region["startColumn"] >= 1
        assert all(isinstance(v, str) for v in result["partialFingerprints"].values())


def test_sarif_of_a_document() -> None:
    log = to_sarif(DOCUMENT, catalog(), uri_prefix="repo")
    check_sarif(log)
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("C413", "note"), ("E050", "error"), ("E001", "error")]
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "repo/x.py"
    assert results[2]["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 1}
    assert {rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]} >= {code for code, _, _ in catalog()}


def test_kappa_scan_format_sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT)
    written = []
    for name in ("a.sarif", "b.sarif"):
        out = tmp_path / name
        result = runner.invoke(app, ["scan", "samples", "--format", "sarif", "--out", str(out), "--no-cache"])
        assert result.exit_code == 0, result.output
        written.append(out.read_bytes())
    assert written[0] == written[1]  # deterministic
    log = json.loads(written[0])
    check_sarif(log)
    results = log["runs"][0]["results"]
    secrets = [r for r in results if r["ruleId"] == "E050"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in secrets} == {
        "samples/edge_cases/secrets_dag.py"
    }
    assert "Kappa-Fake-Pw-7731" not in written[0].decode()
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert all((PROJECT / uri).is_file() for uri in files), sorted(f for f in files if not (PROJECT / f).is_file())
    assert (SAMPLES / "edge_cases" / "syntax_error_dag.py").is_file()
