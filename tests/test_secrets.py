"""Secrets written into DAG code are reported (E050) where they are and never reach an output:
analysis.json, the generated jobs, the report, the scan cache. Cases are data (tests/data/secrets.yml);
the fake secrets planted in samples/edge_cases/secrets_dag.py are grepped for in every output."""

from __future__ import annotations

import ast
import doctest
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import analyzer.secrets
from analyzer.cli import app
from analyzer.contract import dumps
from analyzer.pipeline import scan
from analyzer.secrets import PATTERNS, REDACTED, Redactor, _may_hold_secret, find_in_module

from .conftest import SAMPLES, TESTS, write_tree

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load((TESTS / "data" / "secrets.yml").read_text(encoding="utf-8"))
# planted in samples/edge_cases/secrets_dag.py
PLANTED = (
    "Kappa-Fake-Pw-7731",
    "kfk9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a",
    "AKIAKAPPAFAKE0000042",
    "Kappa-Fake-DefaultArg-Pw",
)
runner = CliRunner()


@pytest.mark.parametrize("case", CASES["text"], ids=[c["text"][:40] for c in CASES["text"]])
def test_text_is_redacted(case: dict[str, str]) -> None:
    assert Redactor().text(case["text"]) == case["redacted"]


@pytest.mark.parametrize("case", CASES["dag"], ids=[c["name"] for c in CASES["dag"]])
def test_secrets_in_dag_code_are_found_where_they_are(case: dict[str, Any]) -> None:
    found = find_in_module("dags/d.py", ast.parse(case["code"]))
    assert sorted({f.line for f in found.findings}) == case["expect"]
    assert all(f.code == "E050" and f.file == "dags/d.py" for f in found.findings)
    for finding in found.findings:  # the message names the kind of secret, never its value
        assert not any(value in finding.message for value in found.values)


def test_redaction_keeps_the_string_type_and_walks_values() -> None:
    class Tainted(str):
        pass

    redactor = Redactor(("kw-password-1",))
    assert type(redactor.text(Tainted("x kw-password-1 y"))) is Tainted
    value = {"password": "short", "nested": ["uses kw-password-1 here", 3], "note": "postgres://a:b1234@h/d"}
    assert redactor.value(value) == {
        "password": REDACTED,
        "nested": [f"uses {REDACTED} here", 3],
        "note": f"postgres://a:{REDACTED}@h/d",
    }


def test_known_values_are_replaced_as_whole_words_only() -> None:
    redactor = Redactor(("secret99",))
    assert redactor.text("a secret99 b") == f"a {REDACTED} b"
    assert redactor.text("notsecret99x") == "notsecret99x"


def test_hostile_text_cannot_make_redaction_slow() -> None:
    texts = ["password" * 200_000, "a" * 2_000_000, "x://" + ":" * 500_000, "password=" * 100_000, "eyJ" * 300_000]
    started = time.monotonic()
    for text in texts:
        Redactor(("abcdefgh",)).text(text)
    assert time.monotonic() - started < 20


def test_doctests() -> None:
    assert doctest.testmod(analyzer.secrets).failed == 0


# ------------------------------------------------------------------ no planted secret in any output


def _leaks(folder: Path) -> list[str]:
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        leaks.extend(f"{path.relative_to(folder)}: {value}" for value in PLANTED if value.encode() in data)
    return leaks


def test_the_sample_secrets_are_reported(samples_analysis: Any) -> None:
    found = {(f.file, f.line) for f in samples_analysis.findings if f.code == "E050"}
    assert found == {("edge_cases/secrets_dag.py", line) for line in (23, 24, 25, 35)}


