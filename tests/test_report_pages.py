"""The per-dag layout of `kappa report` (a page per DAG under `report/`, for repositories whose
jobs do not fit on one page): every card once, on its DAG's page; every link leads to a page and
an anchor that exist; each page offline, safe and deterministic like report.html; the layout chosen
by the job count; pages of an earlier report removed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import generators.report as report_module
import generators.workers
from analyzer.cli import app
from generators.report import INDEX_PAGE, PAGES_FOLDER, Layout, _page_files, build_report

from .reporting import TIMESTAMP, Elements, build_sample_report, embedded_data

runner = CliRunner()
PAYLOADS = ("<script>window.__xss", "<img src=x", "<svg onload", "<b onmouseover", "</script><script>")


def report(source: Path, out: Path, *options: str) -> Path:
    result = runner.invoke(app, ["report", str(source), "--out", str(out), "--timestamp", TIMESTAMP, *options])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_report(tmp_path_factory.mktemp("generated"))


@pytest.fixture(scope="module")
def document(generated: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((generated / "analysis.json").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def out(generated: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report(generated, tmp_path_factory.mktemp("pages"), "--layout", "per-dag")


def pages(out: Path) -> dict[str, str]:
    """Every page of the report (path relative to `out` -> text), report.html first."""
    files = [out / INDEX_PAGE, *sorted((out / PAGES_FOLDER).glob("*.html"))]
    return {path.relative_to(out).as_posix(): path.read_text(encoding="utf-8") for path in files}


def test_every_job_card_is_on_its_dags_page_once(out: Path, document: dict[str, Any]) -> None:
    texts = pages(out)
    index = texts.pop(INDEX_PAGE)
    assert '<details class="job"' not in index
    dag_ids = {job["dag_id"] for job in document["jobs"]} | {dag["dag_id"] for dag in document["dags"]}
    assert len(texts) == len(dag_ids)
    cards: Counter[str] = Counter()
    for name, text in texts.items():
        data = embedded_data(text)
        shown = re.findall(r'<details class="job" id="[^"]*" data-job="([^"]*)"', text)
        assert [job["id"] for job in data["jobs"]] == [html_text(job) for job in shown], name
        assert {job["dag_id"] for job in data["jobs"]} <= {data["dag_id"]}
        assert all("sql" in job for job in data["jobs"])  # each page searches its jobs' SQL
        cards.update(job["id"] for job in data["jobs"])
    assert cards == Counter(job["id"] for job in document["jobs"])
    listed = embedded_data(index)
    assert listed["layout"] == "per-dag" and not any("sql" in job for job in listed["jobs"])
    assert {d["dag_id"]: d["page"] for d in listed["dags"]}.keys() == {d["dag_id"] for d in document["dags"]}
    assert len(re.findall(r'<tr data-job="', index)) >= len(document["jobs"])  # the job table


def html_text(value: str) -> str:
    """An attribute's text as the page's data has it (the card's data-job is escaped markup)."""
    return (
        value.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&amp;", "&")
    )


def test_every_link_leads_to_a_page_and_an_anchor_that_exist(out: Path) -> None:
    texts = pages(out)
    ids = {name: set(re.findall(r' id="([^"]+)"', text)) for name, text in texts.items()}
    followed = 0
    for name, text in texts.items():
        for tag, attrs in Elements(text).found:
            href = attrs.get("href")
            if tag != "a" or href is None:
                continue
            path, _, anchor = href.partition("#")
            target = (Path(name).parent / path).as_posix() if path else name
            target = str(Path(target)).replace("report/../", "")
            assert target in ids, f"{name}: {href} leads to no page"
            assert anchor in ids[target], f"{name}: {href} leads to no anchor"
            followed += 1
    assert followed > 3 * len(texts)


def test_every_page_is_offline_and_safe(out: Path) -> None:
    for name, text in pages(out).items():
        elements = Elements(text).found
        assert not [tag for tag, _ in elements if tag in {"link", "img", "iframe", "object", "embed", "base", "form"}]
        attributes = {attribute for _, attrs in elements for attribute in attrs}
        assert not attributes & {"src", "srcset", "action", "formaction", "background", "poster"}
        assert not [attribute for attribute in attributes if attribute.startswith("on")], name
        assert re.findall(r"https?://[^\s\"'<]+", text) == ["http://www.w3.org/2000/svg"] * text.count("<svg"), name
        policy = next(a["content"] for t, a in elements if a.get("http-equiv") == "Content-Security-Policy")
        for part in (r"<script>(.*?)</script>", r"<style>(.*?)</style>"):
            inline = re.search(part, text, re.DOTALL)
            assert inline, name
            digest = base64.b64encode(hashlib.sha256(inline.group(1).encode("utf-8")).digest()).decode("ascii")
            assert policy and f"'sha256-{digest}'" in policy
        for payload in PAYLOADS:
            assert payload not in text, (name, payload)
    xss_page = next(text for name, text in pages(out).items() if "edge_xss_payloads" in name)
    assert "count_&lt;svg onload=&#34;window.__xss = 3&#34;&gt;" in xss_page


def test_each_dag_page_draws_its_own_lineage(out: Path, document: dict[str, Any]) -> None:
    """Its jobs' task nodes, and the tables at the other end of their read, write and maintain edges."""
    graph = document["graph"]
    kind = {node["id"]: node["kind"] for node in graph["nodes"]}
    drawn = 0
    for name, text in pages(out).items():
        if name == INDEX_PAGE:
            continue
        jobs = {job["id"] for job in embedded_data(text)["jobs"]}
        tasks = {node["id"] for node in graph["nodes"] if node["kind"] == "task" and node.get("job") in jobs}
        edges = [e for e in graph["edges"] if e["kind"] != "depends" and {e["source"], e["target"]} & tasks]
        tables = {end for e in edges for end in (e["source"], e["target"])} - tasks
        nodes = {html_text(node) for node in re.findall(r'data-node="([^"]*)"', text)}
        assert nodes == tasks | tables, name
        assert all(kind[table] == "table" for table in tables)
        # one drawn edge per pair of nodes, a maintenance edge pointing from the table to its job
        pairs = {(e["target"], e["source"]) if e["kind"] == "maintain" else (e["source"], e["target"]) for e in edges}
        assert text.count('class="edge ') == len(pairs), name
        drawn += bool(tables)
    assert drawn > 10


def test_report_html_leaves_out_a_lineage_too_large_to_draw(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_module, "LINEAGE_NODES", 10)
    texts = pages(report(generated, tmp_path / "r", "--layout", "per-dag"))
    assert 'id="lineage-too-large"' in texts[INDEX_PAGE] and "<svg" not in texts[INDEX_PAGE]
    assert sum("<svg" in text for text in texts.values()) > 10
    single = report(generated, tmp_path / "s", "--layout", "single") / INDEX_PAGE
    assert "<svg" in single.read_text(encoding="utf-8")  # one page draws the whole graph, however large


def test_auto_puts_a_page_per_dag_past_the_job_limit(document: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_report(document, {}, TIMESTAMP).layout is Layout.SINGLE  # the samples fit on one page
    monkeypatch.setattr(report_module, "SINGLE_PAGE_JOBS", len(document["jobs"]) - 1)
    assert build_report(document, {}, TIMESTAMP).layout is Layout.PER_DAG
    assert build_report(document, {}, TIMESTAMP, Layout.SINGLE).layout is Layout.SINGLE


def test_pages_of_an_earlier_report_are_removed(generated: Path, tmp_path: Path) -> None:
    out = report(generated, tmp_path / "r", "--layout", "per-dag")
    (out / PAGES_FOLDER / "notes.txt").write_text("the user's")
    (out / PAGES_FOLDER / "dag-gone.html").write_text("a DAG deleted since")
    before = sorted(p.name for p in (out / PAGES_FOLDER).glob("dag-*.html"))
    report(generated, out, "--layout", "per-dag", "--force")
    after = sorted(p.name for p in (out / PAGES_FOLDER).glob("dag-*.html"))
    assert after == [name for name in before if name != "dag-gone.html"]
    report(generated, out, "--layout", "single", "--force")
    assert [p.name for p in (out / PAGES_FOLDER).iterdir()] == ["notes.txt"]
    (out / PAGES_FOLDER / "notes.txt").unlink()
    report(generated, out, "--layout", "per-dag", "--force")
    report(generated, out, "--layout", "single", "--force")
    assert not (out / PAGES_FOLDER).exists()  # the folder went with the last of its pages


def test_the_command_tells_how_many_pages_it_wrote(generated: Path, out: Path, tmp_path: Path) -> None:
    again = tmp_path / "r"
    result = runner.invoke(
        app, ["report", str(generated), "--out", str(again), "--timestamp", TIMESTAMP, "--layout", "per-dag"]
    )
    assert result.exit_code == 0, result.output
    written = len(pages(out)) - 1
    assert written > 1 and f"a page for each of {written} DAGs" in " ".join(result.output.split())


def test_same_input_same_pages(generated: Path, out: Path, tmp_path: Path) -> None:
    assert pages(report(generated, tmp_path / "again", "--layout", "per-dag")) == pages(out)


def test_page_names_are_short_and_distinct_on_case_insensitive_file_systems() -> None:
    anchors = {"Daily": "dag-Daily", "daily": "dag-daily", "x" * 300: "dag-" + "x" * 300, "a": "dag-a"}
    files = _page_files(anchors)
    assert files["a"] == "report/dag-a.html"
    assert len({name.casefold() for name in files.values()}) == len(anchors)
    assert max(len(Path(name).name) for name in files.values()) <= report_module.PAGE_NAME_CHARS + len("-12345678.html")


def test_report_html_lists_the_largest_actions(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a page per DAG, report.html's action list stops at PER_DAG_ACTIONS rows (10,000 DAGs had
    23,000, 9.7 MB); the job table still gives every job's hours."""
    monkeypatch.setattr(report_module, "PER_DAG_ACTIONS", 5)
    index = pages(report(generated, tmp_path / "r", "--layout", "per-dag"))[INDEX_PAGE]
    actions = re.search(r'<section id="actions">(.*?)</section>', index, re.DOTALL)
    assert actions and actions.group(1).count("<tr data-job=") == 5 and 'id="actions-cut"' in actions.group(1)
    listed = embedded_data(index)["jobs"]
    assert sum(job["effort_hours"] > 0 for job in listed) > 5


def test_pages_written_by_worker_processes_are_the_same(
    generated: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past PARALLEL_PAGES pages, worker processes render and write them (10,000 DAGs: 175 -> 128 s)."""
    pools: list[int] = []
    real_pool = generators.workers.ProcessPoolExecutor

    def counted_pool(workers: int, **options: Any) -> Any:
        pools.append(workers)
        return real_pool(workers, **options)

    monkeypatch.setattr(generators.workers, "PARALLEL_PAGES", 1)
    monkeypatch.setattr(generators.workers, "ProcessPoolExecutor", counted_pool)
    again = report(generated, tmp_path / "r", "--layout", "per-dag", "--jobs", "2")
    assert pools == [2]
    assert pages(again) == pages(out)


def test_report_html_lists_the_first_jobs_and_chips(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a page per DAG, report.html's job list holds the first PER_DAG_ROWS jobs (its script
    lists the first that match a filter, from the data, which has every job and its links) and each
    wave the first PER_DAG_CHIPS: 23,000 rows and chips made a 10,000-DAG page stall."""
    monkeypatch.setattr(report_module, "PER_DAG_ROWS", 5)
    monkeypatch.setattr(report_module, "PER_DAG_CHIPS", 2)
    index = pages(report(generated, tmp_path / "r", "--layout", "per-dag"))[INDEX_PAGE]
    rows = re.search(r'<tbody id="job-rows">(.*?)</tbody>', index, re.DOTALL)
    assert rows and rows.group(1).count("<tr data-job=") == 5
    assert re.search(r'<p id="job-list-cut">', index) and 'data-limit="5"' in index
    waves = re.search(r'<section id="waves">(.*?)</section>', index, re.DOTALL)
    assert waves and all(chips.count('class="chip ') <= 2 for chips in waves.group(1).split("<li "))
    assert "more (the job table gives each job's wave)" in waves.group(1)
    listed = embedded_data(index)["jobs"]
    assert all(job["href"].startswith("report/dag-") and "#job-" in job["href"] for job in listed)


def test_readiness_is_counted_on_report_html_and_answered_on_each_dag_page(out: Path, document: dict[str, Any]) -> None:
    """10,000 rows of four answers made report.html's longest table: with a page per DAG it counts
    the answers per question, and each DAG's page shows its own four."""
    entries = document["infra"]["readiness"]
    texts = pages(out)
    index = texts.pop(INDEX_PAGE)
    assert '<table class="readiness">' not in index
    ready = sum(all(c["status"] == "answered" for c in e["concerns"].values()) for e in entries)
    assert f"{ready} of {len(entries)} pipelines have every answer" in index
    for key in ("availability", "consistency", "late_data", "replay"):
        answered = sum(e["concerns"][key]["status"] == "answered" for e in entries)
        opened = sum(e["concerns"][key]["status"] == "open" for e in entries)
        label = dict(report_module.READINESS_CONCERNS)[key]
        assert f'<th scope="row">{label}</th><td class="num">{answered}</td><td class="num">{opened}</td>' in index
    by_dag = {e["dag_id"]: e for e in entries}
    shown = 0
    for text in texts.values():
        entry = by_dag.get(embedded_data(text)["dag_id"])
        statuses = re.findall(r'<td class="concern c-(\w+)">', text)
        if entry is None:
            assert statuses == []
            continue
        assert statuses == [entry["concerns"][key]["status"] for key, _ in report_module.READINESS_CONCERNS]
        shown += 1
    assert shown == len(entries) > 10
