"""The `kappa` command line: declarations and one pipeline call per command.

Exit codes: 0 the command ran; 1 a `--fail-on` threshold was crossed; 2 bad usage.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from generators.config import load_generate_config
from generators.connectors import CONNECTORS
from generators.flink import GENERATED, GeneratedJob, statuses
from generators.flink_dialect import require_flink_dialect
from generators.generation import generate_analysis, generation_files
from generators.output import write_atomically, write_outputs
from generators.report import (
    PAGES_FOLDER,
    Layout,
    WrittenReport,
    load_analysis,
    load_job_files,
    resolve_timestamp,
    write_report,
)
from generators.schema import load_schema_file
from generators.validate import PlannerPool, Validation, connector_jars_in, validate_folder
from generators.verify import DIFFERENT, Equivalence, StreamRunner, generated_in_folder, iter_lines, verify_jobs
from generators.workers import pages_writer

from . import __version__
from .cache import default_cache_dir
from .config import known_dialect
from .contract import analysis_to_dict, iter_json, summary_of
from .errors import OUTPUT_FINDINGS, SCAN_ERRORS, AirflowError, KappaError, UsageError
from .gating import FailOn, crossed, describe
from .history import batch_hours_per_day
from .models import Analysis, Finding
from .pipeline import available_cpus, pool_context, scan_live, tune_gc
from .pipeline import scan as run_scan
from .render import render_sql
from .resources import render_template
from .rules import RULES, RULES_BY_CODE
from .sarif import dumps_sarif
from .sqlglot_build import loaded_build

if TYPE_CHECKING:  # the Airflow client takes seconds to import: only --airflow-url loads it
    from .airflow_api import AirflowSettings

app = typer.Typer(
    name="kappa",
    help="Move Airflow batch pipelines (Lambda architecture) to Flink SQL streaming jobs (Kappa).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False, highlight=False, soft_wrap=True, emoji=False)
error_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)

EXIT_OK, EXIT_THRESHOLD, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"
    SARIF = "sarif"  # SARIF 2.1.0, for code-scanning tools


def fail_on_thresholds(
    command: str, document: Mapping[str, Any], fail_on: list[FailOn] | None, baseline: Path | None
) -> None:
    """Exit 1 when a `--fail-on` condition is crossed (by anything not in the `--baseline`)."""
    if not fail_on:
        return
    before = _usage_errors_exit(command, lambda: load_analysis(baseline)) if baseline is not None else None
    result = crossed(document, fail_on, before)
    if result:
        error_console.print(f"kappa {command}: --fail-on threshold crossed: {describe(result)}", markup=False)
        raise typer.Exit(EXIT_THRESHOLD)


def print_summary(analysis: Analysis, out: Console) -> None:
    summary = summary_of(analysis)
    out.print(
        f"[bold]kappa scan[/bold] {analysis.extra.get('python_files', 0)} Python files, "
        f"{analysis.extra.get('sql_files', 0)} SQL files"
    )
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("DAGs", str(summary["dags"]), "tasks", str(summary["tasks"]), "dependencies", str(summary["edges"]))
    status = summary["sql_status"]
    table.add_row("jobs", str(summary["jobs"]), "control tasks", str(summary["control_tasks"]), "", "")
    table.add_row("parsed", str(status["parsed"]), "unparsed", str(status["unparsed"]), "", "")
    table.add_row("missing", str(status["missing"]), "opaque", str(status["opaque"]), "", "")
    out.print(table)
    out.print(
        f"SQL parse rate: {summary['sql_parse_rate']:.1%} of jobs with SQL "
        f"({summary['statements_parsed']}/{summary['statements']} statements)"
    )
    if any(p != "none" for p in summary["pattern"]):
        out.print("patterns: " + ", ".join(f"{k} {v}" for k, v in summary["pattern"].items()))
        out.print("classes: " + ", ".join(f"{k} {v}" for k, v in summary["classification"].items()))
    out.print("dialects: " + ", ".join(f"{k} {v}" for k, v in summary["dialects"].items()))
    for line in model_lines(analysis.extra.get("models") or {}):
        out.print(line)
    airflow = analysis.extra.get("airflow")
    if airflow is not None:
        out.print(
            f"Airflow {airflow['version']}: {airflow['dags']} DAGs, {airflow['import_errors']} import errors, "
            f"{airflow['runs']} runs in the last {airflow['history_days']} days, "
            f"{batch_hours_per_day(analysis.dags):g} batch hours a day"
        )
    errors = scan_findings(analysis)
    if errors:
        by_code = sorted(Counter(finding.code for finding in errors).items())
        counts = ", ".join(f"{code} {count}" for code, count in by_code)
        out.print(f"\n[bold]{len(errors)} scan findings[/bold] ({counts})")
        for finding in errors:
            out.print(finding.format(), markup=False)


def model_lines(counts: Mapping[str, int]) -> list[str]:
    """What the scan found besides the DAGs: dbt models and query files, and how many parse."""

    def counted(key: str, noun: str) -> str:
        return f"{counts.get(key, 0)} {noun}{'' if counts.get(key, 0) == 1 else 's'}"

    lines = []
    if counts.get("dbt_projects"):
        lines.append(
            f"dbt: {counted('dbt_projects', 'project')}, {counted('dbt_models', 'model')} and "
            f"{counted('dbt_snapshots', 'snapshot')}, {counts.get('dbt_parsed', 0)} parsed"
        )
    if counts.get("sql_query_files") or counts.get("sql_schema_files"):
        schema_files = f" ({counted('sql_schema_files', 'schema file')} only define tables)"
        lines.append(
            f"SQL folders: {counted('sql_query_files', 'query file')}, {counts.get('sql_parsed', 0)} parsed"
            + (schema_files if counts.get("sql_schema_files") else "")
        )
    return lines


def scan_findings(analysis: Analysis) -> list[Finding]:
    """Every E-finding, file-level and job-level, once each, in file order."""
    everything = [*analysis.findings, *(f for job in analysis.jobs for f in job.findings)]
    return sorted({f for f in everything if f.code.startswith("E")}, key=Finding.sort_key)


def markdown_summary(analysis: Analysis) -> str:
    return render_template("scan_summary.md.j2", summary=summary_of(analysis), findings=scan_findings(analysis))


# the scan's speed options, shared by every command that scans a repository
JobsOption = Annotated[int | None, typer.Option("--jobs", "-j", min=1, help="worker processes (default: one per CPU)")]
NoCacheOption = Annotated[bool, typer.Option("--no-cache", help="parse every file, read and write no cache")]
PlannersOption = Annotated[
    int | None,
    typer.Option("--jobs", "-j", min=1, help="planners planning at once, one thread each (default: one per CPU)"),
]
CacheDirOption = Annotated[
    Path | None, typer.Option("--cache-dir", help="cache folder (default: .kappa-cache in the working directory)")
]


@dataclass(frozen=True)
class ScanSpeed:
    """How a command scans: worker processes and the per-file cache (None: no cache)."""

    jobs: int = 1
    cache_dir: Path | None = None

    @classmethod
    def chosen(cls, jobs: int | None, no_cache: bool, cache_dir: Path | None) -> ScanSpeed:
        return cls(jobs or available_cpus(), None if no_cache else (cache_dir or default_cache_dir()))


@app.command()
def scan(
    path: Annotated[
        Path | None,
        typer.Argument(help="Airflow repository (DAG folder, plugins, SQL files); optional with --airflow-url."),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text summary, analysis.json, or Markdown")
    ] = OutputFormat.TEXT,
    out: Annotated[Path | None, typer.Option("--out", help="write the result to this file")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="kappa.toml to use instead of the repo's")] = None,
    fail_on: Annotated[
        list[FailOn] | None, typer.Option("--fail-on", help="exit 1 when any such finding exists")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="an earlier analysis.json: --fail-on counts only what is new")
    ] = None,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
    airflow_url: Annotated[
        str | None,
        typer.Option(
            "--airflow-url", envvar="KAPPA_AIRFLOW_URL", help="also read a live Airflow 3 through its REST API"
        ),
    ] = None,
    airflow_token: Annotated[
        str | None,
        typer.Option("--airflow-token", envvar="KAPPA_AIRFLOW_TOKEN", show_default=False, help="API bearer token"),
    ] = None,
    airflow_user: Annotated[
        str | None,
        typer.Option("--airflow-user", envvar="KAPPA_AIRFLOW_USER", show_default=False, help="user for /auth/token"),
    ] = None,
    airflow_password: Annotated[
        str | None,
        typer.Option("--airflow-password", envvar="KAPPA_AIRFLOW_PASSWORD", show_default=False, help="its password"),
    ] = None,
    history_days: Annotated[
        int, typer.Option("--history-days", min=1, max=3660, help="days of Airflow run history to read")
    ] = 30,
    airflow_timeout: Annotated[
        float, typer.Option("--airflow-timeout", min=1.0, help="seconds to wait for one API answer (3 retries)")
    ] = 30.0,
    sql_dir: Annotated[
        list[Path] | None, typer.Option("--sql-dir", help="folder of query files in PATH, each file a job (repeatable)")
    ] = None,
    dialect: Annotated[
        str | None,
        typer.Option("--dialect", help="dialect of the --sql-dir files (and of dbt projects with no profile)"),
    ] = None,
) -> None:
    """Scan DAG files statically (nothing is imported or run) and report every task's SQL.

    Files are parsed by one worker process per CPU; results are cached per file in
    `.kappa-cache/` (safe to delete), so a re-scan only parses the files that changed.
    With --airflow-url, a live Airflow's DAG sources (parsed the same way), import errors and run
    history join the scan; the credentials are used for requests only, never shown or written.
    """
    airflow_url = airflow_url or None  # an empty KAPPA_AIRFLOW_URL is no URL
    if path is None and airflow_url is None:
        error_console.print("kappa scan: give a repository PATH, --airflow-url URL, or both")
        raise typer.Exit(EXIT_USAGE)
    if path is not None and not path.is_dir():
        error_console.print(f"kappa scan: {path} is not a directory")
        raise typer.Exit(EXIT_USAGE)
    if config is not None and not config.is_file():
        error_console.print(f"kappa scan: config file {config} not found")
        raise typer.Exit(EXIT_USAGE)
    speed = ScanSpeed.chosen(jobs, no_cache, cache_dir)
    folders = _usage_errors_exit("scan", lambda: sql_folders_in(path, sql_dir or [], dialect))
    if airflow_url is not None:
        from .airflow_api import AirflowSettings, Credentials  # noqa: PLC0415 - see TYPE_CHECKING above

        settings = AirflowSettings(
            url=airflow_url,
            credentials=Credentials(token=airflow_token, user=airflow_user, password=airflow_password),
            history_days=history_days,
            timeout=airflow_timeout,
        )
        analysis = _scan_airflow(settings, path, config, speed)
    else:
        assert path is not None
        analysis = _scan_with_progress(path, config, speed, sql_folders=folders, dialect=dialect)
    if output_format is not OutputFormat.TEXT:
        document = scan_document(analysis, output_format, path)
        if out is None:
            sys.stdout.writelines((document,) if isinstance(document, str) else document)
        else:
            write_atomically(out, document)
            print_summary(analysis, console)
            console.print(f"\nwrote {out}")
    else:
        print_summary(analysis, console)
        if out is not None:  # the file gets the same summary without terminal colours
            buffer = io.StringIO()
            print_summary(
                analysis, Console(file=buffer, color_system=None, highlight=False, soft_wrap=True, emoji=False)
            )
            write_atomically(out, buffer.getvalue())
    if fail_on:  # the document is built only when a threshold needs it
        fail_on_thresholds("scan", analysis_to_dict(analysis), fail_on, baseline)


def scan_document(analysis: Analysis, output_format: OutputFormat, path: Path | None) -> Iterable[str]:
    """The scan as analysis.json (in pieces, see `iter_json`), a Markdown summary, or SARIF (file
    URIs from the working directory)."""
    if output_format is OutputFormat.SARIF:
        root, cwd = (path.resolve() if path is not None else None), Path.cwd().resolve()
        prefix = root.relative_to(cwd).as_posix() if root is not None and root.is_relative_to(cwd) else ""
        return dumps_sarif(analysis_to_dict(analysis), catalog(), "" if prefix == "." else prefix)
    if output_format is OutputFormat.JSON:
        return iter_json(analysis_to_dict(analysis))
    return markdown_summary(analysis)


def _scan_airflow(settings: AirflowSettings, path: Path | None, config: Path | None, speed: ScanSpeed) -> Analysis:
    """Read a live Airflow, then scan it (with the repository at `path`, when given). A failure to
    read it is one line on stderr and its own exit code (`AIRFLOW_EXIT_CODES`)."""
    from .airflow_api import read_airflow, safe_url  # noqa: PLC0415 - see TYPE_CHECKING above

    try:
        if error_console.is_terminal:
            with error_console.status(f"reading Airflow at {safe_url(settings.url)}", spinner="line"):
                live = read_airflow(settings)
        else:
            live = read_airflow(settings)
    except AirflowError as error:
        error_console.print(f"kappa scan: {error}", markup=False)
        raise typer.Exit(error.exit_code) from None
    return scan_live(live, path, config_path=config, jobs=speed.jobs, cache_dir=speed.cache_dir)


def sql_folders_in(path: Path | None, folders: Sequence[Path], dialect: str | None) -> tuple[str, ...]:
    """`--sql-dir` folders as paths relative to the scanned repository (given relative to it, or
    to the working directory); `--dialect` must be one sqlglot knows."""
    if dialect is not None and not known_dialect(dialect):
        raise UsageError(f"unknown dialect {dialect!r}")
    if folders and path is None:
        raise UsageError("--sql-dir needs a repository PATH")
    relative = []
    for folder in folders:
        assert path is not None
        if (path / folder).is_dir() and not folder.is_absolute():
            relative.append(folder.as_posix())
            continue
        try:
            relative.append(folder.resolve().relative_to(path.resolve()).as_posix())
        except (ValueError, OSError):
            raise UsageError(f"--sql-dir {folder} is not a folder in {path}") from None
    return tuple(relative)


def _scan_with_progress(
    path: Path,
    config: Path | None,
    speed: ScanSpeed,
    *,
    sql_folders: Sequence[str] = (),
    dialect: str | None = None,
) -> Analysis:
    columns = (TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=error_console, transient=True, disable=not error_console.is_terminal) as bar:
        task = bar.add_task("", total=None)

        def advance(file: str, total: int) -> None:
            bar.update(task, advance=1, total=total, description=file)

        return run_scan(
            path,
            config_path=config,
            progress=advance,
            jobs=speed.jobs,
            cache_dir=speed.cache_dir,
            sql_folders=sql_folders,
            dialect=dialect,
        )


def catalog() -> list[tuple[str, str, str]]:
    """(code, name, summary) of every finding kappa can report: scan errors, then the rules."""
    scan_errors = [(code, name, summary + ".") for code, (name, summary) in SCAN_ERRORS.items()]
    outputs = [(code, name, summary + ".") for code, (name, summary) in OUTPUT_FINDINGS.items()]
    return [*scan_errors, *((rule.code, rule.name, rule.summary()) for rule in RULES), *outputs]


@app.command()
def rules(
    code: Annotated[str | None, typer.Argument(help="a rule code, e.g. F101, for its full documentation")] = None,
) -> None:
    """List every rule (code, name, summary), or document one."""
    if code is None:
        table = Table("code", "name", "summary", box=None, pad_edge=False, show_edge=False)
        for row in catalog():
            table.add_row(*row)
        console.print(table)
        return
    wanted = code.upper()
    rule = RULES_BY_CODE.get(wanted)
    if rule is not None:
        kind = rule.pattern.value if rule.pattern.value != "none" else "classification"
        console.print(f"[bold]{rule.code} {rule.name}[/bold] ({kind})\n")
        console.print(rule.documentation(), markup=False)
        return
    for catalogue, kind in ((SCAN_ERRORS, "scan error"), (OUTPUT_FINDINGS, "generation / validation")):
        if wanted in catalogue:
            name, summary = catalogue[wanted]
            console.print(f"[bold]{wanted} {name}[/bold] ({kind})\n\n{summary}.")
            return
    error_console.print(f"kappa rules: unknown rule {code!r}; `kappa rules` lists them")
    raise typer.Exit(EXIT_USAGE)


@app.command()
def generate(
    path: Annotated[Path, typer.Argument(help="Airflow repository to scan and convert.")],
    out: Annotated[Path, typer.Option("--out", help="folder for jobs/<dag>/<task>/job.sql and analysis.json")],
    sink: Annotated[
        str | None, typer.Option("--sink", help="sink connector: upsert-kafka, jdbc, iceberg, paimon, ...")
    ] = None,
    schema: Annotated[Path | None, typer.Option("--schema", help="YAML file of table columns and types")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="kappa.toml to use instead of the repo's")] = None,
    force: Annotated[bool, typer.Option("--force", help="write into a non-empty output folder")] = False,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
) -> None:
    """Write one Flink SQL job per job that should stream; say why every other job retires."""
    speed = ScanSpeed.chosen(jobs, no_cache, cache_dir)
    results = _usage_errors_exit("generate", lambda: run_generate(path, out, sink, schema, config, force, speed))
    print_generation(results, out)


def run_generate(
    path: Path,
    out: Path,
    sink: str | None,
    schema: Path | None,
    config: Path | None,
    force: bool,
    speed: ScanSpeed = ScanSpeed(),
) -> tuple[GeneratedJob, ...]:
    """scan -> generate -> write `jobs/**/job.sql` and `analysis.json` with every job's outcome."""
    if not path.is_dir():
        raise UsageError(f"{path} is not a directory")
    require_flink_dialect()  # before the scan, not after it
    settings = load_generate_config(path.resolve(), config)
    if sink is not None and (sink not in CONNECTORS or not CONNECTORS[sink].is_sink):
        sinks = ", ".join(name for name, connector in CONNECTORS.items() if connector.is_sink)
        raise UsageError(f"unknown sink {sink!r}; choose one of: {sinks}")
    schema_tables = load_schema_file(schema) if schema is not None else {}
    analysis = _scan_with_progress(path, config, speed)
    generation = generate_analysis(
        analysis, settings, sink=sink, schema_tables=schema_tables, workers=speed.jobs, context=pool_context()
    )
    write_outputs(out, generation_files(generation, settings), force=force)
    return generation.results


