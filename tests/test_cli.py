"""The `kappa` command line, through typer's CliRunner."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.launch import COMMANDS_ON_SQLGLOT_SOURCES, command_of
from analyzer.rules import RULES
from generators import flink_dialect

from .conftest import PROJECT, SAMPLES, write_tree

runner = CliRunner()

REPO = {
    "dags/shop.py": """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("shop", schedule="@daily") as dag:
    PostgresOperator(task_id="good", sql="SELECT * FROM shop.orders WHERE dt = '{{ ds }}'")
    PostgresOperator(task_id="bad", sql="SELEC * FROM")
""",
}


def test_scan_prints_a_summary(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", REPO)
    result = runner.invoke(app, ["scan", str(root)])
    assert result.exit_code == 0, result.output
    assert "DAGs" in result.output and "SQL parse rate: 50.0%" in result.output
    assert "dags/shop.py:6:" in result.output and "E010" in result.output


def test_scan_counts_its_findings_by_code() -> None:
    result = runner.invoke(app, ["scan", str(SAMPLES), "--no-cache"])
    assert result.exit_code == 0, result.output
    codes = Counter(re.findall(r"^\S+:\d+:\d+ (E\d{3}) ", result.output, re.MULTILINE))
    counts = ", ".join(f"{code} {count}" for code, count in sorted(codes.items()))
    assert len(codes) > 2 and f"{sum(codes.values())} scan findings ({counts})" in result.output


def test_json_output_is_deterministic_and_relative(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", REPO)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert runner.invoke(app, ["scan", str(root), "--format", "json", "--out", str(first)]).exit_code == 0
    assert runner.invoke(app, ["scan", str(root), "--format", "json", "--out", str(second)]).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_text())
    assert document["schema_version"] == 1
    assert [job["id"] for job in document["jobs"]] == ["shop.bad", "shop.good"]
    assert {job["sql_status"] for job in document["jobs"]} == {"parsed", "unparsed"}
    assert {job["pattern"] for job in document["jobs"]} <= {
        "none",
        "fix",
        "optimize",
        "reprocess",
        "transform",
    }
    assert str(tmp_path) not in first.read_text()


def test_markdown_summary(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", REPO)
    result = runner.invoke(app, ["scan", str(root), "--format", "markdown"])
    assert result.exit_code == 0
    assert result.output.startswith("## kappa scan: 1 DAGs, 2 jobs")
    # the column points at `FROM`, counted from the start of the Python line
    assert "| `dags/shop.py:6:50` | E010 sql-parse-error |" in result.output


def test_fail_on_threshold_exits_1(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", REPO)
    result = runner.invoke(app, ["scan", str(root), "--fail-on", "unparsed"])
    assert result.exit_code == 1
    assert runner.invoke(app, ["scan", str(root), "--fail-on", "opaque"]).exit_code == 0


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["scan", str(tmp_path / "nowhere")]).exit_code == 2
    assert runner.invoke(app, ["scan", str(tmp_path), "--format", "yaml"]).exit_code == 2
    assert runner.invoke(app, ["scan", str(tmp_path), "--config", str(tmp_path / "none.toml")]).exit_code == 2
    assert runner.invoke(app, ["frobnicate"]).exit_code == 2


def test_rules_catalog_and_documentation() -> None:
    listing = runner.invoke(app, ["rules"])
    assert listing.exit_code == 0
    for code in ("E001", "F101", "O201", "R301", "C401"):
        assert code in listing.output
    single = runner.invoke(app, ["rules", "o202"])
    assert single.exit_code == 0
    assert "O202 vacuum" in single.output and "**Streaming equivalent**" in single.output
    assert runner.invoke(app, ["rules", "X999"]).exit_code == 2


def test_readme_lists_every_rule() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    for rule in RULES:
        assert f"| {rule.code} | {rule.name} |" in readme and rule.summary() in readme, rule.code


def test_generate_scans_like_scan_parallel_and_cached(tmp_path: Path) -> None:
    """generate, verify, report and migrate take scan's --jobs / --no-cache / --cache-dir: a cached
    parallel run writes the same files as a one-process run without cache."""
    root = write_tree(tmp_path / "repo", REPO)
    cache = tmp_path / "cache"
    plain, cached = tmp_path / "plain", tmp_path / "cached"
    result = runner.invoke(app, ["generate", str(root), "--out", str(plain), "--no-cache", "-j", "1"])
    assert result.exit_code == 0, result.output
    for _ in range(2):  # cold, then from the cache
        result = runner.invoke(
            app, ["generate", str(root), "--out", str(cached), "--force", "-j", "2", "--cache-dir", str(cache)]
        )
        assert result.exit_code == 0, result.output
        written = {p.relative_to(cached): p.read_bytes() for p in cached.rglob("*") if p.is_file()}
        assert written == {p.relative_to(plain): p.read_bytes() for p in plain.rglob("*") if p.is_file()}
    assert any(cache.rglob("*")), "the cache was not written"
    for command in ("verify", "report", "migrate"):
        result = runner.invoke(app, [command, "--help"])
        assert "--no-cache" in result.output and "--jobs" in result.output and "--cache-dir" in result.output


def test_only_the_commands_started_on_sqlglot_sources_need_the_flink_dialect(tmp_path: Path, monkeypatch) -> None:
    """When this process's sqlglot refuses the Flink dialect's classes (sqlglotc: mypyc refuses
    Python subclasses of its classes), the commands that need it say so and how to fix it, exit
    code 2, no traceback; they are exactly the ones `kappa` starts on sqlglot's Python sources
    (`analyzer.launch`), and the others (`scan` first) still run on the compiled build."""
    assert flink_dialect._subclassing_refused() == "", "this environment's sqlglot is the compiled one"
    loads = """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("shop", schedule="@daily") as dag:
    PostgresOperator(task_id="daily", sql="INSERT INTO shop.daily SELECT dt, COUNT(*) AS n FROM shop.orders GROUP BY 1")
