"""The report in a real browser: Debian's chromium (installed by .ci/setup.d/30-chromium.sh), driven
by playwright through `executable_path` (never `playwright install`).

The page is opened from a file:// URL with every other request aborted and recorded: it must load
with no console error, fetch nothing, run none of the script payloads planted in the samples
(edge_cases/xss_payload_dag.py) and show them as text; search, filters, the lineage graph and the
links between jobs must work. A screenshot of the summary lands in tests/artifacts/.

Without chromium or playwright the tests are skipped with the reason, except in CI (`CI` set),
where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from analyzer.cli import app

from .conftest import TESTS
from .reporting import build_sample_report, embedded_data

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("KAPPA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = TESTS / "artifacts"
SCREENSHOT = ARTIFACTS / "report-summary.png"
XSS_JOB = 'edge_xss_payloads.count_<svg onload="window.__xss = 3">'


def missing_browser() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed: python -m pip install -e '.[dev]'"
    if not Path(CHROMIUM).is_file():
        return f"Debian's chromium is not installed at {CHROMIUM}: run .ci/setup (needs root for apt-get)"
    return None


class Page:
    """A playwright page on the report, with what the browser logged and what it tried to fetch."""

    def __init__(self, page: Any, url: str) -> None:
        self.page = page
        self.url = url
        self.problems: list[str] = []
        self.blocked: list[str] = []
        self.requested: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("request", lambda r: self.requested.append(r.url))
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))

    def open(self, fragment: str = "") -> Any:
        self.page.goto(self.url + fragment)
        self.page.wait_for_load_state("load")
        return self.page

    def visible_cards(self) -> list[str]:
        ids: list[str] = self.page.eval_on_selector_all(
            "details.job", "cards => cards.filter(c => !c.hidden).map(c => c.dataset.job)"
        )
        return ids


def wait_open(tab: Any, anchor: str) -> Any:
    """The job card `anchor`, once the page has opened it (links move the hash; the page's
    hashchange handler opens the card a moment later)."""
    tab.wait_for_function(
        "id => { const c = document.getElementById(id); return c && c.open && !c.hidden; }", arg=anchor
    )
    return tab.locator(f"details.job[id='{anchor}']")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_report(tmp_path_factory.mktemp("browser")) / "report.html"


@pytest.fixture(scope="module")
def data(report_file: Path) -> Any:
    return embedded_data(report_file.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = missing_browser()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional, imported once known present

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


def _no_network(blocked: list[str]) -> Any:
    def handle(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    return handle


@pytest.fixture()
def page(browser: Any, report_file: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = Page(context.new_page(), report_file.as_uri())
    context.route("**/*", _no_network(opened.blocked))
    yield opened
    assert opened.blocked == [], f"the page tried to reach the network: {opened.blocked}"
    assert set(opened.requested) <= {opened.url}, f"the page fetched more than itself: {opened.requested}"
    assert opened.problems == []
    context.close()


def test_loads_clean_and_keeps_a_screenshot(page: Page, data: Any) -> None:
    tab = page.open()
    assert tab.title().startswith("Migration report")
    assert tab.inner_text("#filter-count") == f"{len(data['jobs'])} of {len(data['jobs'])} jobs"
    for figure in data["summary"]["figures"]:
        assert tab.inner_text(f"#figure-{figure['key']} .value") == figure["value"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.locator("#summary").screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


def test_planted_payloads_show_as_text_and_never_run(page: Page, data: Any) -> None:
    tab = page.open()
    dag = tab.locator("#dags tr", has_text="edge_xss_payloads")
    dag.locator("details.doc summary").click()
    assert "<script>window.__xss = 1</script><img src=x onerror=" in dag.locator("pre.doc-md").inner_text()
    assert '<b onmouseover="window.__xss = 5">order checks</b>' in dag.inner_text()
    dag.hover()
    job = next(j for j in data["jobs"] if j["id"] == XSS_JOB)
    tab.goto(page.url + "#" + job["anchor"])
    card = wait_open(tab, job["anchor"])
    assert XSS_JOB in card.locator("summary .job-id").inner_text()
    assert "-- </script><script>window.__xss = 4</script><!--" in card.locator("pre.sql").inner_text()
    tab.locator(f"#lineage-graph a.node[href='#{job['anchor']}']").hover()
    tab.fill("#filter-q", "window.__xss")  # searching the payload finds the job, as text
    assert page.visible_cards() == [XSS_JOB]
    state = tab.evaluate(
        """() => ({
            xss: window.__xss === undefined ? null : window.__xss,
            scripts: document.scripts.length,
            images: document.images.length,
            handlers: Array.from(document.querySelectorAll('*')).flatMap(
                el => Array.from(el.attributes).map(a => a.name)).filter(n => n.startsWith('on')),
            markup: document.querySelectorAll('svg svg, b[onmouseover], img, iframe').length
        })"""
    )
    assert state == {"xss": None, "scripts": 2, "images": 0, "handlers": [], "markup": 0}


def test_search_and_filters(page: Page, data: Any) -> None:
    tab = page.open()
    jobs = data["jobs"]
    tab.fill("#filter-q", "lake.daily_sales")
    expected = [j["id"] for j in jobs if "lake.daily_sales" in " ".join([j["id"], *j["reads"], *j["writes"], j["sql"]])]
    assert page.visible_cards() == expected and len(expected) >= 3
    assert tab.inner_text("#filter-count") == f"{len(expected)} of {len(jobs)} jobs"
    tab.click("#filter-reset")
    for control, field, value in (
        ("#filter-pattern", "pattern", "optimize"),
        ("#filter-class", "classification", "sink-update"),
        ("#filter-status", "status", "retired"),
        ("#filter-dag", "dag_id", "lake_daily_sales"),
    ):
        tab.select_option(control, value)
        assert page.visible_cards() == [j["id"] for j in jobs if j[field] == value], control
        hidden_rows = tab.eval_on_selector_all("#actions tr[data-job]", "rows => rows.filter(r => r.hidden).length")
        assert hidden_rows == sum(1 for j in jobs if j[field] != value and j["effort_hours"] > 0)
        dimmed = tab.eval_on_selector_all("#lineage-graph a.node.dim", "nodes => nodes.length")
        assert dimmed == sum(1 for j in jobs if j[field] != value)
        tab.click("#filter-reset")
    tab.select_option("#filter-pattern", "fix")
    tab.select_option("#filter-status", "retired")
    both = [j["id"] for j in jobs if j["pattern"] == "fix" and j["status"] == "retired"]
    assert page.visible_cards() == both and both
    tab.click("#expand-all")
    assert tab.eval_on_selector_all("details.job[open]", "cards => cards.length") == len(both)


def test_graph_nodes_open_their_job(page: Page, data: Any) -> None:
    tab = page.open()
    job = next(j for j in data["jobs"] if j["id"] == "lake_daily_sales.build_daily_sales")
    node = tab.locator(f"#lineage-graph a.node[data-node='task:{job['id']}']")
    node.hover()
    lit = tab.eval_on_selector_all("#lineage-graph .edge.hl", "edges => edges.length")
    assert lit == len(job["reads"]) + len(job["writes"])
    node.click()
    card = wait_open(tab, job["anchor"])
    assert tab.evaluate("location.hash") == "#" + job["anchor"] and card.is_visible()
    assert card.evaluate("el => el.getBoundingClientRect().top") < 400
    tab.click("#zoom-in")
    zoomed, natural = (tab.get_attribute("#lineage-graph", name) or "0" for name in ("width", "data-width"))
    assert float(zoomed) > float(natural)


def test_links_between_jobs(page: Page, data: Any) -> None:
    """Wave chips, action rows and a retired job's reason (naming the job it folds into) open cards,
    even when a filter had hidden the target."""
    tab = page.open()
    fix = next(j for j in data["jobs"] if j["id"] == "lake_late_data_fix.restate_daily_sales")
    owner = next(j for j in data["jobs"] if j["id"] == "lake_daily_sales.build_daily_sales")
    tab.click(f"#waves a.chip[href='#{fix['anchor']}']")
    fix_card = wait_open(tab, fix["anchor"])
    tab.select_option("#filter-pattern", "fix")  # hides the owner's card
    fix_card.locator(f"dd a[href='#{owner['anchor']}']").click()
    assert wait_open(tab, owner["anchor"]).is_visible()
    assert tab.input_value("#filter-pattern") == ""
    tab.click("#collapse-all")
    tab.click(f"#actions a[href='#{fix['anchor']}']")
    assert wait_open(tab, fix["anchor"]).is_visible()


def test_readable_without_javascript(browser: Any, report_file: Path, data: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    tab.goto(report_file.as_uri())
    assert tab.locator("#summary").is_visible()
    for figure in data["summary"]["figures"]:
        assert tab.inner_text(f"#figure-{figure['key']} .value") == figure["value"]
    assert tab.locator("#pattern-class").is_visible()
    assert not tab.locator(".filters").is_visible()  # controls that need scripts stay hidden
    assert tab.locator("details.job").count() == len(data["jobs"])
    context.close()


def test_printable(page: Page, data: Any) -> None:
    tab = page.open()
    tab.emulate_media(media="print")
    assert not tab.locator("nav.toc").is_visible()
    assert tab.locator("#summary").is_visible()
    tab.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert tab.eval_on_selector_all("details.job[open]", "cards => cards.length") == len(data["jobs"])
    assert tab.eval_on_selector_all("details:not([open])", "folds => folds.length") == 0
    tab.evaluate("window.dispatchEvent(new Event('afterprint'))")
    assert tab.eval_on_selector_all("details.job[open]", "cards => cards.length") == 0
    assert len(tab.pdf(format="A4")) > 50_000


@pytest.fixture(scope="module")
def per_dag_report(report_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("per-dag")
    result = CliRunner().invoke(app, ["report", str(report_file.parent), "--out", str(out), "--layout", "per-dag"])
    assert result.exit_code == 0, result.output
    return out / "report.html"


def test_per_dag_pages(browser: Any, per_dag_report: Path) -> None:
    """report.html lists the jobs and filters the list; a job's link opens its card on its DAG's
    page, which searches its jobs' SQL and leads back; nothing leaves the report's folder."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = Page(context.new_page(), per_dag_report.as_uri())
    context.route("**/*", _no_network(opened.blocked))
    tab = opened.open()
    jobs = embedded_data(per_dag_report.read_text(encoding="utf-8"))["jobs"]
    assert tab.locator("details.job").count() == 0
    tab.fill("#filter-q", "lake.daily_sales")
    visible_rows = "rows => rows.filter(r => !r.hidden).map(r => r.dataset.job)"
    shown = tab.eval_on_selector_all("#jobs tr[data-job]", visible_rows)
    expected = [j["id"] for j in jobs if "lake.daily_sales" in " ".join([j["id"], *j["reads"], *j["writes"]])]
    assert shown == expected and len(expected) >= 3
    tab.click("#filter-reset")
    owner = next(j for j in jobs if j["id"] == "lake_daily_sales.build_daily_sales")
    tab.click(f"#jobs tr[data-job='{owner['id']}'] a[href$='#{owner['anchor']}']")
    card = wait_open(tab, owner["anchor"])
    assert tab.url.endswith(f"/report/dag-lake_daily_sales.html#{owner['anchor']}") and card.is_visible()
    assert "<svg" in tab.content() and tab.locator("#lineage-graph a.node").count() >= 1
    tab.fill("#filter-q", "merge into")  # the SQL, searched on the DAG's page
    visible = opened.visible_cards()
    assert visible and all(j.startswith("lake_daily_sales.") for j in visible)
    tab.click("nav.toc a[href='../report.html#summary']")
    tab.wait_for_load_state("load")
    assert tab.url.endswith("/report.html#summary")
    folder = per_dag_report.parent.as_uri()
    assert opened.blocked == [] and all(url.startswith(folder) for url in opened.requested)
    assert opened.problems == []
    context.close()