def print_generation(results: Sequence[GeneratedJob], out: Path) -> None:
    counts = statuses(results)
    summary = ", ".join(f"{status} {count}" for status, count in counts.items())
    console.print(f"[bold]kappa generate[/bold] {len(results)} jobs: {summary}")
    for result in results:
        if result.status != GENERATED:
            console.print(f"  {result.status:9} {result.job_id}: {result.reason}", markup=False)
    written = sum(1 for r in results if r.path and r.sql) + 1
    console.print(f"\nwrote {written} files to {out}")


def _usage_errors_exit(command: str, action: Callable[[], T]) -> T:
    """Run a command's work; a KappaError is a usage problem: one readable line, exit code 2."""
    try:
        return action()
    except KappaError as error:
        error_console.print(f"kappa {command}: {error}")
        raise typer.Exit(EXIT_USAGE) from error


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="a `kappa generate` output folder")],
    connector_jars: Annotated[
        Path | None, typer.Option("--connector-jars", help="folder of connector jars: real factories, no stand-ins")
    ] = None,
    jobs: PlannersOption = None,
) -> None:
    """Plan every generated job in the real Flink 2.3 planner (one JVM; nothing is submitted)."""
    planners = jobs or available_cpus()
    results = _usage_errors_exit("validate", lambda: run_validate(path, connector_jars, planners))
    print_validation(results, path)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_THRESHOLD)


