"""The scan pipeline: discover -> parse_dags -> extract_sql -> render -> parse_sql -> Analysis.

Each Python file is scanned on its own (`scan_python_file`), so one broken file never stops the
others and files can later be scanned in parallel. The only I/O is reading the user's files,
through `discover.read_text`, with a per-run cache so each file is read once.
"""

from __future__ import annotations

import ast
import contextlib
import gc
import multiprocessing
import multiprocessing.context
import os
import os.path
import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import __version__
from .cache import (
    BYTES,
    TEXT,
    Dependency,
    Entry,
    Manifest,
    OpenRecorder,
    ScanCache,
    bytes_digest,
    digest,
    encode_entry,
    layout_digest,
    recorded,
    tool_digest,
    write_entry,
    write_object_entry,
)
from .classify import classify
from .config import KappaConfig, load_config
from .dags import ClassInfo, FunctionRef, ParsedTask, index_classes, parse_dag_file, plain
from .detect import detect
from .discover import discover, read_text
from .errors import scan_error
from .history import merge_live
from .lineage import LineageGraph, build_lineage
from .model_sources import scan_models
from .models import (
    Analysis,
    Classification,
    Dag,
    Finding,
    Job,
    LiveAirflow,
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
from .schemas import TableDef, dialect_from_path, discover_schemas
from .secrets import Redactor, sql_text_findings
from .secrets import find_in_module as find_secrets
from .sql import StatementAnalysis, analyze_statement, forget_parsed_trees, guess_dialect, parse_statements
from .tasks import extract_sql, operator_kind

Progress = Callable[[str, int], None]  # (file just scanned, number of Python files)
AnalysisKey = tuple[str, str, tuple[tuple[str, str], ...]]  # (sql, dialect, sorted markers)
Analyses = Mapping[AnalysisKey, StatementAnalysis]
MIN_PARALLEL_FILES = 32  # fewer Python files to parse: starting workers costs more than it saves
FILE_BUDGET_SECONDS = 30.0  # one Python file's scan (its DAGs, SQL, templates); then E008


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


def render_and_parse(
    task: Task, dag: Dag, macros: Mapping[str, Any], root: Path, deadline: float | None = None
) -> tuple[Job, tuple[Finding, ...]]:
    """Render each SQL source of a task, decide the dialect if still open, parse the statements.

    Past `deadline` (a `time.monotonic()` value) nothing more is rendered or parsed (E008).
    """
    params = {**dag.params, **task.params}
    dag_dir = Path(dag.file).parent.as_posix()
    search_path = (dag_dir, *dag.template_searchpath)  # Airflow looks in the DAG's folder first
    findings: list[Finding] = []
    rendered: list[RenderedSql] = []
    for source in task.sql:
        result = render_sql(
            source, root=root, search_path=search_path, params=params, user_defined_macros=macros, deadline=deadline
        )
        rendered.append(result)
        findings.extend(result.findings)
    dialect, dialect_source, confidence = task.dialect, task.dialect_source, task.dialect_confidence
    if dialect is None and rendered:
        text = "\n;\n".join(r.text for r in rendered)
        guessed, guess_confidence = guess_dialect(text, CANDIDATE_DIALECTS, deadline)
        if guessed is not None:
            dialect, dialect_source, confidence = guessed, "parse", guess_confidence
    statements: list[Statement] = []
    for source, result in zip(task.sql, rendered, strict=True):
        if not result.text.strip():
            continue
        parsed, problems = parse_statements(
            result.text,
            dialect or "",
            file=source.file,
            line=source.line,
            start_index=len(statements),
            deadline=deadline,
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
        rendered=tuple(r.without_text() for r in rendered),
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
    """Every DAG, task and job of one Python file.

    Secrets in the file are reported (E050) and redacted from everything captured into the
    models; the file's scan stops at its time budget (E008).
    """
    if module.tree is None:
        return FileScan(findings=module.findings)
    if not module.might_contain_dag:
        return FileScan()
    deadline = time.monotonic() + FILE_BUDGET_SECONDS
    secrets = find_secrets(module.file, module.tree)
    redact = Redactor(secrets.values)
    result = parse_dag_file(module.file, module.tree, root, classes, config, cache.read, deadline)
    findings = [*redact.findings(result.findings), *secrets.findings]
    by_dag: dict[str, list[ParsedTask]] = {}
    for parsed in result.tasks:
        dag_id = parsed.dag.dag_id
        if isinstance(dag_id, str):
            by_dag.setdefault(dag_id, []).append(parsed)
    dags: list[Dag] = []
    jobs: list[Job] = []
    control = 0
    for found_dag in result.dags:
        dag = redact.dag(found_dag)  # params, default_args and docs, before templates use them
        parsed_tasks = {p.draft.task_id: p for p in by_dag.get(dag.dag_id, [])}
        filled: list[Task] = []
        macros = redact.value(user_macros(result.user_macros.get(dag.dag_id, {})))
        for found in dag.tasks:
            parsed = parsed_tasks[found.task_id]
            task, extract_problems = extract_sql(parsed, found, dag, root, config, cache.read)
            findings.extend(f for s in task.sql if s.file != module.file for f in sql_text_findings(s))
            task = redact.task(task)
            filled.append(task)
            if operator_kind(parsed) is OperatorKind.CONTROL:
                control += 1
                findings.extend(redact.findings(extract_problems))
                continue
            job, problems = render_and_parse(task, dag, macros, root, deadline)
            job_findings = sorted({*extract_problems, *problems}, key=Finding.sort_key)
            jobs.append(redact.job(replace(job, findings=tuple(job_findings))))
        dags.append(replace(dag, tasks=tuple(filled)))
    return FileScan(tuple(dags), tuple(jobs), control, tuple(sorted(set(findings), key=Finding.sort_key)))


def scan(
    root: Path,
    *,
    config_path: Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
    sql_folders: Sequence[str] = (),
    dialect: str | None = None,
) -> Analysis:
    """Scan an Airflow repository statically and analyse its jobs.

    `jobs` worker processes parse the files (1: all in this process); with `cache_dir`, files
    whose result is cached and still valid are not parsed again (see `analyzer.cache`). The
    result is the same whatever the number of workers and whatever the cache holds. dbt projects
    and the query files of `sql_folders` (in `dialect`) are jobs too (`analyzer.model_sources`).

    >>> analysis = scan(Path("samples"), jobs=2, cache_dir=Path(".kappa-cache"))  # doctest: +SKIP
    >>> analysis.jobs[0].sql_status, analysis.jobs[0].pattern  # doctest: +SKIP
    (<SqlStatus.PARSED: 'parsed'>, <Pattern.TRANSFORM: 'transform'>)
    """
    return scan_with_stats(
        root,
        config_path=config_path,
        progress=progress,
        jobs=jobs,
        cache_dir=cache_dir,
        sql_folders=sql_folders,
        dialect=dialect,
    )[0]


def scan_with_stats(
    root: Path,
    *,
    config_path: Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
    min_parallel_files: int = MIN_PARALLEL_FILES,
    sql_folders: Sequence[str] = (),
    dialect: str | None = None,
) -> tuple[Analysis, ScanStats]:
    """`scan`, and how the work was done: files parsed and reused, workers used."""
    collected = collect_files(
        root,
        config_path=config_path,
        progress=progress,
        jobs=jobs,
        cache_dir=cache_dir,
        min_parallel_files=min_parallel_files,
        sql_folders=sql_folders,
        dialect=dialect,
        reuse_run=True,
    )
    if collected.finished:
        return collected.analysis, collected.stats
    run, stats = collected.run, collected.stats
    freeze_kept()
    analysis = analyze(collected.analysis, collected.analyses)
    del collected  # the statement analyses and the unanalysed jobs: not held while the result is stored
    freeze_kept()
    if run is not None:
        run.store(analysis)
    return analysis, stats


def collect(root: Path, *, config_path: Path | None = None, progress: Progress | None = None) -> Analysis:
    """Every DAG, task and job of a repository, with its SQL parsed; no patterns yet."""
    return collect_files(root, config_path=config_path, progress=progress).analysis


def collect_sources(sources: Iterable[tuple[str, str]], root: Path, *, config_path: Path | None = None) -> Analysis:
    """`collect` for DAG files handed over as text, `(path, text)` pairs: the sources a live Airflow
    returned (`analyzer.airflow_api`). Each goes through the same per-file parse as a repository's
    files; what a DAG reads besides (SQL templates) comes from `root` when it has it."""
    root = root.resolve()
    config, config_findings = load_config(root, config_path)
    texts = dict(sources)
    classes: dict[str, ClassInfo] = {}
    for file, text in sorted(texts.items()):
        for name, info in _parse_classes(file, text).items():
            classes.setdefault(name, info)
    scans = []
    for file in sorted(texts):
        cache = FileCache(root, texts=dict(texts))  # one per file, as in `FileScanner`
        scans.append(scan_python_file(load_module(file, cache), root, classes, config, cache))
    dags = [dag for s in scans for dag in s.dags]
    findings = [*config_findings, *(f for s in scans for f in s.findings), *_duplicate_dags(dags)]
    return Analysis(
        root=root.as_posix(),
        dags=tuple(sorted(dags, key=lambda d: (d.dag_id, d.file, d.line))),
        jobs=tuple(sorted((job for s in scans for job in s.jobs), key=lambda j: j.id)),
        findings=tuple(sorted(set(findings), key=Finding.sort_key)),
        files_scanned=len(texts),
        extra={"python_files": len(texts), "sql_files": 0, "control_tasks": sum(s.control_tasks for s in scans)},
    )


def scan_live(
    live: LiveAirflow,
    root: Path | None = None,
    *,
    config_path: Path | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
) -> Analysis:
    """Analyse what a live Airflow returned (`airflow_api.read_airflow`), merged with the static
    scan of its repository at `root` when there is one: the repository's DAGs come first, the
    sources Airflow holds add the DAGs it does not have, and the run history is evidence."""
    if root is None:
        with tempfile.TemporaryDirectory(prefix="kappa-airflow-") as empty:  # nothing to read besides the sources
            static = Analysis(root="", dags=(), jobs=(), findings=())
            from_airflow = collect_sources(live.sources, Path(empty), config_path=config_path)
            return analyze(merge_live(static, from_airflow, live))
    collected = collect_files(root, config_path=config_path, jobs=jobs, cache_dir=cache_dir)
    from_airflow = collect_sources(live.sources, root, config_path=config_path)
    return analyze(merge_live(collected.analysis, from_airflow, live), collected.analyses)


# ------------------------------------------------------------------ the unit of work: one file


DAG, SCHEMA, RUN = "dag", "schema", "run"  # the kinds of cached work: a file's scan, or the whole run's


@dataclass(frozen=True)
class FileResult:
    """Everything scanning one Python file gives the run: what the cache keeps, what workers send."""

    scan: FileScan
    analyses: tuple[tuple[AnalysisKey, StatementAnalysis], ...] = ()
    read_findings: tuple[tuple[str, Finding], ...] = ()  # (path, finding) of files it could not read


@dataclass(frozen=True)
class SchemaResult:
    """The table definitions of one SQL file."""

    defs: tuple[tuple[str, TableDef], ...] = ()
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class ScanStats:
    python_files: int = 0
    sql_files: int = 0
    parsed: int = 0  # files parsed in this run
    reused: int = 0  # files whose cached result was used
    workers: int = 0  # worker processes (0: everything in this process)
    cache_dir: str | None = None
    whole_run_reused: bool = False  # nothing changed: the analysed result came from the cache


@dataclass(frozen=True)
class RunRecord:
    """The whole scan's cache entry: its analysed result, valid while every file any part of the
    scan read (each file's scan, the SQL files, the dbt and SQL-folder scan) reads the same.

    `analyze` is a pure function of what the files gave, so an unchanged repository needs neither
    the files' cached results nor the rules again: one entry gives the finished analysis.
    """

    folder: Path
    context: str  # the cache's (tool, root, configuration, layout) and the scan's own, `_run_context`
    reads: tuple[Dependency, ...]

    def store(self, analysis: Analysis) -> None:
        if _timed_out(analysis):  # cut short by the clock: never cached
            return
        own = Dependency(RUN, "", digest(*(f"{d.kind} {d.path} {d.digest}" for d in self.reads)))
        try:
            write_object_entry(self.folder, RUN_ENTRY, Manifest(self.context, own, self.reads), _run_parts(analysis))
        except Exception:  # a cache that cannot be written is simply not written
            return


_RUN_PART = 256  # DAGs or jobs pickled together in a run's entry


def _run_parts(analysis: Analysis) -> Iterator[Any]:
    """The analysis without its DAGs and jobs, their number, then the DAGs and the jobs a few
    hundred at a time."""
    yield replace(analysis, dags=(), jobs=())
    yield len(analysis.dags)
    for items in (analysis.dags, analysis.jobs):
        for start in range(0, len(items), _RUN_PART):
            yield items[start : start + _RUN_PART]


def _analysis_from_parts(parts: Sequence[Any]) -> Analysis | None:
    """`_run_parts` put back together; None when the parts are not what it writes."""
    if len(parts) < 2 or not isinstance(parts[0], Analysis) or not isinstance(parts[1], int):
        return None
    dags: list[Dag] = []
    jobs: list[Job] = []
    for part in parts[2:]:
        if not isinstance(part, tuple):
            return None
        (dags if len(dags) < parts[1] else jobs).extend(part)
    if len(dags) != parts[1] or not all(isinstance(d, Dag) for d in dags) or not all(isinstance(j, Job) for j in jobs):
        return None
    return replace(parts[0], dags=tuple(dags), jobs=tuple(jobs))


def _run_context(context: str, sql_folders: Sequence[str], dialect: str | None, findings: Iterable[Finding]) -> str:
    """The cache's context and what else the run's result depends on: its options, and what
    reading the configuration and listing the repository found (a second unknown dialect in
    kappa.toml leaves the same configuration and another finding)."""
    return digest(context, repr((tuple(sql_folders), dialect, tuple(finding.format() for finding in findings))))


def _run_reads(
    store: ScanCache,
    validity: _Validity,
    entries: Mapping[tuple[str, str], Entry | None],
    hits: Iterable[tuple[str, str]],
    models_read: FileCache,
    models_opened: Iterable[str],
) -> tuple[Dependency, ...] | None:
    """Every file the run read, with its digest as read; None when some part left no entry that
    matches the files as they are (a scan cut short by the clock, an entry that could not be
    written and an older one left in its place) or a file changed mid-run."""
    reused = set(hits)
    manifests: list[Manifest] = []
    for key, entry in entries.items():
        if key in reused:
            current = entry
        else:  # the entry this run just wrote, if it could
            current = store.entry(*key)
            if current is not None and not validity.fresh(current.manifest):
                return None
        if current is None:
            return None
        manifests.append(current.manifest)
    found: dict[tuple[str, str], str] = {}
    dependencies = [d for m in manifests for d in (m.own, *m.reads)]
    dependencies.extend(
        Dependency(TEXT, path, text_digest(text, models_read.findings.get(path)))
        for path, text in models_read.texts.items()
    )
    dependencies.extend(
        Dependency(BYTES, path, bytes_digest(models_read.root / path))
        for path in recorded(models_opened, models_read.texts)
    )
    for dependency in dependencies:
        if found.setdefault((dependency.kind, dependency.path), dependency.digest) != dependency.digest:
            return None
    return tuple(Dependency(kind, path, value) for (kind, path), value in sorted(found.items()))


def _finished_run(store: ScanCache, context: str, validity: _Validity, files: Sequence[str]) -> Analysis | None:
    """The whole run's cached result, when every file it read still reads the same.

    `files` (the repository's Python and SQL files) are digested first, so that a changed file is
    found before anything else is read.
    """
    entry = store.entry(RUN, "", context)
    if entry is None:
        return None
    read = {(d.kind, d.path): d.digest for d in entry.manifest.reads}
    if any(validity.current(Dependency(TEXT, file, "")) != read.get((TEXT, file)) for file in files):
        return None
    if any(validity.current(d) != d.digest for d in entry.manifest.reads):
        return None
    parts = entry.payload_parts()
    return _analysis_from_parts(parts) if parts is not None else None


@dataclass(frozen=True)
class Collected:
    analysis: Analysis
    analyses: Analyses  # statement analyses done while parsing, for `analyze`
    stats: ScanStats
    finished: bool = False  # `analysis` is the cached, already analysed result of the whole scan
    run: RunRecord | None = None  # where to keep the analysed result, when every part could be cached


def text_digest(text: str | None, finding: Finding | None) -> str:
    """What a read through the scanner's reader returned: the text, or why there was none."""
    if text is not None:
        return digest("text", text)
    return digest("unreadable", finding.format() if finding is not None else "")


class _RecordingClasses(Mapping[str, ClassInfo]):
    """The repository's class index, noting each name a file's scan looks up (for the cache)."""

    def __init__(self, classes: Mapping[str, ClassInfo]) -> None:
        self._classes = classes
        self.lookups: dict[str, str] = {}

    def __getitem__(self, name: str) -> ClassInfo:
        self.lookups[name] = repr(self._classes.get(name))
        return self._classes[name]

    def __iter__(self) -> Iterator[str]:
        self.lookups["*"] = _index_digest(self._classes)
        return iter(self._classes)

    def __len__(self) -> int:
        self.lookups["*"] = _index_digest(self._classes)
        return len(self._classes)


def _index_digest(classes: Mapping[str, ClassInfo]) -> str:
    return digest(repr(sorted(classes.items())))


def _lookup_value(name: str, classes: Mapping[str, ClassInfo]) -> str:
    return _index_digest(classes) if name == "*" else repr(classes.get(name))


def _parse_classes(file: str, text: str) -> dict[str, ClassInfo]:
    """The classes a module defines; a module that does not parse defines none (as in load_module)."""
    if "class" not in text:  # no `class` keyword, no ClassDef: skip the parse
        return {}
    try:
        tree = ast.parse(text, filename=file)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    return index_classes(file, tree)


def statement_analyses(jobs: Iterable[Job]) -> tuple[tuple[AnalysisKey, StatementAnalysis], ...]:
    """The analysis of every parsed statement, done where the statement was parsed."""
    found: dict[AnalysisKey, StatementAnalysis] = {}
    for job in jobs:
        markers = _markers(job)
        items = tuple(sorted(markers.items()))
        for statement in job.statements:
            key = (statement.sql, statement.dialect, items)
            if statement.parsed and key not in found:
                found[key] = analyze_statement(statement, markers)
    return tuple(found.items())


@dataclass
class FileScanner:
    """Scans one file at a time, in this process or in a worker, and stores the result in the cache.

    Each file gets its own `FileCache`, so what a scan read is exactly what its result depends
    on, and nothing is held from one file to the next.
    """

    root: Path
    classes: Mapping[str, ClassInfo]
    config: KappaConfig
    cache_folder: Path | None = None
    context: str = ""

    def scan_dag_file(self, file: str) -> bytes | FileResult:
        files = FileCache(self.root)
        lookups = _RecordingClasses(self.classes)
        with OpenRecorder(self.root) as opened:
            module = load_module(file, files)
            try:
                scanned = scan_python_file(module, self.root, lookups, self.config, files)
            except Exception as error:  # a bug of kappa's on one file must not end the scan of all the others
                message = f"kappa failed on {file} ({type(error).__name__}); please report it with the file"
                scanned = FileScan(findings=(scan_error("E009", message, file),))
        result = FileResult(
            scanned,
            statement_analyses(scanned.jobs),
            tuple(sorted(files.findings.items())),
        )
        forget_parsed_trees()
        if self.cache_folder is None:
            return result
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if _timed_out(scanned):  # a result cut short by the clock depends on the machine's load
            return data
        own = Dependency(TEXT, file, text_digest(files.texts.get(file), files.findings.get(file)))
        reads = [
            Dependency(TEXT, path, text_digest(text, files.findings.get(path)))
            for path, text in sorted(files.texts.items())
            if path != file
        ]
        reads.extend(
            Dependency(BYTES, path, bytes_digest(self.root / path))
            for path in recorded(opened.paths, [file, *files.texts])
        )
        manifest = Manifest(
            self.context,
            own,
            tuple(reads),
            tuple(sorted(lookups.lookups.items())),
            index_classes(file, module.tree) if module.tree is not None else {},
        )
        write_entry(self.cache_folder, _slot_name(DAG, file), encode_entry(manifest, data))
        return data

    def scan_sql_file(self, file: str) -> bytes | SchemaResult:
        files = FileCache(self.root)
        text = files.read(file)
        result = SchemaResult()
        if text is not None:
            defs, findings = discover_schemas([(file, text)], dialect_from_path)
            result = SchemaResult(tuple(defs.items()), findings)
            forget_parsed_trees()
        if self.cache_folder is None:
            return result
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        own = Dependency(TEXT, file, text_digest(text, files.findings.get(file)))
        write_entry(self.cache_folder, _slot_name(SCHEMA, file), encode_entry(Manifest(self.context, own), data))
        return data


def _timed_out(scanned: FileScan | Analysis) -> bool:
    """The scan hit its time budget (E008): such a result is never cached."""
    everything = [*scanned.findings, *(f for job in scanned.jobs for f in job.findings)]
    return any(finding.code == "E008" for finding in everything)


def _slot_name(kind: str, relative: str) -> str:
    return f"{digest(kind, relative)}.entry"


RUN_ENTRY = _slot_name(RUN, "")  # the file name of the run's entry in the cache folder


_WORKER: FileScanner | None = None

# Net allocations between two collections of the youngest generation (Python's default: 700)
GC_THRESHOLDS = (10_000, 10, 10)


_GC_TUNED = False  # this process is the scan's own (`tune_gc`): what it keeps may be frozen


def tune_gc() -> None:
    """Collect cyclic garbage less often, and never look again at what is loaded already.

    sqlglot's trees link children to parents, so every parse leaves cycles for the collector,
    which with Python's defaults runs about 1,100 times in a 100-DAG scan and takes 14% of it
    (timed with `gc.callbacks`; 9% once the modules are frozen, 6% at these thresholds, for 4 MiB
    more memory). For processes the scan owns: its workers, and the command line.
    """
    global _GC_TUNED  # noqa: PLW0603 - once per process, by its owner
    _GC_TUNED = True
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def freeze_kept(*, collect_garbage: bool = True) -> None:
    """In a process the scan owns, collect the cyclic garbage made since the last freeze (unless
    the caller knows there is none), then take what is alive out of the collector's sight.

    The scanning process keeps every DAG, job and statement analysis to the end, and holds no
    cycles among them (frozen dataclasses of strings and tuples): each full collection walked them
    all again, 10 to 15 times as they grew (1.2 s each at 10,000 DAGs). Frozen objects are still
    freed when nothing refers to them, but cyclic garbage frozen would stay for good: the parse
    trees of a scan without workers (a 1,000-DAG `--jobs 1` scan peaked at 918 MiB), the lineage
    graph after the analysis (75 MiB at 10,000 DAGs). The collection sees only what was made since
    the last freeze, so it costs about what the collector would spend on it anyway.
    """
    if _GC_TUNED:
        if collect_garbage:
            gc.collect()
        gc.freeze()


def _start_worker(scanner: FileScanner) -> None:
    global _WORKER  # noqa: PLW0603 - one scanner per worker process, set once by the pool
    _WORKER = scanner
    tune_gc()


def _scan_dag_in_worker(file: str) -> bytes | FileResult:
    assert _WORKER is not None
    return _WORKER.scan_dag_file(file)


def _scan_sql_in_worker(file: str) -> bytes | SchemaResult:
    assert _WORKER is not None
    return _WORKER.scan_sql_file(file)


def _loaded(value: bytes | FileResult | SchemaResult) -> Any:
    # bytes come from this run's own scanner (a worker, or this process with a cache): trusted
    return pickle.loads(value) if isinstance(value, bytes) else value


def _drop_queued_files_on_error(pool: ProcessPoolExecutor) -> Callable[..., bool]:
    """An exit callback that, when the scan ends with an exception (Ctrl-C, SIGTERM, a failed
    merge), drops the files the workers have not started, so that the pool's own exit waits only
    for the few they hold, not for every queued file (a 10,000-DAG scan stopped early ran to its
    end). The workers are not killed: one ended while it sends a result leaves the pool's reader
    waiting for the rest of it, and the process hangs on exit."""

    def drop(exc_type: type[BaseException] | None, *_exc: object) -> bool:
        if exc_type is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        return False  # the exception goes on

    return drop


def available_cpus() -> int:
    """The CPUs this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def pool_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one: workers start from a clean process that has already
    imported the scanner (no fork of a process running threads, no import per worker)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


@dataclass
class _Validity:
    """Whether a cache entry's dependencies still read the same; each file is digested once."""

    root: Path
    classes: Mapping[str, ClassInfo]
    known: dict[tuple[str, str], str] = field(default_factory=dict)

    def current(self, dependency: Dependency) -> str:
        key = (dependency.kind, dependency.path)
        if key not in self.known:
            if dependency.kind == TEXT:
                result = read_text(self.root / dependency.path, self.root)
                self.known[key] = text_digest(result.text, result.finding)
            else:
                self.known[key] = bytes_digest(self.root / dependency.path)
        return self.known[key]

    def fresh(self, manifest: Manifest) -> bool:
        if any(self.current(d) != d.digest for d in (manifest.own, *manifest.reads)):
            return False
        return all(_lookup_value(name, self.classes) == value for name, value in manifest.lookups)


def collect_files(
    root: Path,
    *,
    config_path: Path | None = None,
    progress: Progress | None = None,
    jobs: int = 1,
    cache_dir: Path | None = None,
    min_parallel_files: int = MIN_PARALLEL_FILES,
    sql_folders: Sequence[str] = (),
    dialect: str | None = None,
    reuse_run: bool = False,
) -> Collected:
    """`collect`, in `jobs` worker processes and through the cache in `cache_dir` (None: no cache).

    The repository's class index is built first (custom operators, from every module); then
    each Python file is scanned on its own (its DAGs, tasks, rendered and parsed SQL, statement
    analyses) and each SQL file read for table definitions, by the workers or from the cache;
    results are merged in file order so the outcome does not depend on who scanned what.
    With `reuse_run`, the whole run's analysed result is taken from the cache when nothing it
    read changed (`Collected.finished`), and otherwise `Collected.run` says where to keep it.
    """
    root = root.resolve()
    inventory = discover(root)
    config, config_findings = load_config(root, config_path)
    store: ScanCache | None = None
    if cache_dir is not None:
        cache_dir = cache_dir.resolve()
        context = digest(tool_digest(), root.as_posix(), repr(config), layout_digest(root, [cache_dir]))
        store = ScanCache(cache_dir, root, context)
        store.prepare()
    validity = _Validity(root, {})
    findings: list[Finding] = [*inventory.findings, *config_findings]

    files_found = len(inventory.python_files) + len(inventory.sql_files)
    run_context = _run_context(store.context, sql_folders, dialect, findings) if store is not None else ""
    if store is not None and reuse_run:
        finished = _finished_run(store, run_context, validity, [*inventory.python_files, *inventory.sql_files])
        if finished is not None:
            stats = ScanStats(
                python_files=len(inventory.python_files),
                sql_files=len(inventory.sql_files),
                reused=files_found,
                cache_dir=str(cache_dir),
                whole_run_reused=True,
            )
            return Collected(finished, {}, stats, finished=True)

    # the class index, from every module in file order (the first definition of a name wins)
    classes: dict[str, ClassInfo] = {}
    entries: dict[tuple[str, str], Entry | None] = {}
    for file in inventory.python_files:
        text: str | None = None
        own = validity.known.get((TEXT, file))
        digested_before = own is not None  # for the run's entry, which did not hold: not read here
        if own is None:
            result = read_text(root / file, root)
            text, own = result.text, text_digest(result.text, result.finding)
            validity.known[(TEXT, file)] = own
        entry = store.entry(DAG, file) if store is not None else None
        entries[(DAG, file)] = entry
        if entry is not None and entry.manifest.own.digest == own:
            file_classes: Mapping[str, ClassInfo] = entry.manifest.classes
        else:
            if digested_before:
                text = read_text(root / file, root).text
            file_classes = _parse_classes(file, text) if text is not None else {}
        for name, info in file_classes.items():
            classes.setdefault(name, info)
    validity.classes = classes
    for file in inventory.sql_files:
        result = read_text(root / file, root)
        validity.known[(TEXT, file)] = text_digest(result.text, result.finding)
        if result.finding is not None:
            findings.append(result.finding)
        entries[(SCHEMA, file)] = store.entry(SCHEMA, file) if store is not None else None

    # what the cache still holds
    cached: dict[tuple[str, str], Any] = {}
    for key, entry in entries.items():
        if entry is not None and validity.fresh(entry.manifest):
            payload = entry.payload()
            if isinstance(payload, FileResult if key[0] == DAG else SchemaResult):
                cached[key] = payload
    hits = set(cached)
    dag_misses = [f for f in inventory.python_files if (DAG, f) not in cached]
    sql_misses = [f for f in inventory.sql_files if (SCHEMA, f) not in cached]

    scanner = FileScanner(root, classes, config, store.folder if store else None, store.context if store else "")
    workers = min(jobs, len(dag_misses))
    if workers <= 1 or len(dag_misses) < min_parallel_files:
        workers = 0  # SQL files alone are cheap: they never justify starting workers
    with contextlib.ExitStack() as stack:
        if workers:
            pool = stack.enter_context(
                ProcessPoolExecutor(workers, mp_context=pool_context(), initializer=_start_worker, initargs=(scanner,))
            )
            stack.push(_drop_queued_files_on_error(pool))
            chunk = max(1, min(16, len(dag_misses) // (workers * 8)))
            fresh_dags: Iterator[Any] = pool.map(_scan_dag_in_worker, dag_misses, chunksize=chunk)
            fresh_sql: Iterator[Any] = pool.map(_scan_sql_in_worker, sql_misses, chunksize=max(1, chunk))
        else:
            fresh_dags = map(scanner.scan_dag_file, dag_misses)
            fresh_sql = map(scanner.scan_sql_file, sql_misses)

        dags: list[Dag] = []
        jobs_found: list[Job] = []
        analyses: dict[AnalysisKey, StatementAnalysis] = {}
        unreadable: dict[str, Finding] = {}
        control_tasks = 0
        for file in inventory.python_files:
            cached_result = cached.pop((DAG, file), None)
            scanned: FileResult = cached_result if cached_result is not None else _loaded(next(fresh_dags))
            if progress is not None:
                progress(file, len(inventory.python_files))
            dags.extend(scanned.scan.dags)
            jobs_found.extend(scanned.scan.jobs)
            control_tasks += scanned.scan.control_tasks
            findings.extend(scanned.scan.findings)
            analyses.update(scanned.analyses)
            unreadable.update(scanned.read_findings)
            # a result from a worker or the cache arrives unpickled, with no cycles to collect
            freeze_kept(collect_garbage=not workers and cached_result is None)
        schemas_found: dict[str, TableDef] = {}
        schema_findings: list[Finding] = []
        for file in inventory.sql_files:
            cached_schema = cached.pop((SCHEMA, file), None)
            schema: SchemaResult = cached_schema if cached_schema is not None else _loaded(next(fresh_sql))
            for table, definition in schema.defs:
                schemas_found.setdefault(table, definition)
            schema_findings.extend(schema.findings)
    if store is not None:
        store.used.add(RUN_ENTRY)  # kept by the sweep, whether or not this run uses it
        store.sweep()
    # dbt models and query files: scanned here, after the DAGs that run them (cached with the run)
    reader = FileCache(root)
    with OpenRecorder(root) as models_opened:
        models = scan_models(
            root,
            inventory,
            dags,
            jobs_found,
            config,
            reader.read,
            sql_folders=sql_folders,
            dialect=dialect,
            known_tables=schemas_found,
        )
    # their secrets: no DAG code to find literals in, but every secret shape is redacted (E050)
    redact = Redactor()
    dags.extend(redact.dag(dag) for dag in models.dags)
    model_jobs = [redact.job(job) for job in models.jobs]
    jobs_found.extend(model_jobs)
    analyses.update(statement_analyses(model_jobs))  # as for a DAG file: analysed where parsed
    forget_parsed_trees()
    findings.extend(f for job in models.jobs for source in job.sources for f in sql_text_findings(source))
    findings.extend([*redact.findings(models.findings), *reader.findings.values()])
    for table, definition in models.schemas:
        schemas_found.setdefault(table, definition)
    findings.extend(_duplicate_dags(dags))
    findings.extend(sorted(schema_findings, key=Finding.sort_key))
    # unreadable files read by a DAG's scan (Python files report theirs through load_module)
    python_files = set(inventory.python_files)
    findings.extend(f for path, f in unreadable.items() if path not in python_files)
    unique = sorted(set(findings), key=Finding.sort_key)
    analysis = Analysis(
        root=root.as_posix(),
        dags=tuple(sorted(dags, key=lambda d: (d.dag_id, d.file, d.line))),
        jobs=tuple(sorted(jobs_found, key=lambda j: j.id)),
        findings=tuple(unique),
        files_scanned=len(inventory.python_files) + len(inventory.sql_files),
        extra={
            "python_files": len(inventory.python_files),
            "sql_files": len(inventory.sql_files),
            "control_tasks": control_tasks,
            "tool_version": __version__,
            "schemas": dict(sorted(schemas_found.items())),
            "models": dict(models.counts),
        },
    )
    stats = ScanStats(
        python_files=len(inventory.python_files),
        sql_files=len(inventory.sql_files),
        parsed=len(dag_misses) + len(sql_misses),
        reused=len(inventory.python_files) + len(inventory.sql_files) - len(dag_misses) - len(sql_misses),
        workers=workers,
        cache_dir=str(cache_dir) if cache_dir is not None else None,
    )
    run = None
    if store is not None and reuse_run:
        reads = _run_reads(store, validity, entries, hits, reader, models_opened.paths)
        run = RunRecord(store.folder, run_context, reads) if reads is not None else None
    return Collected(analysis, analyses, stats, run=run)


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


def _statement_analysis(
    statement: Statement, markers: Mapping[str, str], items: tuple[tuple[str, str], ...], done: Analyses
) -> StatementAnalysis:
    found = done.get((statement.sql, statement.dialect, items))
    return found if found is not None else analyze_statement(statement, markers)


def analyze(analysis: Analysis, analyses: Analyses | None = None) -> Analysis:
    """Statement analysis, lineage, pattern rules and classification for every job.

    Two passes: the first gives each job its reads and writes so the lineage graph exists; the
    rules then ask the graph who else produces a table. `analyses` holds statement analyses
    already done where the statements were parsed (`collect_files`); the rest are done here.
    """
    done: Analyses = analyses or {}
    analysed: dict[str, tuple[tuple[Statement, StatementAnalysis], ...]] = {}
    jobs: list[Job] = []
    for job in analysis.jobs:
        markers = _markers(job)
        items = tuple(sorted(markers.items()))
        pairs = tuple((s, _statement_analysis(s, markers, items, done)) for s in job.statements if s.parsed)
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
    # what the rules changed (patterns, classes, keys, findings) moves no table: the same graph
    graph = lineage.to_dict(annotations)
    return replace(analysis, jobs=tuple(finished), extra={**analysis.extra, "graph": graph})