"""
    root, out = write_tree(tmp_path / "repo", {"dags/shop.py": loads}), tmp_path / "out"
    assert runner.invoke(app, ["generate", str(root), "--out", str(out)]).exit_code == 0
    monkeypatch.setattr(
        flink_dialect, "_subclassing_refused", lambda: "interpreted classes cannot inherit from compiled"
    )
    commands = {
        "generate": ["generate", str(root), "--out", str(out), "--force"],
        "verify": ["verify", str(out), "--repo", str(root)],
        "migrate": ["migrate", str(root), "--out", str(tmp_path / "migrated")],
        "scan": ["scan", str(root)],
        "report": ["report", str(root), "--out", str(tmp_path / "report.html")],
        "rules": ["rules"],
    }
    refusing = set()
    for name, arguments in commands.items():
        result = runner.invoke(app, arguments)
        assert "Traceback" not in result.output, result.output
        if "compiled sqlglot" in result.output:
            assert result.exit_code == 2, result.output
            assert "prefer_sqlglot_sources()" in result.output and "pip uninstall sqlglotc" in result.output
            refusing.add(name)
        else:
            assert result.exit_code in (0, 1), result.output
    assert refusing == COMMANDS_ON_SQLGLOT_SOURCES
    # `validate` plans the generated Flink SQL text in Flink's own planner, never through sqlglot
    assert {command.name or command.callback.__name__ for command in app.registered_commands} == {
        *commands,
        "validate",
    }


@pytest.mark.parametrize(
    ("arguments", "command"),
    [
        (["generate", "repo", "--out", "out"], "generate"),
        (["--version"], None),
        ([], None),
        (["scan", "generate"], "scan"),
        (["--version", "verify", "out"], "verify"),
    ],
)
def test_the_launcher_reads_the_command_name(arguments: list[str], command: str | None) -> None:
    assert command_of(arguments) == command