@app.command()
def migrate(
    path: Annotated[Path, typer.Argument(help="Airflow repository to migrate.")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    sink: Annotated[str | None, typer.Option("--sink", help="sink connector (default upsert-kafka)")] = None,
    schema: Annotated[Path | None, typer.Option("--schema", help="YAML file of table columns and types")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="kappa.toml to use instead of the repo's")] = None,
    force: Annotated[bool, typer.Option("--force", help="write into a non-empty output folder")] = False,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
) -> None:
    """Scan, generate, validate, verify (where the repository has a data/ folder), then report."""
    speed = ScanSpeed.chosen(jobs, no_cache, cache_dir)
    generated = _usage_errors_exit("migrate", lambda: run_generate(path, out, sink, schema, config, force, speed))
    print_generation(generated, out)
    validated = _usage_errors_exit("migrate", lambda: run_validate(out, None, speed.jobs))
    print_validation(validated, out)
    verified: list[Equivalence] = []
    if (path / "data").is_dir():
        verified = _usage_errors_exit("migrate", lambda: run_verify(out, path, None, 120.0, config, speed))
        print_verification(verified)
    equal = sum(1 for r in verified if r.status == "equal")
    if verified:
        console.print(f"{equal}/{len(verified)} jobs give the batch result on the sample data")
    written = _usage_errors_exit("migrate", lambda: run_report(out, None, None, config, force=True))
    console.print(f"\nreport: {written.html}")
    # a job the planner rejects is broken output; a difference on data is a finding to review
    if any(r.status == "failed" for r in validated):
        raise typer.Exit(EXIT_THRESHOLD)


