"""`build_report(document, job_files, generated_at) -> Report`: the migration report a team reviews
before cutover, as a view model; then `render_html`, `render_markdown` and `report_data`.

The input is the analysis document (`analysis.json`, DESIGN.md §3) and the text of the job files
`kappa generate` wrote beside it; every figure is computed from those two and says how
(`Figure.source`), so a reader can check any number against `analysis.json`. Everything below is
a pure function of its arguments except `load_job_files` and `write_report`, the I/O edges.

- **Summary**: jobs by pattern x class, by outcome (generated / retired / manual), the share
  convertible (generated or retired, over all jobs), the planner pass rate (`validation`), the
  equivalence rate (`equivalence`) and the effort estimate.
- **Effort**: an explicit rule table, `EFFORT_RULES` (first match on outcome, pattern, class and
  SQL status gives a job its base hours and its action), plus `EFFORT_EXTRAS` (per TODO, failed
  planner, different rows). The page prints both tables.
- **Waves**: the lineage graph's migration waves (`graph.waves`, topological generations of the
  job graph).
- **Lineage graph**: laid out here, in Python, from the networkx graph (`layout_lineage`): layers
  are the topological generations of the graph's condensation (a cycle shares a layer), the order
  inside a layer comes from barycentre sweeps with ties broken by node id, so the picture is
  deterministic. The SVG is inline; a task node links to its job's card without JavaScript.
- **SQL**: highlighted at render time with sqlglot's tokenizer (`highlight_sql`): spans of escaped
  text, no JavaScript, nothing fetched.

The page is one file: autoescaped Jinja, CSS and JS inlined (their SHA-256 in the page's
Content-Security-Policy, so nothing else can run or load), the report's data embedded as JSON
with `<`, `>`, `&` and `'` escaped, readable without JavaScript for everything but the filters,
and byte-identical for the same input but for `generated_at`.

- **Layout**: past `SINGLE_PAGE_JOBS` jobs one file stops being readable (1,000 synthetic DAGs
  made a 62 MB page, 10,000 a 620 MB one), so each DAG's job cards and its part of the lineage go
  to a page of its own (`report/<dag>.html`, `dag_pages`, `render_dag_page`), self-contained in the
  same way; report.html keeps everything else and a table of the jobs. Links between pages are
  relative (`_link_maker`), so the folder can be moved or served as it is.

    >>> [(s.css, s.text) for s in highlight_sql("SELECT 'a' -- x", "postgres")]
    [('k', 'SELECT'), ('', ' '), ('s', "'a'"), ('', ' '), ('c', '-- x')]
    >>> md_code("a|b"), md_text("<b>*x*</b>")
    ('`a\\\\|b`', '\\\\<b\\\\>\\\\*x\\\\*\\\\</b\\\\>')
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import networkx as nx
from markupsafe import Markup
from sqlglot import Dialect, TokenType
from sqlglot.errors import SqlglotError
from sqlglot.tokenizer_core import Token

from analyzer.contract import iter_json
from analyzer.errors import UsageError
from analyzer.resources import render_template

from . import flink_dialect  # noqa: F401 - registers the "flink" dialect with sqlglot
from .output import resolve_inside, write_atomically

__all__ = [
    "CLASSES",
    "EFFORT_EXTRAS",
    "EFFORT_RULES",
    "PATTERNS",
    "REPORT_FILES",
    "STATUSES",
    "DagPage",
    "Layout",
    "PageSite",
    "PagesWriter",
    "Report",
    "build_report",
    "dag_pages",
    "embedded_json",
    "highlight_sql",
    "layout_lineage",
    "load_analysis",
    "load_job_files",
    "md_code",
    "md_text",
    "render_dag_page",
    "render_html",
    "render_markdown",
    "report_data",
    "resolve_timestamp",
    "write_dag_page",
    "write_pages_here",
    "write_report",
]

REPORT_SCHEMA = "kappa-report/1"
REPORT_FILES = ("report.html", "report.md", "analysis.json")
INDEX_PAGE = "report.html"
PAGES_FOLDER = "report"  # beside report.html: one page per DAG when the jobs do not fit on one
SINGLE_PAGE_JOBS = 500  # `auto`: more jobs than this and each DAG's job cards go to a page of its own
PER_DAG_ACTIONS = 500  # rows of report.html's action list with the per-dag layout (its job table has all)
# with the per-dag layout, report.html lists this many of the jobs that match its filters (drawn by
# its script from the embedded data) and this many jobs per wave: 23,000 rows and chips made a
# 10,000-DAG page stall for minutes at each key typed in the search
PER_DAG_ROWS = 500
PER_DAG_CHIPS = 100
LINEAGE_NODES = 2_000  # report.html draws the whole lineage up to this many nodes (4.0 MB of SVG at 4,000)
PAGE_NAME_CHARS = 100
PATTERNS = ("transform", "fix", "reprocess", "optimize", "none")
CLASSES = ("stateless", "stateful", "sink-update", "none")
STATUSES = ("generated", "retired", "manual", "none")  # jobs[].generated.status
# jobs[].origin -> what the report calls it: an Airflow task, a dbt model, a query file
ORIGINS = {"dag": "Airflow DAG", "dbt": "dbt project", "sql_file": "SQL folder"}
VALIDATION = ("passed", "failed", "skipped")
EQUIVALENCE = ("equal", "different", "skipped")
ANY = "*"
HOURS_PER_DAY = 8
MARKDOWN_LIMIT = 60_000  # a GitHub comment holds 65,536 characters
MARKDOWN_ACTIONS = 25  # rows of the action list in report.md; the page has them all
TODO = re.compile(r"^\s*--\s*TODO\(kappa\):\s*(?P<text>.*?)\s*$", re.MULTILINE)


class Layout(StrEnum):
    """Where the job cards go: `single` puts every card in report.html (one file, SQL search on
    the page); `per-dag` gives each DAG a page of its own under `report/` (report.html keeps the
    summary and a table of every job), so a report of thousands of DAGs opens in a browser;
    `auto` is `single` up to `SINGLE_PAGE_JOBS` jobs."""

    AUTO = "auto"
    SINGLE = "single"
    PER_DAG = "per-dag"


# ------------------------------------------------------------------------------------ effort


@dataclass(frozen=True)
class EffortRule:
    """Base hours for a job; the first rule whose fields all match (`*` matches anything) wins."""

    status: str  # jobs[].generated.status
    pattern: str
    classification: str
    sql_status: str
    hours: float
    action: str

    def matches(self, job: Mapping[str, Any]) -> bool:
        values = (_status_of(job), job.get("pattern"), job.get("classification"), job.get("sql_status"))
        wanted = (self.status, self.pattern, self.classification, self.sql_status)
        return all(w in (ANY, v) for w, v in zip(wanted, values, strict=True))


@dataclass(frozen=True)
class EffortExtra:
    """Hours added on top of the base, once per occurrence."""

    key: str  # todo | validation-failed | equivalence-different
    hours: float
    when: str


# Hours are a reviewer's and an engineer's time to take the job to production, not compute time.
EFFORT_RULES: tuple[EffortRule, ...] = (
    EffortRule(
        "retired", "optimize", ANY, ANY, 0.5, "Delete the maintenance task; set the sink options named in the reason."
    ),
    EffortRule(
        "retired",
        "fix",
        ANY,
        ANY,
        1.0,
        "Delete the fix task once its producer streams; check the fold (lateness, applied corrections).",
    ),
    EffortRule(
        "retired",
        "reprocess",
        ANY,
        ANY,
        1.0,
        "Replace the back-fill by the replay plan (savepoint, replay from offsets).",
    ),
    EffortRule("retired", ANY, ANY, ANY, 1.0, "Delete the task once the job that replaces it streams."),
    EffortRule("generated", ANY, "stateless", ANY, 2.0, "Deploy the job: create its topics, run it."),
    EffortRule(
        "generated", ANY, "sink-update", ANY, 3.0, "Deploy the job; check the upsert key against the sink table."
    ),
    EffortRule(
        "generated",
        ANY,
        "stateful",
        ANY,
        4.0,
        "Deploy the job; size its state (TTL, checkpoints) and check the upsert key.",
    ),
    EffortRule("generated", ANY, ANY, ANY, 3.0, "Deploy the job and review it."),
    EffortRule("manual", ANY, ANY, "opaque", 8.0, "Rewrite the task's code by hand: the scanner cannot see into it."),
    EffortRule("manual", ANY, ANY, "unparsed", 4.0, "Fix the SQL so that it parses, then generate again."),
    EffortRule(
        "manual", "none", ANY, ANY, 1.0, "Read-only check: turn it into a monitoring query on the sink, or drop it."
    ),
    EffortRule(
        "manual", ANY, ANY, ANY, 6.0, "Write the streaming job by hand (from job.draft.sql where there is one)."
    ),
    EffortRule(ANY, ANY, ANY, ANY, 2.0, "Not generated yet: run `kappa generate`, then review."),
)
EFFORT_EXTRAS: tuple[EffortExtra, ...] = (
    EffortExtra("todo", 1.0, "per `TODO(kappa)` line in the job file"),
    EffortExtra("validation-failed", 4.0, "when the Flink planner rejects the job (validation failed)"),
    EffortExtra(
        "equivalence-different", 4.0, "when the stream's rows differ from the batch rows (equivalence different)"
    ),
)


@dataclass(frozen=True)
class Effort:
    hours: float
    rule: int  # 1-based position in EFFORT_RULES
    action: str
    extras: tuple[tuple[str, float], ...] = ()  # (EffortExtra.key, hours added)


def estimate_effort(job: Mapping[str, Any], todos: int) -> Effort:
    """A job's hours: its first matching rule, plus the extras that apply."""
    number, rule = next((i, r) for i, r in enumerate(EFFORT_RULES, start=1) if r.matches(job))
    counts = {
        "todo": todos,
        "validation-failed": int(_result(job, "validation")[0] == "failed"),
        "equivalence-different": int(_result(job, "equivalence")[0] == "different"),
    }
    extras = tuple((e.key, e.hours * counts[e.key]) for e in EFFORT_EXTRAS if counts[e.key])
    return Effort(rule.hours + sum(h for _, h in extras), number, rule.action, extras)


