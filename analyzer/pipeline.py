"""The scan pipeline: discover -> parse_dags -> extract_sql -> render -> parse_sql -> Analysis.

Each Python file is scanned on its own (`scan_python_file`), so one broken file never stops the
others and files can later be scanned in parallel. The only I/O is reading the user's files,
through `discover.read_text`, with a per-run cache so each file is read once.
"""

from __future__ import annotations

import ast
import os.path
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from .classify import classify
from .config import KappaConfig, load_config
from .dags import ClassInfo, FunctionRef, ParsedTask, index_classes, parse_dag_file, plain
from .detect import detect
from .discover import discover, read_text
from .errors import scan_error
from .lineage import LineageGraph, build_lineage
from .models import (
    Analysis,
    Classification,
    Dag,
    Finding,
    Job,
    RenderedSql,
    SqlSource,
    SqlStatus,
    Statement,
    Task,
)
from .operators import CANDIDATE_DIALECTS, OperatorKind
from .render import render_sql
from .rules import JobFacts
from .rules.optimize import is_maintenance
from .schemas import dialect_from_path, discover_schemas
from .sql import StatementAnalysis, analyze_statement, guess_dialect, parse_statements
from .tasks import extract_sql, operator_kind

Progress = Callable[[str, int], None]  # (file just scanned, number of Python files)


@dataclass
class FileCache:
    """Reads each user file once per run; unreadable files are reported once."""

    root: Path
    texts: dict[str, str | None] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)

    def read(self, path: str) -> str | None:
        relative = self.relative(path)
        if relative is None:
            return None
        if relative not in self.texts:
            result = read_text(self.root / relative, self.root)
            self.texts[relative] = result.text
            if result.finding is not None:
                self.findings[relative] = result.finding
        return self.texts[relative]

    def relative(self, path: str) -> str | None:
        """Root-relative form of a path (absolute or relative); None outside the root."""
        absolute = Path(path) if os.path.isabs(path) else self.root / path
        try:
            return Path(os.path.normpath(absolute)).relative_to(self.root).as_posix()
        except ValueError:
            return None


@dataclass(frozen=True)
class ModuleSource:
    file: str
    tree: ast.Module | None
    findings: tuple[Finding, ...] = ()
    might_contain_dag: bool = False


def load_module(file: str, cache: FileCache) -> ModuleSource:
    """Read and parse one Python file with `ast` (never imported); failures are findings."""
    text = cache.read(file)
    if text is None:
        finding = cache.findings.get(file)
        return ModuleSource(file, None, (finding,) if finding else ())
    try:
        tree = ast.parse(text, filename=file)
    except SyntaxError as error:
        message = f"{file} does not parse: {error.msg}"
        finding = scan_error("E001", message, file, error.lineno or 1, error.offset or 1)
        return ModuleSource(file, None, (finding,))
    except (ValueError, RecursionError, MemoryError) as error:
        finding = scan_error("E008", f"{file} cannot be parsed: {type(error).__name__}", file)
        return ModuleSource(file, None, (finding,))
    return ModuleSource(file, tree, might_contain_dag=might_contain_dag(text))


def might_contain_dag(text: str) -> bool:
    """Airflow's own safe-mode test: a DAG file mentions both `airflow` and `dag` somewhere
    (a DAG built by an imported helper need not name `DAG` itself)."""
    lowered = text.lower()
    return "airflow" in lowered and "dag" in lowered


def user_macros(values: Mapping[str, Any]) -> dict[str, Any]:
    """`user_defined_macros` for the renderer: constants as they are, functions as stand-ins."""
    macros: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, FunctionRef):
            macros[name] = _macro_stand_in(name)
        else:
            macros[name] = plain(value)
    return macros


def _macro_stand_in(name: str) -> Callable[..., str]:
    def stand_in(*_args: object, **_kwargs: object) -> str:
        return f"__macro_{name}__"

    return stand_in


def render_and_parse(task: Task, dag: Dag, macros: Mapping[str, Any], root: Path) -> tuple[Job, tuple[Finding, ...]]:
    """Render each SQL source of a task, decide the dialect if still open, parse the statements."""
    params = {**dag.params, **task.params}
    dag_dir = Path(dag.file).parent.as_posix()
    search_path = (dag_dir, *dag.template_searchpath)  # Airflow looks in the DAG's folder first
    findings: list[Finding] = []
    rendered: list[RenderedSql] = []
    for source in task.sql:
        result = render_sql(source, root=root, search_path=search_path, params=params, user_defined_macros=macros)
        rendered.append(result)
        findings.extend(result.findings)
    dialect, dialect_source, confidence = task.dialect, task.dialect_source, task.dialect_confidence
    if dialect is None and rendered:
        guessed, guess_confidence = guess_dialect("\n;\n".join(r.text for r in rendered), CANDIDATE_DIALECTS)
        if guessed is not None:
            dialect, dialect_source, confidence = guessed, "parse", guess_confidence
    statements: list[Statement] = []
    for source, result in zip(task.sql, rendered, strict=True):
        if not result.text.strip():
            continue
        parsed, problems = parse_statements(
            result.text, dialect or "", file=source.file, line=source.line, start_index=len(statements)
        )
        statements.extend(parsed)
        findings.extend(_shift_first_line(problems, source))
    if task.sql and dialect is None:
        message = f"task {task.task_id!r}: no dialect from the operator, connection, config or parsing"
        findings.append(scan_error("E032", message, task.file, task.line, task.col))
    job = Job(
        id=f"{dag.dag_id}.{task.task_id}",
        dag_id=dag.dag_id,
        task_id=task.task_id,
        file=task.file,
        line=task.line,
        operator=task.operator,
        dialect=dialect,
        sql_status=sql_status(task, statements, rendered),
        dialect_source=dialect_source,
        dialect_confidence=confidence,
        sources=task.sql,
        rendered=tuple(rendered),
        statements=tuple(statements),
        time_variables=tuple(sorted({v for r in rendered for v in r.time_variables})),
        lookback_days=tuple(sorted({d for r in rendered for d in r.lookback_days})),
    )
    return job, tuple(findings)