def test_no_planted_secret_reaches_any_output(tmp_path: Path) -> None:
    text = (SAMPLES / "edge_cases" / "secrets_dag.py").read_text(encoding="utf-8")
    assert all(value in text for value in PLANTED)  # they are there to be found
    out, report, cache = tmp_path / "generated", tmp_path / "report", tmp_path / "cache"
    analysis = scan(SAMPLES, cache_dir=cache)
    (tmp_path / "scan.json").write_text(dumps(analysis), encoding="utf-8")
    for arguments in (
        ["scan", str(SAMPLES), "--format", "markdown", "--out", str(tmp_path / "scan.md"), "--no-cache"],
        ["scan", str(SAMPLES), "--out", str(tmp_path / "scan.txt"), "--no-cache"],
        ["generate", str(SAMPLES), "--out", str(out)],
        ["report", str(out), "--out", str(report), "--timestamp", "2024-01-15T00:00:00Z"],
    ):
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
        assert not [value for value in PLANTED if value in result.output]
    assert (report / "report.html").is_file() and (cache).is_dir()
    assert _leaks(tmp_path) == []
    # the rendered SQL still says where the token was
    document = json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))
    job = next(j for j in document["jobs"] if j["id"] == "edge_secrets_in_code.count_partner_orders")
    assert f"partner_token = '{REDACTED}'" in job["statements"][0]["sql"]


WRITER = '''
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
PARTNER_PASSWORD = "Writer-Fake-Pw-5521"
with DAG("writer", schedule="@daily") as dag:
    PostgresOperator(
        task_id="load",
        postgres_conn_id="shop_pg",
        sql="""INSERT INTO analytics.partner_sync
               SELECT order_id, 'postgresql://sync:Writer-Uri-Pw-88@partner/db' AS origin
               FROM shop.orders WHERE note <> '{{ params.pw }}'""",
        params={"pw": PARTNER_PASSWORD},
    )
'''


@pytest.mark.parametrize("sink", ["jdbc", "upsert-kafka"])
def test_generated_jobs_hold_placeholders_not_literals(tmp_path: Path, sink: str) -> None:
    root = write_tree(tmp_path / "repo", {"dags/writer.py": WRITER})
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(root), "--out", str(out), "--sink", sink])
    assert result.exit_code == 0, result.output
    job = (out / "jobs" / "writer" / "load" / "job.sql").read_text(encoding="utf-8")
    assert "Writer-Fake-Pw-5521" not in job and "Writer-Uri-Pw-88" not in job
    assert f"postgresql://sync:{REDACTED}@partner/db" in job
    if sink == "jdbc":
        assert "'password' = '${JDBC_PASSWORD}'" in job and "'username' = '${JDBC_USER}'" in job
    everything = "".join(p.read_text(encoding="utf-8") for p in out.rglob("*") if p.is_file())
    assert "Writer-Fake-Pw-5521" not in everything and "Writer-Uri-Pw-88" not in everything


def test_query_files_and_dbt_models_are_redacted_too(tmp_path: Path) -> None:
    query = "SELECT id, 'postgresql://loader:SqlFolder-Pw-991@db/x' AS origin FROM `p.d.src`\n"
    root = write_tree(tmp_path / "repo", {"sql/p/d/t1/query.sql": query})
    arguments = ["scan", str(root), "--sql-dir", "sql", "--dialect", "bigquery", "--format", "json", "--no-cache"]
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0, result.output
    assert "SqlFolder-Pw-991" not in result.output
    document = json.loads(result.output)
    assert [(f["code"], f["file"], f["line"]) for f in document["findings"]] == [("E050", "sql/p/d/t1/query.sql", 1)]
    assert f"loader:{REDACTED}@db" in document["jobs"][0]["statements"][0]["sql"]


# a string each pattern matches, or nearly: hypothesis builds them from the patterns (the quoted
# credential's back-reference is spelled out as its two quote characters)
MATCHING = st.one_of(
    *(
        st.from_regex(pattern.regex.pattern.replace("(?P<q>['\\\"])", "'").replace("(?P=q)", "'"))
        for pattern in PATTERNS
    )
)


@settings(max_examples=300, deadline=None)
@given(text=MATCHING)
def test_the_cheap_test_never_hides_a_match(text: str) -> None:
    """`_may_hold_secret` may say yes for nothing, never no for a text a pattern matches."""
    if any(pattern.regex.search(text) for pattern in PATTERNS):
        assert _may_hold_secret(text)