# ------------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class Span:
    """A piece of highlighted SQL: `css` is k(eyword), s(tring), n(umber), c(omment), f(unction),
    i(dentifier, quoted) or empty for plain text."""

    css: str
    text: str


@dataclass(frozen=True)
class SqlLine:
    number: int
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class SqlBlock:
    """A statement or job file to show. Highlighted when rendered, not before: the spans of
    every job at once (millions for a thousand DAGs) held the report's memory."""

    title: str  # file:line of an original statement, or the job file's path
    dialect: str
    sql: str
    first_line: int = 1  # the statement's line in its file

    @property
    def lines(self) -> tuple[SqlLine, ...]:
        return _lines(highlight_sql(self.sql, self.dialect), self.first_line)

    def text(self) -> str:
        return self.sql

    def html(self) -> Markup:
        """The content of the block's `<pre>`: numbered lines of highlighted, escaped spans."""
        return Markup("".join(_line_html(line) for line in self.lines))


@dataclass(frozen=True)
class FindingView:
    code: str
    name: str
    message: str
    location: str  # file:line:col


@dataclass(frozen=True)
class ResultView:
    """A job's validation or equivalence verdict."""

    status: str
    message: str
    diff: tuple[str, ...] = ()
    batch_rows: int | None = None
    stream_rows: int | None = None


@dataclass(frozen=True)
class TextPart:
    """Text, or a link to a job's card when `anchor` is set."""

    text: str
    anchor: str = ""


@dataclass(frozen=True)
class JobView:
    id: str
    anchor: str
    origin: str  # dag | dbt | sql_file: an Airflow task, a dbt model, a query file
    dag_id: str
    dag_anchor: str
    task_id: str
    location: str  # file:line of the task
    operator: str
    dialect: str
    sql_status: str
    pattern: str
    classification: str
    sink_mode: str
    upsert_key: tuple[str, ...]
    state_ttl_days: int | None
    allowed_lateness_days: int | None
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    status: str
    reason: tuple[TextPart, ...]
    job_path: str
    job_file_found: bool
    original: tuple[SqlBlock, ...]
    flink: SqlBlock | None
    evidence: tuple[FindingView, ...]  # F/O/R: why the job has its pattern
    reasons: tuple[FindingView, ...]  # C4xx: why it has its class
    other_findings: tuple[FindingView, ...]  # scan errors, generation and validation notes
    validation: ResultView
    equivalence: ResultView
    todos: tuple[str, ...]
    effort: Effort
    wave: int  # 1-based, 0 when the job is in no wave


@dataclass(frozen=True)
class Figure:
    """One number of the summary, with the way it is computed from analysis.json."""

    key: str
    label: str
    value: str
    source: str


@dataclass(frozen=True)
class Summary:
    jobs: int
    dags: int
    patterns: tuple[str, ...]
    classes: tuple[str, ...]
    matrix: tuple[tuple[str, tuple[int, ...], int], ...]  # (pattern, count per class, total)
    class_totals: tuple[int, ...]
    statuses: tuple[tuple[str, int], ...]
    validation: tuple[tuple[str, int], ...]
    equivalence: tuple[tuple[str, int], ...]
    convertible: int
    convertible_share: float | None
    planner_pass_rate: float | None
    equivalence_rate: float | None
    effort_hours: float
    sql_parse_rate: float | None
    figures: tuple[Figure, ...]
    origins: tuple[tuple[str, int], ...] = ()  # jobs by origin, in ORIGINS order


@dataclass(frozen=True)
class WaveView:
    number: int
    jobs: tuple[tuple[str, str, str], ...]  # (job id, anchor, status)
    statuses: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str  # task | table
    label: str
    sublabel: str
    title: str
    x: float
    y: float
    width: float
    height: float
    layer: int
    job: str  # job id for a task node, "" for a table
    anchor: str
    pattern: str
    classification: str
    status: str


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    kind: str  # read | write | maintain | depends
    path: str  # SVG path data


@dataclass(frozen=True)
class Lineage:
    width: float
    height: float
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True)
class DagView:
    dag_id: str
    anchor: str
    origin: str  # the origin of its jobs: dag, dbt (a project), sql_file (a folder)
    location: str
    schedule: str
    catchup: str
    description: str
    doc_md: str
    jobs: tuple[tuple[str, str], ...]  # (job id, anchor)


READINESS_CONCERNS = (
    ("availability", "Data in the log and its retention"),
    ("consistency", "Consistency (exactly-once)"),
    ("late_data", "Late data"),
    ("replay", "Reprocessing and backfill"),
)


@dataclass(frozen=True)
class ReadinessView:
    """One pipeline (DAG) against the four questions to answer before the batch layer goes."""

    dag_id: str
    anchor: str
    concerns: tuple[tuple[str, str, str], ...]  # (concern label, answered | open, the answer)

    @property
    def ready(self) -> bool:
        return all(status == "answered" for _, status, _ in self.concerns)