def test_per_dag_job_list_shows_the_first_matches(
    browser: Any, report_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script lists the first PER_DAG_ROWS jobs that match, from the data, and says when it cut."""
    import generators.report  # noqa: PLC0415 - patched here only

    monkeypatch.setattr(generators.report, "PER_DAG_ROWS", 3)
    result = CliRunner().invoke(app, ["report", str(report_file.parent), "--out", str(tmp_path), "--layout", "per-dag"])
    assert result.exit_code == 0, result.output
    context = browser.new_context()
    opened = Page(context.new_page(), (tmp_path / "report.html").as_uri())
    context.route("**/*", _no_network(opened.blocked))
    tab = opened.open()
    rows = "rows => rows.map(r => r.dataset.job)"
    jobs = embedded_data((tmp_path / "report.html").read_text(encoding="utf-8"))["jobs"]
    assert tab.eval_on_selector_all("#job-rows tr", rows) == [j["id"] for j in jobs[:3]]
    assert tab.locator("#job-list-cut").is_visible()
    tab.select_option("#filter-dag", "lake_daily_sales")
    expected = [j["id"] for j in jobs if j["dag_id"] == "lake_daily_sales"]
    assert tab.eval_on_selector_all("#job-rows tr", rows) == expected[:3] and len(expected) > 3
    tab.fill("#filter-q", "build_daily_sales")
    assert tab.eval_on_selector_all("#job-rows tr", rows) == ["lake_daily_sales.build_daily_sales"]
    assert not tab.locator("#job-list-cut").is_visible()
    tab.click("#job-rows a[href$='#job-lake_daily_sales.build_daily_sales']")
    assert wait_open(tab, "job-lake_daily_sales.build_daily_sales").is_visible()
    assert opened.problems == [] and opened.blocked == []
    context.close()