def _shift_first_line(findings: Iterable[Finding], source: SqlSource) -> list[Finding]:
    """Columns on the SQL's first line count from the file's line start, not the string's start."""
    if source.col <= 1:
        return list(findings)
    return [replace(f, col=f.col + source.col - 1) if f.line == source.line else f for f in findings]


def sql_status(task: Task, statements: Iterable[Statement], rendered: Iterable[RenderedSql]) -> SqlStatus:
    statements = list(statements)
    if task.opaque:
        return SqlStatus.OPAQUE
    if not task.sql:
        return SqlStatus.MISSING
    if not statements or not all(s.parsed for s in statements):
        return SqlStatus.UNPARSED
    if any(f.code in {"E012", "E014"} for r in rendered for f in r.findings):
        return SqlStatus.UNPARSED
    return SqlStatus.PARSED


@dataclass(frozen=True)
class FileScan:
    dags: tuple[Dag, ...] = ()
    jobs: tuple[Job, ...] = ()
    control_tasks: int = 0
    findings: tuple[Finding, ...] = ()


def scan_python_file(
    module: ModuleSource, root: Path, classes: Mapping[str, ClassInfo], config: KappaConfig, cache: FileCache
) -> FileScan:
    """Every DAG, task and job of one Python file."""
    if module.tree is None:
        return FileScan(findings=module.findings)
    if not module.might_contain_dag:
        return FileScan()
    result = parse_dag_file(module.file, module.tree, root, classes, config, cache.read)
    findings = list(result.findings)
    by_dag: dict[str, list[ParsedTask]] = {}
    for parsed in result.tasks:
        dag_id = parsed.dag.dag_id
        if isinstance(dag_id, str):
            by_dag.setdefault(dag_id, []).append(parsed)
    dags: list[Dag] = []
    jobs: list[Job] = []
    control = 0
    for dag in result.dags:
        parsed_tasks = {p.draft.task_id: p for p in by_dag.get(dag.dag_id, [])}
        filled: list[Task] = []
        macros = user_macros(result.user_macros.get(dag.dag_id, {}))
        for found in dag.tasks:
            parsed = parsed_tasks[found.task_id]
            task, extract_problems = extract_sql(parsed, found, dag, root, config, cache.read)
            filled.append(task)
            if operator_kind(parsed) is OperatorKind.CONTROL:
                control += 1
                findings.extend(extract_problems)
                continue
            job, problems = render_and_parse(task, dag, macros, root)
            job_findings = sorted({*extract_problems, *problems}, key=Finding.sort_key)
            jobs.append(replace(job, findings=tuple(job_findings)))
        dags.append(replace(dag, tasks=tuple(filled)))
    return FileScan(tuple(dags), tuple(jobs), control, tuple(findings))


def scan(root: Path, *, config_path: Path | None = None, progress: Progress | None = None) -> Analysis:
    """Scan an Airflow repository statically and analyse its jobs.

    >>> analysis = scan(Path("samples"))  # doctest: +SKIP
    >>> analysis.jobs[0].sql_status, analysis.jobs[0].pattern  # doctest: +SKIP
    (<SqlStatus.PARSED: 'parsed'>, <Pattern.TRANSFORM: 'transform'>)
    """
    return analyze(collect(root, config_path=config_path, progress=progress))