@dataclass(frozen=True)
class Report:
    generated_at: str
    tool: str
    summary: Summary
    waves: tuple[WaveView, ...]
    lineage: Lineage
    dags: tuple[DagView, ...]
    jobs: tuple[JobView, ...]
    actions: tuple[JobView, ...]  # jobs by effort, most first
    scan_findings: tuple[FindingView, ...]  # file-level findings (E-codes)
    readiness: tuple[ReadinessView, ...] = ()  # from analysis.json `infra.readiness` (kappa generate)
    layout: Layout = Layout.SINGLE  # never AUTO: build_report decides
    pages: Mapping[str, str] = field(default_factory=dict)  # dag_id -> its page (per-dag layout)
    lineage_size: tuple[int, int] = (0, 0)  # nodes and edges of the data lineage, drawn or not

    @property
    def lineage_drawn(self) -> bool:
        return bool(self.lineage.nodes) or not self.lineage_size[0]

    @property
    def readiness_counts(self) -> tuple[tuple[str, int, int], ...]:
        """Each readiness question: how many pipelines answer it, how many leave it open."""
        counts = Counter((label, status) for view in self.readiness for label, status, _ in view.concerns)
        return tuple((label, counts[label, "answered"], counts[label, "open"]) for _, label in READINESS_CONCERNS)

    @property
    def site(self) -> PageSite:
        return PageSite(self.generated_at, self.tool, self.summary, self.page_of)

    @cached_property
    def page_of(self) -> Mapping[str, str]:
        """Anchor -> the page that holds it (relative to the report folder); anchors on no page
        of their own (the summary's, the waves') are on report.html."""
        pages: dict[str, str] = {}
        if self.layout is Layout.PER_DAG:
            anchor_of_dag = {d.dag_id: d.anchor for d in self.dags}
            for job in self.jobs:
                pages[job.anchor] = self.pages[job.dag_id]
                anchor_of_dag.setdefault(job.dag_id, job.dag_anchor)
            pages.update({anchor_of_dag[dag_id]: page for dag_id, page in self.pages.items()})
        return pages


@dataclass(frozen=True)
class PageSite:
    """What every DAG page takes from the whole report (small: sent once to each worker that
    writes pages)."""

    generated_at: str
    tool: str
    summary: Summary
    page_of: Mapping[str, str]


#: writes the DAG pages into the report folder, returns their files (relative to it)
PagesWriter = Callable[[PageSite, Path, Iterable["DagPage"]], Iterable[str]]


@dataclass(frozen=True)
class DagPage:
    """One DAG's page of a per-dag report: its facts, its lineage, its job cards."""

    dag_id: str
    anchor: str
    file: str  # relative to the report folder: report/<anchor>.html
    dag: DagView | None  # None for jobs whose DAG analysis.json does not list
    jobs: tuple[JobView, ...]
    lineage: Lineage
    readiness: ReadinessView | None = None  # its four answers (report.html counts them)


# ----------------------------------------------------------------------------------- build


def build_report(
    document: Mapping[str, Any], job_files: Mapping[str, str], generated_at: str, layout: Layout = Layout.AUTO
) -> Report:
    """The report's view model from an analysis document and the job files' text (path -> text)."""
    if document.get("schema_version") != 1:
        raise UsageError(f"not an analysis.json of schema_version 1 (found {document.get('schema_version')!r})")
    raw_jobs = sorted(_entries(document, "jobs", "id", "dag_id"), key=lambda j: str(j["id"]))
    anchors = _anchors([str(j["id"]) for j in raw_jobs], "job-")
    dag_ids = sorted(
        {str(d["dag_id"]) for d in _entries(document, "dags", "dag_id")} | {str(j["dag_id"]) for j in raw_jobs}
    )
    dag_anchors = _anchors(dag_ids, "dag-")
    wave_lists = _wave_lists(document, [str(j["id"]) for j in raw_jobs])
    wave_of = {job_id: number for number, wave in enumerate(wave_lists, start=1) for job_id in wave}
    linker = _Linker(anchors)
    jobs = tuple(_job_view(j, job_files, anchors, dag_anchors, wave_of, linker) for j in raw_jobs)
    summary = _summary(document, raw_jobs, jobs)
    waves = tuple(
        _wave_view(number, _lookup(wave, raw_jobs), anchors) for number, wave in enumerate(wave_lists, start=1)
    )
    if layout is Layout.AUTO:
        layout = Layout.SINGLE if len(raw_jobs) <= SINGLE_PAGE_JOBS else Layout.PER_DAG
    graph = document.get("graph") or {}
    lineage_size = _lineage_size(graph)
    drawn = layout is Layout.SINGLE or lineage_size[0] <= LINEAGE_NODES
    return Report(
        generated_at=generated_at,
        tool=_tool(document),
        summary=summary,
        waves=waves,
        lineage=layout_lineage(graph, raw_jobs, anchors) if drawn else Lineage(0.0, 0.0, (), ()),
        dags=_dag_views(document, raw_jobs, anchors, dag_anchors),
        jobs=jobs,
        actions=tuple(sorted((j for j in jobs if j.effort.hours > 0), key=lambda j: (-j.effort.hours, j.id))),
        scan_findings=tuple(_finding(f) for f in _entries(document, "findings", "code")),
        readiness=_readiness(document, dag_anchors),
        layout=layout,
        pages=_page_files(dag_anchors) if layout is Layout.PER_DAG else {},
        lineage_size=lineage_size,
    )


def _page_files(dag_anchors: Mapping[str, str]) -> dict[str, str]:
    """Each DAG's page: its anchor as the file name, shortened and told apart by a hash where it
    is long or where it differs from another only in case (macOS and Windows file systems)."""
    files: dict[str, str] = {}
    taken: set[str] = set()
    for dag_id in sorted(dag_anchors):
        name = dag_anchors[dag_id]
        digest = hashlib.sha256(dag_id.encode("utf-8")).hexdigest()[:8]
        if len(name) > PAGE_NAME_CHARS:
            name = f"{name[: PAGE_NAME_CHARS - 9]}-{digest}"
        if name.casefold() in taken:
            name = f"{name}-{digest}"
        taken.add(name.casefold())
        files[dag_id] = f"{PAGES_FOLDER}/{name}.html"
    return files


def _lineage_size(graph: Mapping[str, Any]) -> tuple[int, int]:
    """Nodes and edges of the data lineage (the drawing leaves Airflow's `depends` order to the waves)."""
    edges = sum(1 for e in _entries(graph, "edges", "source", "target") if e.get("kind") != DEPENDS)
    return len(_entries(graph, "nodes", "id")), edges