@app.command()
def verify(
    path: Annotated[Path, typer.Argument(help="a `kappa generate` output folder")],
    repo: Annotated[Path, typer.Option("--repo", help="the Airflow repository the jobs were generated from")],
    data: Annotated[
        Path | None, typer.Option("--data", help="one <table>.csv per source table (default REPO/data)")
    ] = None,
    budget: Annotated[float, typer.Option("--budget", help="seconds each side of each job may take")] = 120.0,
    config: Annotated[Path | None, typer.Option("--config", help="kappa.toml to use instead of the repo's")] = None,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
) -> None:
    """Run the batch SQL in DuckDB and the streaming job in Flink on the same rows; compare the tables."""
    speed = ScanSpeed.chosen(jobs, no_cache, cache_dir)
    results = _usage_errors_exit("verify", lambda: run_verify(path, repo, data, budget, config, speed))
    print_verification(results)
    if any(r.status == DIFFERENT for r in results):
        raise typer.Exit(EXIT_THRESHOLD)


def run_verify(
    path: Path, repo: Path, data: Path | None, budget: float, config: Path | None, speed: ScanSpeed = ScanSpeed()
) -> list[Equivalence]:
    if not (path / "jobs").is_dir():
        raise UsageError(f"{path} has no jobs/ folder; run `kappa generate` first")
    require_flink_dialect()
    data_dir = data if data is not None else repo / "data"
    if not data_dir.is_dir():
        raise UsageError(f"no data folder {data_dir}: give --data DIR with one <table>.csv per source table")
    analysis = _scan_with_progress(repo, config, speed)
    generated = generated_in_folder(path)
    with StreamRunner() as runner:
        results = verify_jobs(analysis, generated, data_dir, runner, render=render_sql, budget_seconds=budget)
    record_in_analysis(path / "analysis.json", "equivalence", {r.job_id: r.to_dict() for r in results}, by="id")
    return results