def collect(root: Path, *, config_path: Path | None = None, progress: Progress | None = None) -> Analysis:
    """Every DAG, task and job of a repository, with its SQL parsed; no patterns yet."""
    root = root.resolve()
    inventory = discover(root)
    config, config_findings = load_config(root, config_path)
    cache = FileCache(root)
    modules = [load_module(file, cache) for file in inventory.python_files]
    classes: dict[str, ClassInfo] = {}
    for module in modules:
        if module.tree is not None:
            for name, info in index_classes(module.file, module.tree).items():
                classes.setdefault(name, info)
    dags: list[Dag] = []
    jobs: list[Job] = []
    findings: list[Finding] = [*inventory.findings, *config_findings]
    control_tasks = 0
    for module in modules:
        if progress is not None:
            progress(module.file, len(modules))
        scanned = scan_python_file(module, root, classes, config, cache)
        dags.extend(scanned.dags)
        jobs.extend(scanned.jobs)
        control_tasks += scanned.control_tasks
        findings.extend(scanned.findings)
    findings.extend(_duplicate_dags(dags))
    sql_texts = [(path, text) for path in inventory.sql_files if (text := cache.read(path)) is not None]
    schemas, schema_findings = discover_schemas(sql_texts, dialect_from_path)
    findings.extend(schema_findings)
    # unreadable .sql files (Python files report theirs through load_module)
    findings.extend(f for path, f in cache.findings.items() if path not in inventory.python_files)
    unique = sorted(set(findings), key=Finding.sort_key)
    return Analysis(
        root=root.as_posix(),
        dags=tuple(sorted(dags, key=lambda d: (d.dag_id, d.file, d.line))),
        jobs=tuple(sorted(jobs, key=lambda j: j.id)),
        findings=tuple(unique),
        files_scanned=len(inventory.python_files) + len(inventory.sql_files),
        extra={
            "python_files": len(inventory.python_files),
            "sql_files": len(inventory.sql_files),
            "control_tasks": control_tasks,
            "tool_version": __version__,
            "schemas": schemas,
        },
    )


def _duplicate_dags(dags: Iterable[Dag]) -> list[Finding]:
    counts = Counter(d.dag_id for d in dags)
    findings = []
    for dag in dags:
        if counts[dag.dag_id] > 1:
            message = f"dag_id {dag.dag_id!r} is defined {counts[dag.dag_id]} times"
            findings.append(scan_error("E023", message, dag.file, dag.line))
    return findings


def _markers(job: Job) -> dict[str, str]:
    markers: dict[str, str] = {}
    for rendered in job.rendered:
        markers.update(rendered.markers)
    return markers


def inherit_keys(jobs: list[Job], lineage: LineageGraph) -> list[Job]:
    """An UPDATE or DELETE shows no key of its own: the table's key is the one its producer writes
    by (`UPDATE analytics.order_facts ...` is keyed like the job that loads order_facts)."""
    keys = {job.id: job.upsert_key for job in jobs}
    inherited = []
    for job in jobs:
        if job.upsert_key or job.classification is Classification.NONE:
            inherited.append(job)
            continue
        producers = [p for t in job.writes for p in lineage.producers(t) if p != job.id and keys.get(p)]
        inherited.append(replace(job, upsert_key=keys[producers[0]]) if producers else job)
    return inherited


def analyze(analysis: Analysis) -> Analysis:
    """Statement analysis, lineage, pattern rules and classification for every job.

    Two passes: the first gives each job its reads and writes so the lineage graph exists; the
    rules then ask the graph who else produces a table.
    """
    analysed: dict[str, tuple[tuple[Statement, StatementAnalysis], ...]] = {}
    jobs: list[Job] = []
    for job in analysis.jobs:
        markers = _markers(job)
        pairs = tuple((s, analyze_statement(s, markers)) for s in job.statements if s.parsed)
        analysed[job.id] = pairs
        reads = {t for _, a in pairs for t in a.reads}
        writes = {t for _, a in pairs if not is_maintenance(a) for t in a.writes}
        maintains = {t for _, a in pairs if is_maintenance(a) for t in a.writes}
        jobs.append(
            replace(
                job,
                reads=tuple(sorted(reads)),
                writes=tuple(sorted(writes)),
                maintains=tuple(sorted(maintains)),
            )
        )
    lineage = build_lineage(jobs, analysis.dags)
    upserted = frozenset(
        table for pairs in analysed.values() for _, a in pairs if a.kind in {"merge", "update"} for table in a.writes
    )
    dags = {dag.dag_id: dag for dag in analysis.dags}
    schemas = analysis.extra.get("schemas") or {}
    partitions = {table: definition.partitioned_by for table, definition in schemas.items()}
    finished: list[Job] = []
    for job in jobs:
        dag = dags[job.dag_id]
        task = next(t for t in dag.tasks if t.task_id == job.task_id)
        facts = JobFacts(job, dag, task, analysed[job.id], lineage, upserted, partitions)
        detection = detect(facts)
        verdict = classify(facts, detection.pattern)
        findings = sorted({*job.findings, *detection.findings, *verdict.findings}, key=Finding.sort_key)
        finished.append(
            replace(
                job,
                pattern=detection.pattern,
                pattern_confidence=detection.confidence,
                classification=verdict.classification,
                sink_mode=verdict.sink_mode,
                upsert_key=verdict.upsert_key,
                state_ttl_days=verdict.state_ttl_days,
                allowed_lateness_days=verdict.allowed_lateness_days,
                findings=tuple(findings),
            )
        )
    finished = inherit_keys(finished, lineage)
    annotations = {j.id: {"pattern": j.pattern.value, "classification": j.classification.value} for j in finished}
    graph = build_lineage(finished, analysis.dags, annotations)
    return replace(analysis, jobs=tuple(finished), extra={**analysis.extra, "graph": graph.to_dict()})