def dag_pages(report: Report, document: Mapping[str, Any]) -> Iterator[DagPage]:
    """The per-dag layout's pages, one at a time (each DAG's lineage is laid out as its page
    comes): the DAG's jobs, and the tables they read, write or maintain."""
    graph = document.get("graph") or {}
    nodes = {str(n["id"]): n for n in _entries(graph, "nodes", "id")}
    edges_of: dict[str, list[Mapping[str, Any]]] = {}
    for edge in _entries(graph, "edges", "source", "target"):
        if edge.get("kind") != DEPENDS:
            for end in (str(edge["source"]), str(edge["target"])):
                edges_of.setdefault(end, []).append(edge)
    task_of = {str(n.get("job")): node_id for node_id, n in nodes.items() if n.get("kind") == "task"}
    raw = {str(j["id"]): j for j in _entries(document, "jobs", "id", "dag_id")}
    anchors = {job.id: job.anchor for job in report.jobs}
    views = {view.dag_id: view for view in report.dags}
    readiness = {view.dag_id: view for view in report.readiness}
    jobs_of: dict[str, list[JobView]] = {}
    for job in report.jobs:
        jobs_of.setdefault(job.dag_id, []).append(job)
    for dag_id, file in sorted(report.pages.items(), key=lambda item: item[1]):
        members = jobs_of.get(dag_id, [])
        tasks = {task_of[job.id] for job in members if job.id in task_of}
        edges = {id(e): e for task in sorted(tasks) for e in edges_of.get(task, [])}.values()
        ends = tasks | {str(e[end]) for e in edges for end in ("source", "target")}
        part = {"nodes": [nodes[n] for n in sorted(ends) if n in nodes], "edges": list(edges)}
        view = views.get(dag_id)
        anchor = view.anchor if view else (members[0].dag_anchor if members else "")
        lineage = layout_lineage(part, [raw[job.id] for job in members], anchors)
        yield DagPage(dag_id, anchor, file, view, tuple(members), lineage, readiness.get(dag_id))


def _readiness(document: Mapping[str, Any], dag_anchors: Mapping[str, str]) -> tuple[ReadinessView, ...]:
    infra = document.get("infra")
    entries = infra.get("readiness") if isinstance(infra, Mapping) else None
    views = []
    for entry in entries if isinstance(entries, list) else []:
        concerns = entry.get("concerns") if isinstance(entry, Mapping) else None
        if not isinstance(concerns, Mapping) or "dag_id" not in entry:
            continue
        rows = []
        for key, label in READINESS_CONCERNS:
            concern = concerns.get(key)
            if isinstance(concern, Mapping):
                rows.append((label, str(concern.get("status", "open")), str(concern.get("answer", ""))))
        dag_id = str(entry["dag_id"])
        views.append(ReadinessView(dag_id, dag_anchors.get(dag_id, ""), tuple(rows)))
    return tuple(sorted(views, key=lambda v: v.dag_id))


def _entries(document: Mapping[str, Any], field: str, *keys: str) -> list[Mapping[str, Any]]:
    """The objects of a list field that have the keys the report needs (a hand-edited or partial
    analysis.json loses the broken entries, not the report)."""
    items = document.get(field)
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping) and all(key in item for key in keys)]


def _tool(document: Mapping[str, Any]) -> str:
    tool = document.get("tool") or {}
    return f"{tool.get('name', 'kappa-migrate')} {tool.get('version', '')}".strip()


def _wave_view(number: int, members: Sequence[tuple[str, Mapping[str, Any]]], anchors: Mapping[str, str]) -> WaveView:
    jobs = tuple((job_id, anchors[job_id], _status_of(job)) for job_id, job in members)
    return WaveView(number, jobs, _counted(Counter(status for _, _, status in jobs), STATUSES))


def _lookup(ids: Iterable[str], jobs: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, Any]]]:
    by_id = {str(j["id"]): j for j in jobs}
    return [(job_id, by_id[job_id]) for job_id in ids if job_id in by_id]


def _status_of(job: Mapping[str, Any]) -> str:
    return str((job.get("generated") or {}).get("status") or "none")


def _result(job: Mapping[str, Any], field: str) -> tuple[str, Mapping[str, Any]]:
    entry = job.get(field) or {}
    return str(entry.get("status") or "skipped"), entry


def _counted(counter: Counter[str], order: Sequence[str]) -> tuple[tuple[str, int], ...]:
    """Counts in a fixed order, then any value the order does not know, sorted."""
    known = [(name, counter.get(name, 0)) for name in order]
    return (*known, *sorted((k, v) for k, v in counter.items() if k not in order))


def _anchors(ids: Sequence[str], prefix: str) -> dict[str, str]:
    """HTML ids for ids a repository chose (anything, markup included): the safe characters kept,
    a short hash added when something was replaced, so two ids never share an anchor."""
    anchors: dict[str, str] = {}
    for name in ids:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "x"
        if safe != name:
            safe += "-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        anchors[name] = prefix + safe
    return anchors


def _wave_lists(document: Mapping[str, Any], job_ids: Sequence[str]) -> list[list[str]]:
    """`graph.waves`, jobs it misses in a last wave of their own (an older or partial document)."""
    known = set(job_ids)
    waves = [[str(j) for j in wave if str(j) in known] for wave in (document.get("graph") or {}).get("waves", [])]
    waves = [wave for wave in waves if wave]
    placed = {j for wave in waves for j in wave}
    rest = sorted(known - placed)
    return [*waves, rest] if rest else waves


class _Linker:
    """Turns job ids mentioned in a text (a retired job's reason names its owner) into links."""

    def __init__(self, anchors: Mapping[str, str]) -> None:
        self.anchors = anchors
        names = sorted(anchors, key=lambda n: (-len(n), n))
        self.pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def parts(self, text: str, own: str) -> tuple[TextPart, ...]:
        if self.pattern is None:
            return (TextPart(text),) if text else ()
        parts: list[TextPart] = []
        last = 0
        for match in self.pattern.finditer(text):
            name = match.group(0)
            if name == own or not _word_bounded(text, match.start(), match.end()):
                continue
            if match.start() > last:
                parts.append(TextPart(text[last : match.start()]))
            parts.append(TextPart(name, self.anchors[name]))
            last = match.end()
        if last < len(text):
            parts.append(TextPart(text[last:]))
        return tuple(parts)


def _word_bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before in "_.") and not (after.isalnum() or after == "_")


def _finding(entry: Mapping[str, Any]) -> FindingView:
    location = f"{entry.get('file', '')}:{entry.get('line', 1)}:{entry.get('col', 1)}"
    return FindingView(str(entry.get("code", "")), str(entry.get("name", "")), str(entry.get("message", "")), location)