def print_verification(results: Sequence[Equivalence]) -> None:
    for line in iter_lines(results):
        console.print(line, markup=False)


def run_validate(path: Path, connector_jars: Path | None, planners: int = 1) -> list[Validation]:
    if not (path / "jobs").is_dir():
        raise UsageError(f"{path} has no jobs/ folder; run `kappa generate` first")
    jars = connector_jars_in(connector_jars) if connector_jars is not None else []
    with PlannerPool(jars, planners) as pool:
        results = validate_folder(path, pool)
    verdicts = {r.job_path: {"status": r.status, "message": r.message} for r in results}
    record_in_analysis(path / "analysis.json", "validation", verdicts, by="path")
    return results


def print_validation(results: Sequence[Validation], path: Path) -> None:
    for result in results:
        console.print(f"{result.status:7} {result.job_path}: {result.message}", markup=False)
        for finding in result.findings:
            console.print(
                f"  {path / finding.file}:{finding.line}:{finding.col} {finding.code} {finding.message}", markup=False
            )
    passed = sum(1 for r in results if r.status == "passed")
    console.print(f"\n{passed}/{len(results)} jobs pass the Flink planner")


def record_in_analysis(document_path: Path, field: str, values: Mapping[str, Any], *, by: str) -> None:
    """Write per-job results (validation, equivalence) into the analysis.json beside the jobs,
    matched by job id or by the generated job's path."""
    if not document_path.is_file():
        return
    document = json.loads(document_path.read_text(encoding="utf-8"))
    for job in document.get("jobs", []):
        key = job.get("id") if by == "id" else (job.get("generated") or {}).get("path")
        if isinstance(key, str) and key in values:
            job[field] = values[key]
    write_atomically(document_path, iter_json(document))


