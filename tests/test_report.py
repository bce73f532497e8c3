"""`kappa report`: golden report.md and embedded data, numbers traced to analysis.json, one offline
file, hostile text kept as text, deterministic output, SQL highlighting that loses nothing."""

from __future__ import annotations

import base64
import doctest
import hashlib
import json
import re
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from typer.testing import CliRunner

import generators.report as report_module
from analyzer.cli import app
from analyzer.errors import UsageError
from generators.report import (
    EFFORT_RULES,
    MARKDOWN_LIMIT,
    _cost_figures,
    build_report,
    highlight_sql,
    load_job_files,
    md_code,
    md_text,
    render_html,
    render_markdown,
    report_data,
    resolve_timestamp,
)

from .conftest import SAMPLES, TESTS, write_tree
from .reporting import TIMESTAMP, Elements, build_sample_report, embedded_data

GOLDEN = TESTS / "golden" / "report"
runner = CliRunner()


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_report(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def document(sample_out: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((sample_out / "analysis.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def html(sample_out: Path) -> str:
    return (sample_out / "report.html").read_text(encoding="utf-8")


def scrub(text: str) -> str:
    """The volatile parts: the timestamp and the tool's version."""
    text = text.replace(TIMESTAMP, "<timestamp>")
    return re.sub(r"kappa-migrate \d+\.\d+\.\d+[\w.+-]*", "kappa-migrate <version>", text)


def check_golden(name: str, actual: str, update: bool) -> None:
    path = GOLDEN / name
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs: run pytest --update-goldens and review"


# ------------------------------------------------------------------------------------ goldens


def test_golden_markdown(sample_out: Path, update_goldens: bool) -> None:
    check_golden("report.md", scrub((sample_out / "report.md").read_text(encoding="utf-8")), update_goldens)


def test_golden_embedded_data(html: str, update_goldens: bool) -> None:
    data = embedded_data(html)
    assert data["generated_at"] == TIMESTAMP
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    check_golden("report_data.json", scrub(text), update_goldens)


def test_embedded_data_is_the_report_data(html: str, document: dict[str, Any], sample_out: Path) -> None:
    report = build_report(document, load_job_files(sample_out, document), TIMESTAMP)
    assert embedded_data(html) == json.loads(json.dumps(report_data(report)))


# ---------------------------------------------------------------------- numbers and analysis.json


def test_every_figure_comes_from_analysis_json(html: str, document: dict[str, Any]) -> None:
    """Recount everything from analysis.json, independently of the report's code."""
    summary = embedded_data(html)["summary"]
    jobs = document["jobs"]
    assert summary["jobs"] == len(jobs)
    assert summary["dags"] == len(document["dags"])
    by_status = Counter(job["generated"]["status"] for job in jobs)
    assert {k: v for k, v in summary["by_status"].items() if v} == dict(by_status)
    pairs = Counter((job["pattern"], job["classification"]) for job in jobs)
    cells = {(p, c): n for p, row in summary["by_pattern_and_class"].items() for c, n in row.items() if n}
    assert cells == dict(pairs)
    assert summary["convertible"] == by_status["generated"] + by_status["retired"]
    assert summary["convertible_share"] == round(summary["convertible"] / len(jobs), 4)
    validation = Counter(job["validation"]["status"] for job in jobs)
    equivalence = Counter(job["equivalence"]["status"] for job in jobs)
    assert {k: v for k, v in summary["validation"].items() if v} == dict(validation)
    assert {k: v for k, v in summary["equivalence"].items() if v} == dict(equivalence)
    assert summary["planner_pass_rate"] is None and summary["equivalence_rate"] is None  # not run here
    assert summary["sql_parse_rate"] == document["summary"]["sql_parse_rate"]
    per_job = embedded_data(html)["jobs"]
    assert summary["effort_hours"] == sum(job["effort_hours"] for job in per_job)
    figures = {f["key"]: f for f in summary["figures"]}
    assert figures["retired"]["value"] == str(by_status["retired"])
    assert all(f["source"] for f in figures.values())


def test_the_page_shows_every_figure_without_javascript(html: str) -> None:
    for figure in embedded_data(html)["summary"]["figures"]:
        block = re.search(rf'<div class="figure" id="figure-{figure["key"]}">(.*?)</div>\s*</div>', html, re.DOTALL)
        assert block, figure["key"]
        assert figure["value"].replace("~", "") in block.group(1).replace("~", "")


def test_waves_come_from_the_lineage_graph(html: str, document: dict[str, Any]) -> None:
    assert embedded_data(html)["waves"] == document["graph"]["waves"]


def test_the_effort_rules_cover_every_job() -> None:
    assert EFFORT_RULES[-1].status == EFFORT_RULES[-1].pattern == "*", "the last rule must catch everything"
    for status in ("generated", "retired", "manual", "none", "unknown"):
        job = {"generated": {"status": status}, "pattern": "transform", "classification": "stateful"}
        assert any(rule.matches(job) for rule in EFFORT_RULES)


def test_the_markdown_fits_a_pull_request_comment(sample_out: Path) -> None:
    text = (sample_out / "report.md").read_text(encoding="utf-8")
    assert len(text) < MARKDOWN_LIMIT
    assert "<script" not in text and "<svg" not in text


# ------------------------------------------------------------------------ one file, offline, safe


def test_the_page_fetches_nothing(html: str) -> None:
    elements = Elements(html).found
    assert not [tag for tag, _ in elements if tag in {"link", "img", "iframe", "object", "embed", "base", "form"}]
    attributes = {name for _, attrs in elements for name in attrs}
    assert not attributes & {"src", "srcset", "action", "formaction", "background", "poster"}
    assert not [name for name in attributes if name.startswith("on")], "no inline event handlers"
    links = {attrs["href"] for tag, attrs in elements if "href" in attrs}
    assert links and all(str(link).startswith("#") for link in links)
    assert "@import" not in html and "url(http" not in html
    assert re.findall(r"https?://[^\s\"'<]+", html) == ["http://www.w3.org/2000/svg"]  # the SVG namespace


def test_only_our_two_scripts_and_their_hashes(html: str) -> None:
    elements = Elements(html).found
    assert [attrs for tag, attrs in elements if tag == "script"] == [
        {"type": "application/json", "id": "kappa-report-data"},
        {},
    ]
    policy = next(a["content"] for t, a in elements if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert policy and "default-src 'none'" in policy
    code = re.search(r"<script>(.*?)</script>", html, re.DOTALL)
    style = re.search(r"<style>(.*?)</style>", html, re.DOTALL)
    assert code and style
    for text in (code.group(1), style.group(1)):
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in policy


def test_hostile_text_is_escaped_everywhere(html: str) -> None:
    """The edge_xss_payloads sample: doc_md, description, task id and SQL comment carry markup."""
    for payload in ("<script>window.__xss", "<img src=x", "<svg onload", "<b onmouseover", "</script><script>"):
        assert payload not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;&lt;img src=x onerror=&#34;window.__xss = 2&#34;&gt;" in html
    assert "count_&lt;svg onload=&#34;window.__xss = 3&#34;&gt;" in html
    assert "-- &lt;/script&gt;&lt;script&gt;window.__xss = 4&lt;/script&gt;&lt;!--" in html
    data = re.search(r'id="kappa-report-data">(.*?)</script>', html, re.DOTALL)
    assert data and "<" not in data.group(1) and ">" not in data.group(1)
    job = next(j for j in embedded_data(html)["jobs"] if "svg" in j["id"])
    assert job["task_id"] == 'count_<svg onload="window.__xss = 3">'
    assert "</script><script>window.__xss = 4" in job["sql"]
    assert re.fullmatch(r"job-[A-Za-z0-9_.-]+", job["anchor"])


def test_markdown_escapes_repository_text() -> None:
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("x`y") == "``x`y``"
    assert md_code("`edge`") == "`` `edge` ``"
    assert md_text("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert\\(1\\)\\>"
    assert md_text("a\nb | c") == "a b \\| c"


def test_a_partial_or_hand_edited_analysis_still_renders() -> None:
    for document in (
        {"schema_version": 1},
        {"schema_version": 1, "jobs": "x", "dags": [1, None], "graph": {"nodes": [{}], "edges": [{"source": "a"}]}},
        {
            "schema_version": 1,
            "jobs": [{"id": "d.t", "dag_id": "d", "findings": [None], "statements": [{"sql": "SELECT 1"}]}, {}],
            "graph": {"nodes": [{"id": "task:d.t", "kind": "task", "job": "d.t"}], "waves": [["d.t", "gone"]]},
        },
    ):
        report = build_report(document, {}, TIMESTAMP)
        assert "Migration report" in render_html(report) and render_markdown(report)
    with pytest.raises(UsageError):
        build_report({"schema_version": 2}, {}, TIMESTAMP)


# ---------------------------------------------------------------------------------- determinism


def test_same_input_same_bytes_but_the_timestamp(document: dict[str, Any], sample_out: Path) -> None:
    files = load_job_files(sample_out, document)
    first = build_report(document, files, TIMESTAMP)
    again = build_report(json.loads(json.dumps(document)), dict(files), TIMESTAMP)
    assert render_html(first) == render_html(again)
    assert render_markdown(first) == render_markdown(again)
    later = render_html(build_report(document, files, "2030-06-01T12:00:00Z"))
    assert later.replace("2030-06-01T12:00:00Z", TIMESTAMP) == render_html(first)


def test_the_timestamp_is_pinned_by_option_or_source_date_epoch() -> None:
    assert resolve_timestamp("2024-01-15T08:00:00+02:00", {}) == "2024-01-15T06:00:00Z"
    assert resolve_timestamp(None, {"SOURCE_DATE_EPOCH": "1705276800"}) == "2024-01-15T00:00:00Z"
    assert resolve_timestamp("2024-01-15", {"SOURCE_DATE_EPOCH": "0"}) == "2024-01-15T00:00:00Z"


def test_doctests() -> None:
    failures, tried = doctest.testmod(report_module)
    assert tried and not failures


# ----------------------------------------------------------------------------------------- SQL


def test_highlighting_keeps_every_character(document: dict[str, Any], sample_out: Path) -> None:
    texts = [(s["sql"], s["dialect"]) for job in document["jobs"] for s in job["statements"]]
    texts += [(text, "flink") for text in load_job_files(sample_out, document).values()]
    assert len(texts) > 50
    for sql, dialect in texts:
        spans = highlight_sql(sql, dialect)
        assert "".join(s.text for s in spans) == sql
    flink = next(text for text, dialect in texts if dialect == "flink")
    classes = {s.css for s in highlight_sql(flink, "flink")}
    assert {"k", "s", "c"} <= classes


@pytest.mark.parametrize(
    ("sql", "dialect"),
    [("SELECT 'unterminated", "postgres"), ("SELECT 1", "no-such-dialect"), ("", "spark"), ("-- only\n", "hive")],
)
def test_highlighting_never_fails(sql: str, dialect: str) -> None:
    assert "".join(s.text for s in highlight_sql(sql, dialect)) == sql


def test_sql_lines_carry_their_file_line_numbers(html: str, document: dict[str, Any]) -> None:
    job = next(j for j in document["jobs"] if j["id"] == "lake_daily_sales.build_daily_sales")
    first = job["statements"][0]["line"]
    card = html[html.index('id="job-lake_daily_sales.build_daily_sales"') :]
    assert f'<span class="ln">{first}</span>' in card


def test_sql_is_highlighted_when_rendered_once_per_block(
    document: dict[str, Any], sample_out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view model holds each block's text, not its spans: for 1,000 DAGs the spans of every
    job at once held 900 MiB (now 430 MiB for the whole report)."""
    highlighted: list[str] = []
    real = report_module.highlight_sql
    monkeypatch.setattr(report_module, "highlight_sql", lambda sql, d: highlighted.append(sql) or real(sql, d))
    report = build_report(document, load_job_files(sample_out, document), TIMESTAMP)
    assert highlighted == []
    render_html(report)
    blocks = [block for job in report.jobs for block in (*job.original, *((job.flink,) if job.flink else ()))]
    assert sorted(highlighted) == sorted(block.sql for block in blocks) and len(blocks) > 100


# ------------------------------------------------------------------------------------- lineage


def test_lineage_layout(html: str, document: dict[str, Any], sample_out: Path) -> None:
    lineage = build_report(document, load_job_files(sample_out, document), TIMESTAMP).lineage
    tasks = [n for n in lineage.nodes if n.kind == "task"]
    assert len(tasks) == len(document["jobs"])
    anchors = {job["anchor"] for job in embedded_data(html)["jobs"]}
    assert all(n.anchor in anchors for n in tasks)
    boxes = sorted((n.x, n.y, n.y + n.height) for n in lineage.nodes)
    for (x1, _, bottom), (x2, top, _) in pairwise(boxes):
        assert x1 != x2 or bottom <= top, "two nodes of a layer overlap"
    assert all(n.x >= 0 and n.x + n.width <= lineage.width and n.y + n.height <= lineage.height for n in lineage.nodes)
    # a job's write edge goes right: the table it writes sits in a later layer, or the same (a cycle)
    layer = {n.id: n.layer for n in lineage.nodes}
    assert all(layer[e.target] >= layer[e.source] for e in lineage.edges)
    assert {e.kind for e in lineage.edges} == {"read", "write", "maintain"}


# ----------------------------------------------------------------------------------------- CLI


def test_cli_report_from_a_file_a_folder_or_a_scan(sample_out: Path, tmp_path: Path) -> None:
    from_file = runner.invoke(
        app, ["report", str(sample_out / "analysis.json"), "--out", str(tmp_path / "a"), "--timestamp", TIMESTAMP]
    )
    assert from_file.exit_code == 0, from_file.output
    assert (tmp_path / "a" / "report.html").read_text() == (sample_out / "report.html").read_text()
    assert (tmp_path / "a" / "analysis.json").read_text() == (sample_out / "analysis.json").read_text()
    scanned = runner.invoke(app, ["report", str(SAMPLES), "--out", str(tmp_path / "b")], env={"SOURCE_DATE_EPOCH": "0"})
    assert scanned.exit_code == 0, scanned.output
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["analysis.json", "report.html", "report.md"]
    data = embedded_data((tmp_path / "b" / "report.html").read_text())
    assert data["generated_at"] == "1970-01-01T00:00:00Z"
    assert set(data["summary"]["by_status"]) >= {"none"} and data["summary"]["by_status"]["none"] == len(data["jobs"])


def test_the_report_writes_analysis_json_in_pieces(
    sample_out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Never as one indented string (264 MB for 10,000 DAGs, with json.dumps's token list besides)."""
    kinds: dict[str, type] = {}
    real = report_module.write_atomically
    monkeypatch.setattr(
        report_module, "write_atomically", lambda path, text: kinds.update({path.name: type(text)}) or real(path, text)
    )
    out = tmp_path / "out"
    assert runner.invoke(app, ["report", str(sample_out), "--out", str(out), "--timestamp", TIMESTAMP]).exit_code == 0
    assert kinds["report.html"] is str and kinds["analysis.json"] is not str
    assert (out / "analysis.json").read_bytes() == (sample_out / "analysis.json").read_bytes()


def test_cli_report_usage_errors(sample_out: Path, tmp_path: Path) -> None:
    assert runner.invoke(app, ["report", str(tmp_path / "missing")]).exit_code == 2
    repo = write_tree(tmp_path / "repo", {"dags/empty.py": "x = 1\n"})
    assert runner.invoke(app, ["report", str(repo)]).exit_code == 2  # a scan needs --out
    # an analysis.json that is not the report's input is not replaced without --force
    replaced = runner.invoke(app, ["report", str(repo), "--out", str(sample_out)])
    assert replaced.exit_code == 2 and "--force" in replaced.output
    (tmp_path / "bad.json").write_text('{"schema_version": 9}')
    assert runner.invoke(app, ["report", str(tmp_path / "bad.json"), "--out", str(tmp_path / "c")]).exit_code == 2
    assert runner.invoke(app, ["report", str(sample_out), "--timestamp", "yesterday"]).exit_code == 2


@pytest.mark.slow
def test_migrate_ends_with_a_report_traced_to_analysis_json(tmp_path: Path) -> None:
    """The whole run, JVM included: planner and equivalence rates come from analysis.json."""
    result = runner.invoke(app, ["migrate", str(SAMPLES), "--out", str(tmp_path), "--force"])
    assert result.exit_code == 0, result.output
    assert f"report: {tmp_path / 'report.html'}" in result.output
    document = json.loads((tmp_path / "analysis.json").read_text(encoding="utf-8"))
    summary = embedded_data((tmp_path / "report.html").read_text(encoding="utf-8"))["summary"]
    validation = Counter(job["validation"]["status"] for job in document["jobs"])
    equivalence = Counter(job["equivalence"]["status"] for job in document["jobs"])
    assert validation["passed"] > 0 and equivalence["equal"] > 0
    assert summary["planner_pass_rate"] == round(
        validation["passed"] / (validation["passed"] + validation["failed"]), 4
    )
    compared = equivalence["equal"] + equivalence["different"]
    assert summary["equivalence_rate"] == round(equivalence["equal"] / compared, 4)
    different = [
        job for job in document["jobs"] if job["equivalence"]["status"] == "different" and job["equivalence"]["diff"]
    ]
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    for job in different:  # the row diff is on the page
        assert str(escape(job["equivalence"]["diff"][-1])) in html


def test_a_live_airflow_history_adds_the_batch_hours_it_replaces() -> None:
    assert _cost_figures({}) == ()
    (figure,) = _cost_figures({"airflow": {"batch_hours_per_day": 2.5}})
    assert (figure.key, figure.value) == ("batch_hours_per_day", "2.5 h")
    assert figure.source.startswith("airflow.batch_hours_per_day")