def _job_view(
    job: Mapping[str, Any],
    job_files: Mapping[str, str],
    anchors: Mapping[str, str],
    dag_anchors: Mapping[str, str],
    wave_of: Mapping[str, int],
    linker: _Linker,
) -> JobView:
    job_id = str(job["id"])
    generated = job.get("generated") or {}
    path = str(generated.get("path") or "")
    text = job_files.get(path) if path else None
    todos = tuple(m.group("text") for m in TODO.finditer(text)) if text else ()
    findings = [_finding(f) for f in _entries(job, "findings", "code")]
    dialect = str(job.get("dialect") or "")
    original = tuple(
        SqlBlock(
            f"{s.get('file', '')}:{s.get('line', 1)}",
            str(s.get("dialect") or dialect),
            str(s.get("sql", "")),
            int(s.get("line") or 1),
        )
        for s in _entries(job, "statements", "sql")
    )
    flink = SqlBlock(path, "flink", text) if text is not None else None
    validation_status, validation = _result(job, "validation")
    equivalence_status, equivalence = _result(job, "equivalence")
    return JobView(
        id=job_id,
        anchor=anchors[job_id],
        origin=_origin(job),
        dag_id=str(job.get("dag_id", "")),
        dag_anchor=dag_anchors.get(str(job.get("dag_id", "")), ""),
        task_id=str(job.get("task_id", "")),
        location=f"{job.get('file', '')}:{job.get('line', 1)}",
        operator=str(job.get("operator") or ""),
        dialect=dialect,
        sql_status=str(job.get("sql_status") or ""),
        pattern=str(job.get("pattern") or "none"),
        classification=str(job.get("classification") or "none"),
        sink_mode=str(job.get("sink_mode") or "none"),
        upsert_key=tuple(str(c) for c in job.get("upsert_key", [])),
        state_ttl_days=job.get("state_ttl_days"),
        allowed_lateness_days=job.get("allowed_lateness_days"),
        reads=tuple(sorted(str(t) for t in job.get("reads", []))),
        writes=tuple(sorted(str(t) for t in job.get("writes", []))),
        status=_status_of(job),
        reason=linker.parts(str(generated.get("reason") or ""), job_id),
        job_path=path,
        job_file_found=text is not None,
        original=original,
        flink=flink,
        evidence=tuple(f for f in findings if f.code[:1] in "FOR"),
        reasons=tuple(f for f in findings if f.code[:1] == "C"),
        other_findings=tuple(f for f in findings if f.code[:1] not in "FORC"),
        validation=ResultView(validation_status, str(validation.get("message") or "")),
        equivalence=ResultView(
            equivalence_status,
            str(equivalence.get("message") or ""),
            tuple(str(d) for d in equivalence.get("diff", [])),
            equivalence.get("batch_rows") if "batch_rows" in equivalence else None,
            equivalence.get("stream_rows") if "stream_rows" in equivalence else None,
        ),
        todos=todos,
        effort=estimate_effort(job, len(todos)),
        wave=wave_of.get(job_id, 0),
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return "not run" if value is None else f"{value:.1%}"


def _ratio(rate: float | None, part: int, whole: int) -> str:
    return "not run" if rate is None else f"{rate:.1%} ({part}/{whole})"


def _hours(hours: float) -> str:
    return f"{hours:g} h"


def _summary(document: Mapping[str, Any], raw: Sequence[Mapping[str, Any]], jobs: Sequence[JobView]) -> Summary:
    patterns = tuple(n for n, _ in _counted(Counter(j.pattern for j in jobs), PATTERNS))
    classes = tuple(n for n, _ in _counted(Counter(j.classification for j in jobs), CLASSES))
    pairs = Counter((j.pattern, j.classification) for j in jobs)
    matrix = tuple(
        (p, tuple(pairs.get((p, c), 0) for c in classes), sum(pairs.get((p, c), 0) for c in classes)) for p in patterns
    )
    class_totals = tuple(sum(pairs.get((p, c), 0) for p in patterns) for c in classes)
    statuses = _counted(Counter(j.status for j in jobs), STATUSES)
    validation = _counted(Counter(j.validation.status for j in jobs), VALIDATION)
    equivalence = _counted(Counter(j.equivalence.status for j in jobs), EQUIVALENCE)
    by_status, by_validation, by_equivalence = dict(statuses), dict(validation), dict(equivalence)
    convertible = by_status.get("generated", 0) + by_status.get("retired", 0)
    share = _share(convertible, len(jobs))
    pass_rate = _share(by_validation.get("passed", 0), by_validation.get("passed", 0) + by_validation.get("failed", 0))
    equal_rate = _share(
        by_equivalence.get("equal", 0), by_equivalence.get("equal", 0) + by_equivalence.get("different", 0)
    )
    effort = sum(j.effort.hours for j in jobs)
    parse_rate = (document.get("summary") or {}).get("sql_parse_rate")
    tested = by_validation.get("passed", 0) + by_validation.get("failed", 0)
    compared = by_equivalence.get("equal", 0) + by_equivalence.get("different", 0)
    figures = (
        Figure("jobs", "jobs", str(len(jobs)), "jobs[]: one per Airflow task that runs SQL or code"),
        Figure("dags", "DAGs", str(len(_entries(document, "dags", "dag_id"))), "dags[]"),
        Figure(
            "generated", "generated", str(by_status.get("generated", 0)), "jobs[] with generated.status = generated"
        ),
        Figure("retired", "retired", str(by_status.get("retired", 0)), "jobs[] with generated.status = retired"),
        Figure("manual", "manual", str(by_status.get("manual", 0)), "jobs[] with generated.status = manual"),
        Figure(
            "convertible",
            "convertible",
            _ratio(share, convertible, len(jobs)),
            "jobs[] with generated.status = generated or retired, over all jobs[]",
        ),
        Figure(
            "planner_pass_rate",
            "planner pass rate",
            _ratio(pass_rate, by_validation.get("passed", 0), tested),
            "jobs[] with validation.status = passed, over those passed or failed",
        ),
        Figure(
            "equivalence_rate",
            "equivalence rate",
            _ratio(equal_rate, by_equivalence.get("equal", 0), compared),
            "jobs[] with equivalence.status = equal, over those equal or different",
        ),
        Figure(
            "effort",
            f"effort estimate, ~{math.ceil(effort / HOURS_PER_DAY)} person-days",
            _hours(effort),
            f"sum over jobs[] of the effort rules' hours plus extras (below); {HOURS_PER_DAY} h a day",
        ),
        Figure(
            "sql_parse_rate",
            "SQL parse rate",
            _percent(parse_rate if isinstance(parse_rate, int | float) else None),
            "summary.sql_parse_rate: jobs whose SQL parses, over jobs with SQL",
        ),
        *_cost_figures(document),
    )
    return Summary(
        jobs=len(jobs),
        dags=len(_entries(document, "dags", "dag_id")),
        patterns=patterns,
        classes=classes,
        matrix=matrix,
        class_totals=class_totals,
        statuses=statuses,
        validation=validation,
        equivalence=equivalence,
        convertible=convertible,
        convertible_share=share,
        planner_pass_rate=pass_rate,
        equivalence_rate=equal_rate,
        effort_hours=effort,
        sql_parse_rate=float(parse_rate) if isinstance(parse_rate, int | float) else None,
        figures=figures,
        origins=tuple((o, n) for o, n in _counted(Counter(j.origin for j in jobs), tuple(ORIGINS)) if n),
    )


def _cost_figures(document: Mapping[str, Any]) -> tuple[Figure, ...]:
    """With a live Airflow's run history (`kappa scan --airflow-url`): the batch hours a day that
    the streaming jobs replace."""
    airflow = document.get("airflow")
    hours = airflow.get("batch_hours_per_day") if isinstance(airflow, Mapping) else None
    if not isinstance(hours, int | float) or isinstance(hours, bool):
        return ()
    return (
        Figure(
            "batch_hours_per_day",
            "batch hours a day the streams replace",
            f"{hours:g} h",
            "airflow.batch_hours_per_day: task run time a day over the history window (kappa scan --airflow-url)",
        ),
    )


def _origin(job: Mapping[str, Any]) -> str:
    origin = str(job.get("origin") or "dag")
    return origin if origin in ORIGINS else "dag"


def _dag_views(
    document: Mapping[str, Any],
    jobs: Sequence[Mapping[str, Any]],
    anchors: Mapping[str, str],
    dag_anchors: Mapping[str, str],
) -> tuple[DagView, ...]:
    jobs_of: dict[str, list[Mapping[str, Any]]] = {}
    for job in jobs:
        jobs_of.setdefault(str(job.get("dag_id")), []).append(job)
    views = []
    for dag in sorted(_entries(document, "dags", "dag_id"), key=lambda d: (str(d["dag_id"]), str(d.get("file", "")))):
        dag_id = str(dag["dag_id"])
        own = jobs_of.get(dag_id, [])
        members = tuple((str(j["id"]), anchors[str(j["id"])]) for j in own)
        origin = _origin(own[0]) if own else "dag"
        catchup = dag.get("catchup")
        views.append(
            DagView(
                dag_id=dag_id,
                anchor=dag_anchors[dag_id],
                origin=origin,
                location=f"{dag.get('file', '')}:{dag.get('line', 1)}",
                schedule=str(dag.get("schedule") or "none"),
                catchup="unknown" if catchup is None else ("yes" if catchup else "no"),
                description=str(dag.get("description") or ""),
                doc_md=str(dag.get("doc_md") or "").strip("\n"),
                jobs=members,
            )
        )
    # grouped by origin: the Airflow DAGs, then dbt projects, then SQL folders
    return tuple(sorted(views, key=lambda v: list(ORIGINS).index(v.origin)))


# ------------------------------------------------------------------------------ highlighting

_STRING_TYPES = frozenset(t for t in TokenType if t.name.endswith("STRING"))
_PLAIN = ""


def highlight_sql(sql: str, dialect: str) -> tuple[Span, ...]:
    """SQL as spans for the page: keywords, strings, numbers, comments, functions, quoted names.

    The spans always join back to `sql` exactly; text the tokenizer cannot read stays plain.
    """
    tokens = _tokens(sql, dialect)
    if tokens is None:
        return (Span(_PLAIN, sql),) if sql else ()
    keywords = _keyword_types(dialect)
    spans: list[Span] = []
    position = 0
    for index, token in enumerate(tokens):
        if token.start > position:
            spans.extend(_gap(sql[position : token.start]))
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        spans.append(Span(_token_class(token, following, keywords), sql[token.start : token.end + 1]))
        position = token.end + 1
    if position < len(sql):
        spans.extend(_gap(sql[position:]))
    merged = _merge(spans)
    return merged if "".join(s.text for s in merged) == sql else (Span(_PLAIN, sql),)


def _tokens(sql: str, dialect: str) -> list[Token] | None:
    try:
        tokens = Dialect.get_or_raise(dialect or None).tokenize(sql)
    except (SqlglotError, ValueError, KeyError):
        return None
    position = 0
    for token in tokens:  # positions must move forward inside the text, or we do not trust them
        if token.start < position or token.end < token.start or token.end >= len(sql):
            return None
        position = token.end + 1
    return tokens


def _keyword_types(dialect: str) -> frozenset[TokenType]:
    tokenizer = Dialect.get_or_raise(dialect or None).tokenizer_class
    return frozenset(tokenizer.KEYWORDS.values()) - {TokenType.VAR, TokenType.IDENTIFIER, TokenType.NUMBER}


def _token_class(token: Token, following: Token | None, keywords: frozenset[TokenType]) -> str:
    if token.token_type in _STRING_TYPES:
        return "s"
    if token.token_type is TokenType.NUMBER:
        return "n"
    if token.token_type is TokenType.IDENTIFIER:
        return "i"
    word = token.text[:1].isalpha()
    called = following is not None and following.token_type is TokenType.L_PAREN and following.start == token.end + 1
    if word and called and (token.token_type is TokenType.VAR or token.token_type not in keywords):
        return "f"
    if word and token.token_type in keywords:
        return "k"
    return _PLAIN


_COMMENT = re.compile(r"--[^\n]*|/\*.*?(?:\*/|\Z)", re.DOTALL)


def _gap(text: str) -> list[Span]:
    """Text between tokens: whitespace and comments."""
    spans: list[Span] = []
    last = 0
    for match in _COMMENT.finditer(text):
        if match.start() > last:
            spans.append(Span(_PLAIN, text[last : match.start()]))
        spans.append(Span("c", match.group(0)))
        last = match.end()
    if last < len(text):
        spans.append(Span(_PLAIN, text[last:]))
    return spans


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and merged[-1].css == span.css:
            merged[-1] = Span(span.css, merged[-1].text + span.text)
        else:
            merged.append(span)
    return tuple(merged)


def _lines(spans: Iterable[Span], first: int) -> tuple[SqlLine, ...]:
    """Spans split at line ends, numbered from the statement's line in its file."""
    lines: list[SqlLine] = []
    current: list[Span] = []
    for span in spans:
        pieces = span.text.split("\n")
        for i, piece in enumerate(pieces):
            if i:
                lines.append(SqlLine(first + len(lines), tuple(current)))
                current = []
            if piece:
                current.append(Span(span.css, piece))
    if current or not lines:
        lines.append(SqlLine(first + len(lines), tuple(current)))
    return tuple(lines)


# what Jinja's autoescape (markupsafe) writes for each character, so the page's bytes do not change
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def _line_html(line: SqlLine) -> str:
    spans = "".join(
        f'<span class="{span.css}">{span.text.translate(_HTML_ESCAPES)}</span>'
        if span.css
        else span.text.translate(_HTML_ESCAPES)
        for span in line.spans
    )
    return f'<span class="ln">{line.number}</span>{spans}\n'


# ---------------------------------------------------------------------------------- lineage

NODE_WIDTH, TASK_HEIGHT, TABLE_HEIGHT = 236.0, 34.0, 22.0
LAYER_GAP, ROW_GAP, MARGIN = 96.0, 10.0, 16.0
LABEL_CHARS = 34
DEPENDS, MAINTAIN = "depends", "maintain"  # edge kinds of analysis.json's graph (analyzer.lineage)
SWEEPS = 4


def layout_lineage(graph: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]], anchors: Mapping[str, str]) -> Lineage:
    """The lineage graph laid out left to right: tables and the jobs that read, write or maintain
    them (task-to-task `depends` edges are left to the waves). Layers are the topological
    generations of the graph's condensation (a cycle, such as a job rewriting its own table,
    shares one layer); barycentre sweeps order each layer. Deterministic: every tie is broken by
    node id."""
    g = nx.DiGraph()
    for entry in sorted(_entries(graph, "nodes", "id"), key=lambda n: str(n["id"])):
        g.add_node(str(entry["id"]), **{str(k): v for k, v in entry.items() if k != "id"})
    for edge in sorted(
        _entries(graph, "edges", "source", "target"), key=lambda e: (str(e["source"]), str(e["target"]))
    ):
        source, target, kind = str(edge["source"]), str(edge["target"]), str(edge.get("kind", ""))
        if kind == DEPENDS or source not in g or target not in g:
            continue  # data lineage only: Airflow's run-after order is in the waves
        if kind == MAINTAIN:  # a maintenance job hangs off the table it tends, to its right
            source, target = target, source
        g.add_edge(source, target, kind=kind)
    if not g:
        return Lineage(0.0, 0.0, (), ())
    condensed = nx.condensation(g)
    layer_of = {}
    for number, generation in enumerate(nx.topological_generations(condensed)):
        for component in generation:
            for member in condensed.nodes[component]["members"]:
                layer_of[member] = number
    layers: list[list[str]] = [[] for _ in range(max(layer_of.values()) + 1)]
    for node in sorted(g.nodes, key=lambda n: (_group(g, n), n)):
        layers[layer_of[node]].append(node)
    _order_layers(g, layers)
    by_job = {str(j["id"]): j for j in jobs}
    heights = {n: TASK_HEIGHT if g.nodes[n].get("kind") == "task" else TABLE_HEIGHT for n in g.nodes}
    columns = [sum(heights[n] for n in layer) + ROW_GAP * max(len(layer) - 1, 0) for layer in layers]
    tallest = max(columns)
    placed: dict[str, GraphNode] = {}
    for number, layer in enumerate(layers):
        x = MARGIN + number * (NODE_WIDTH + LAYER_GAP)
        y = MARGIN + (tallest - columns[number]) / 2
        for node in layer:
            placed[node] = _graph_node(g, node, number, x, y, heights[node], by_job, anchors)
            y += heights[node] + ROW_GAP
    edges = tuple(
        GraphEdge(source, target, str(data.get("kind", "")), _edge_path(placed[source], placed[target]))
        for source, target, data in sorted(g.edges(data=True), key=lambda e: (e[0], e[1]))
    )
    width = MARGIN * 2 + len(layers) * NODE_WIDTH + (len(layers) - 1) * LAYER_GAP + 40
    return Lineage(round(width, 1), round(MARGIN * 2 + tallest, 1), tuple(placed[n] for n in sorted(placed)), edges)