@app.command()
def report(
    path: Annotated[
        Path, typer.Argument(help="an analysis.json, a `kappa generate` output folder, or a repository to scan")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the report (default: the folder of the analysis.json)")
    ] = None,
    timestamp: Annotated[
        str | None, typer.Option("--timestamp", help="ISO time shown in the report (default SOURCE_DATE_EPOCH, now)")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", help="kappa.toml to use instead of the repo's")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace another analysis.json in --out")] = False,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout", help="single: every job on report.html; per-dag: a page per DAG; auto: per-dag past 500 jobs"
        ),
    ] = Layout.AUTO,
    fail_on: Annotated[
        list[FailOn] | None,
        typer.Option("--fail-on", help="exit 1 when any such job or finding exists (planner-failure, different...)"),
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="an earlier analysis.json: --fail-on counts only what is new")
    ] = None,
    jobs: JobsOption = None,
    no_cache: NoCacheOption = False,
    cache_dir: CacheDirOption = None,
) -> None:
    """Write the migration report: report.html (one offline page), report.md and analysis.json."""
    speed = ScanSpeed.chosen(jobs, no_cache, cache_dir)
    written = _usage_errors_exit(
        "report", lambda: run_report(path, out, timestamp, config, force=force, speed=speed, layout=layout)
    )
    page = written.html
    pages = written.dag_pages
    dag_pages = f", a page for each of {pages} DAGs in {page.parent / PAGES_FOLDER}" if pages else ""
    console.print(f"wrote {page}{dag_pages}, {page.with_name('report.md')} and {page.with_name('analysis.json')}")
    if fail_on:  # analysis.json is read again only to be judged (264 MB for 10,000 DAGs)
        fail_on_thresholds("report", load_analysis(page.with_name("analysis.json")), fail_on, baseline)