def _group(g: Any, node: str) -> str:
    """Initial order inside a layer: a DAG's jobs together, tables by name."""
    data = g.nodes[node]
    return str(data.get("dag_id") or data.get("table") or "")


def _order_layers(g: Any, layers: list[list[str]]) -> None:
    """Barycentre heuristic: each node moves to the mean position of its neighbours in the layer
    before (down sweeps) or after (up sweeps); nodes with no such neighbour keep their place."""
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        order = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for i in order:
            reference = {n: p for p, n in enumerate(layers[i - 1 if down else i + 1])}
            keys = {}
            for position, node in enumerate(layers[i]):
                neighbours = g.predecessors(node) if down else g.successors(node)
                places = [reference[n] for n in neighbours if n in reference]
                keys[node] = sum(places) / len(places) if places else float(position)
            layers[i].sort(key=lambda n: (keys[n], n))


def _graph_node(
    g: Any,
    node: str,
    layer: int,
    x: float,
    y: float,
    height: float,
    jobs: Mapping[str, Mapping[str, Any]],
    anchors: Mapping[str, str],
) -> GraphNode:
    data = g.nodes[node]
    if data.get("kind") == "task":
        job_id = str(data.get("job", node))
        job = jobs.get(job_id, {})
        dag_id = str(job.get("dag_id", data.get("dag_id", "")))
        task_id = str(job.get("task_id", job_id))
        pattern = str(job.get("pattern", data.get("pattern", "none")))
        classification = str(job.get("classification", data.get("classification", "none")))
        status = _status_of(job)
        title = f"{job_id}\npattern {pattern}, class {classification}, {status}"
        return GraphNode(
            node,
            "task",
            _clip(task_id),
            _clip(dag_id),
            title,
            x,
            y,
            NODE_WIDTH,
            height,
            layer,
            job_id,
            anchors.get(job_id, ""),
            pattern,
            classification,
            status,
        )
    table = str(data.get("table", node))
    return GraphNode(
        node, "table", _clip(table), "", f"table {table}", x, y, NODE_WIDTH, height, layer, "", "", "", "", ""
    )


def _clip(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _edge_path(source: GraphNode, target: GraphNode) -> str:
    sy, ty = source.y + source.height / 2, target.y + target.height / 2
    if target.layer > source.layer:
        sx, tx = source.x + source.width, target.x
        bend = (tx - sx) / 2
        return f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"
    # same layer (a cycle): an arc out of the right side and back
    x = source.x + source.width
    reach = 24.0 + min(abs(ty - sy) / 6, 60.0)
    return f"M{x:.1f},{sy:.1f} C{x + reach:.1f},{sy:.1f} {x + reach:.1f},{ty:.1f} {x:.1f},{ty:.1f}"


# ---------------------------------------------------------------------------------- render


def report_data(report: Report) -> dict[str, Any]:
    """The data embedded in the page (and pinned by a golden test): every figure with its source,
    the effort rules, the waves and each job's facets. The SQL itself is in the page's markup."""
    summary = report.summary
    link = _link_maker(report.page_of, INDEX_PAGE)
    return {
        "readiness": [
            {"dag_id": v.dag_id, "ready": v.ready, "concerns": [list(c) for c in v.concerns]} for v in report.readiness
        ],
        "schema": REPORT_SCHEMA,
        "generated_at": report.generated_at,
        "tool": report.tool,
        "summary": {
            "figures": [
                {"key": f.key, "label": f.label, "value": f.value, "source": f.source} for f in summary.figures
            ],
            "jobs": summary.jobs,
            "dags": summary.dags,
            "by_pattern_and_class": {p: dict(zip(summary.classes, row, strict=True)) for p, row, _ in summary.matrix},
            "by_status": dict(summary.statuses),
            "validation": dict(summary.validation),
            "equivalence": dict(summary.equivalence),
            "convertible": summary.convertible,
            "convertible_share": summary.convertible_share,
            "planner_pass_rate": summary.planner_pass_rate,
            "equivalence_rate": summary.equivalence_rate,
            "effort_hours": summary.effort_hours,
            "sql_parse_rate": summary.sql_parse_rate,
        },
        "effort_rules": [
            {
                "rule": number,
                "status": r.status,
                "pattern": r.pattern,
                "classification": r.classification,
                "sql_status": r.sql_status,
                "hours": r.hours,
                "action": r.action,
            }
            for number, r in enumerate(EFFORT_RULES, start=1)
        ],
        "effort_extras": [{"key": e.key, "hours": e.hours, "when": e.when} for e in EFFORT_EXTRAS],
        "waves": [[job_id for job_id, _, _ in wave.jobs] for wave in report.waves],
        "dags": [
            {"dag_id": d.dag_id, "anchor": d.anchor, "origin": d.origin, "jobs": [j for j, _ in d.jobs]}
            | ({"page": report.pages[d.dag_id]} if d.dag_id in report.pages else {})
            for d in report.dags
        ],
        "layout": str(report.layout),
        "jobs": [_job_data(j, with_sql=True) for j in report.jobs]
        if report.layout is Layout.SINGLE
        else [_job_data(j, with_sql=False) | _listed_job(j, link) for j in report.jobs],
    }


def _job_data(j: JobView, *, with_sql: bool) -> dict[str, Any]:
    """A job's facets for the page's filters; its SQL (to search) only where its card is."""
    data = {
        "id": j.id,
        "anchor": j.anchor,
        "origin": j.origin,
        "dag_id": j.dag_id,
        "task_id": j.task_id,
        "location": j.location,
        "operator": j.operator,
        "dialect": j.dialect,
        "sql_status": j.sql_status,
        "pattern": j.pattern,
        "classification": j.classification,
        "sink_mode": j.sink_mode,
        "upsert_key": list(j.upsert_key),
        "state_ttl_days": j.state_ttl_days,
        "reads": list(j.reads),
        "writes": list(j.writes),
        "status": j.status,
        "job_path": j.job_path,
        "validation": j.validation.status,
        "equivalence": j.equivalence.status,
        "codes": sorted({f.code for f in (*j.evidence, *j.reasons, *j.other_findings)}),
        "todos": list(j.todos),
        "effort_hours": j.effort.hours,
        "effort_rule": j.effort.rule,
        "wave": j.wave,
    }
    if with_sql:
        data["sql"] = "\n\n".join(block.text() for block in j.original)
    return data


def _listed_job(j: JobView, link: Callable[[str], str]) -> dict[str, Any]:
    """What report.html's script needs to list a job of a per-dag report: its links and badges."""
    return {"href": link(j.anchor), "dag_href": link(j.dag_anchor), "hours": f"{j.effort.hours:g}"}


_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}