def run_report(
    path: Path,
    out: Path | None,
    timestamp: str | None,
    config: Path | None,
    *,
    force: bool,
    speed: ScanSpeed = ScanSpeed(),
    layout: Layout = Layout.AUTO,
) -> WrittenReport:
    """analysis.json (given, in an output folder, or from a scan) -> report.html, report.md and the
    analysis.json they were computed from, side by side in `out`. Job files are read beside the
    analysis.json they belong to."""
    generated_at = resolve_timestamp(timestamp, os.environ)
    given = path / "analysis.json" if path.is_dir() else path
    source: Path | None = given if given.is_file() else None
    if source is None and not path.is_dir():
        raise UsageError(f"{path} is neither an analysis.json nor a folder")
    if source is None and out is None:
        raise UsageError(f"{path} has no analysis.json, so it is scanned: give --out for the report")
    target = out if out is not None else source.parent if source is not None else path
    existing = target / "analysis.json"
    if existing.is_file() and (source is None or existing.resolve() != source.resolve()) and not force:
        raise UsageError(f"{existing} exists and is not the report's input; use --force to replace it")
    if source is not None:
        document, folder = load_analysis(source), source.parent
    else:
        scanned = _scan_with_progress(path, config, speed)
        document, folder = analysis_to_dict(scanned), None
    pages = pages_writer(speed.jobs, pool_context())
    return write_report(target, document, load_job_files(folder, document), generated_at, layout, pages)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"kappa-migrate {__version__} (sqlglot {metadata.version('sqlglot')}, {loaded_build()})")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True)] = False,
) -> None:
    """kappa: scan, generate, validate and report an Airflow-to-Flink migration."""


def _terminated(signal_number: int, _frame: object) -> None:
    """SIGTERM ends kappa as Ctrl-C does, through its clean-ups (workers stopped, the JVM shut
    down, no output half written), with the exit status of a process the signal ended."""
    raise SystemExit(128 + signal_number)


def main() -> None:
    tune_gc()
    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except KappaError as error:
        error_console.print(f"kappa: {error}")
        sys.exit(EXIT_USAGE)