def embedded_json(data: Any) -> Markup:
    """JSON safe inside a `<script type="application/json">` element: no `</script>`, no `<!--`."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return Markup(re.sub(r"[<>&']", lambda m: _JSON_ESCAPES[m.group(0)], text))


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _page_context(report: Report | PageSite, page: str) -> dict[str, Any]:
    """What every page's template gets: CSS and JS inlined (only they may apply or run: their
    hashes are the page's Content-Security-Policy), the formatting helpers, and `link`, this page's
    way to an anchor wherever it is."""
    style, script, policy = _inline_assets()
    return {
        "report": report,
        "style": style,
        "script": script,
        "policy": policy,
        "rules": tuple(enumerate(EFFORT_RULES, start=1)),
        "extras": EFFORT_EXTRAS,
        "origins": ORIGINS,
        "readiness_concerns": READINESS_CONCERNS,
        "percent": _percent,
        "hours": _hours,
        "link": _link_maker(report.page_of, page),
        "single_page_jobs": SINGLE_PAGE_JOBS,
        "per_dag_actions": PER_DAG_ACTIONS,
        "per_dag_rows": PER_DAG_ROWS,
        "per_dag_chips": PER_DAG_CHIPS,
        "lineage_nodes": LINEAGE_NODES,
    }


@cache
def _inline_assets() -> tuple[Markup, Markup, str]:
    """The pages' CSS and JS, and the policy that lets only them apply and run."""
    style = render_template("report.css.j2")
    script = render_template("report.js.j2")
    if "</" in style or "</" in script:  # would end the element early
        raise ValueError("inline CSS/JS must not contain '</'")
    policy = (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    return Markup(style), Markup(script), policy


def _link_maker(page_of: Mapping[str, str], page: str) -> Callable[[str], str]:
    """`link(anchor)` for `page`: `#anchor` when the page holds it, else the relative way there.

    >>> link = _link_maker({"job-a": "report/dag-x.html"}, "report/dag-y.html")
    >>> link("job-a"), link("wave-2")
    ('dag-x.html#job-a', '../report.html#wave-2')
    """
    here = posixpath.dirname(page) or "."

    def link(anchor: str) -> str:
        target = page_of.get(anchor, INDEX_PAGE)
        return f"#{anchor}" if target == page else f"{posixpath.relpath(target, here)}#{anchor}"

    return link


def render_html(report: Report) -> str:
    """report.html: one file, autoescaped; with the per-dag layout, the jobs' cards are on their
    DAGs' pages (`render_dag_page`) and report.html lists the jobs."""
    return render_template(
        "report.html.j2", data=embedded_json(report_data(report)), **_page_context(report, INDEX_PAGE)
    )


def render_dag_page(site: PageSite, page: DagPage) -> str:
    """A DAG's page of a per-dag report: the same CSS, script and policy as report.html, its own
    data (its jobs, with their SQL to search)."""
    data = {
        "schema": REPORT_SCHEMA,
        "generated_at": site.generated_at,
        "tool": site.tool,
        "dag_id": page.dag_id,
        "jobs": [_job_data(job, with_sql=True) for job in page.jobs],
    }
    return render_template("report_dag.html.j2", page=page, data=embedded_json(data), **_page_context(site, page.file))


def write_dag_page(site: PageSite, out: Path, page: DagPage) -> str:
    """Render and write one DAG page; its file, relative to the report folder."""
    write_atomically(out / page.file, render_dag_page(site, page))
    return page.file


def write_pages_here(site: PageSite, out: Path, pages: Iterable[DagPage]) -> Iterator[str]:
    """`PagesWriter` in this process, a page at a time."""
    return (write_dag_page(site, out, page) for page in pages)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def md_text(text: str) -> str:
    """Free text for Markdown: punctuation that could become markup or HTML backslash-escaped,
    on one line (a table cell)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_code(text: str) -> str:
    """A code span that survives any content: a fence longer than any backtick run inside, and
    `|` escaped so a table cell stays one cell."""
    flat = " ".join(text.split()).replace("|", "\\|")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


def render_markdown(report: Report) -> str:
    """report.md: the summary, the waves and the largest actions, short enough for a PR comment."""
    text = render_template(
        "report.md.j2",
        report=report,
        actions=report.actions[:MARKDOWN_ACTIONS],
        rules=tuple(enumerate(EFFORT_RULES, start=1)),
        extras=EFFORT_EXTRAS,
        origins=ORIGINS,
        readiness_concerns=READINESS_CONCERNS,
        code=md_code,
        text=md_text,
        percent=_percent,
        hours=_hours,
    )
    if len(text) > MARKDOWN_LIMIT:
        cut = text.rfind("\n", 0, MARKDOWN_LIMIT - 200)
        text = text[:cut] + "\n\n… cut to fit a pull-request comment; report.html has everything.\n"
    return text


# -------------------------------------------------------------------------------------- I/O


def resolve_timestamp(value: str | None, environ: Mapping[str, str], now: datetime | None = None) -> str:
    """The report's one volatile field: `--timestamp` if given, else SOURCE_DATE_EPOCH (the
    reproducible-builds convention), else now; ISO 8601 in UTC.

    >>> resolve_timestamp(None, {"SOURCE_DATE_EPOCH": "1705276800"})
    '2024-01-15T00:00:00Z'
    """
    if value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise UsageError(f"--timestamp {value!r} is not an ISO 8601 date or time") from error
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    elif environ.get("SOURCE_DATE_EPOCH"):
        try:
            moment = datetime.fromtimestamp(int(environ["SOURCE_DATE_EPOCH"]), tz=UTC)
        except ValueError as error:
            raise UsageError(f"SOURCE_DATE_EPOCH {environ['SOURCE_DATE_EPOCH']!r} is not a number") from error
    else:
        moment = now or datetime.now(tz=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_analysis(path: Path) -> dict[str, Any]:
    """An analysis.json from disk; anything else is a usage error."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UsageError(f"{path} is not a readable analysis.json: {error}") from error
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise UsageError(f"{path} is not an analysis.json of schema_version 1")
    return document


def load_job_files(folder: Path | None, document: Mapping[str, Any]) -> dict[str, str]:
    """The text of every job file the document names (`generated.path`), read from `folder`;
    paths that leave the folder or files that are missing are skipped."""
    if folder is None:
        return {}
    files: dict[str, str] = {}
    for job in _entries(document, "jobs", "id"):
        path = (job.get("generated") or {}).get("path")
        if not isinstance(path, str) or not path:
            continue
        try:
            target = resolve_inside(folder, path)
        except UsageError:
            continue
        if target.is_file():
            files[path] = target.read_text(encoding="utf-8", errors="replace")
    return files


@dataclass(frozen=True)
class WrittenReport:
    html: Path  # report.html; report.md and analysis.json beside it
    dag_pages: int  # pages written under `html.parent / PAGES_FOLDER` (per-dag layout)


def write_report(
    out: Path,
    document: Mapping[str, Any],
    job_files: Mapping[str, str],
    generated_at: str,
    layout: Layout = Layout.AUTO,
    write_pages: PagesWriter = write_pages_here,
) -> WrittenReport:
    """Write report.html, report.md and analysis.json into `out`, and with the per-dag layout each
    DAG's page into `out/report/` (by `write_pages`: here, a page at a time, or the CLI's worker
    processes; pages of an earlier report that this one does not have are removed)."""
    report = build_report(document, job_files, generated_at, layout)
    written = set(write_pages(report.site, out, dag_pages(report, document)))
    pages = out / PAGES_FOLDER
    for stale in sorted(pages.glob("dag-*.html")) if pages.is_dir() else ():
        if f"{PAGES_FOLDER}/{stale.name}" not in written:
            stale.unlink()
    if pages.is_dir() and not any(pages.iterdir()):
        pages.rmdir()
    texts = {
        "report.html": render_html(report),
        "report.md": render_markdown(report),
        "analysis.json": iter_json(document),  # in pieces: 264 MB for 10,000 DAGs
    }
    out.mkdir(parents=True, exist_ok=True)
    for name in REPORT_FILES:
        write_atomically(out / name, texts[name])
    return WrittenReport(out / "report.html", len(written))
