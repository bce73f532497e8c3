"""Plain, frozen models that flow between the pipeline stages.

Every stage takes these and returns these; nothing here does I/O. Mappings held by a frozen
model are treated as read-only by convention (they are built once by the stage that makes the
model and never changed afterwards). Fields live in slots: a scan of 10,000 DAGs holds
hundreds of thousands of these, and a dictionary each cost its scanning process 75 MiB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from itertools import repeat
from operator import attrgetter
from typing import Any


class SqlStatus(StrEnum):
    PARSED = "parsed"
    UNPARSED = "unparsed"
    MISSING = "missing"
    OPAQUE = "opaque"


class Pattern(StrEnum):
    FIX = "fix"
    OPTIMIZE = "optimize"
    REPROCESS = "reprocess"
    TRANSFORM = "transform"
    NONE = "none"


class Classification(StrEnum):
    STATELESS = "stateless"
    STATEFUL = "stateful"
    SINK_UPDATE = "sink-update"
    NONE = "none"


class SinkMode(StrEnum):
    APPEND = "append"
    UPSERT = "upsert"
    NONE = "none"


class JobOrigin(StrEnum):
    """Where a job comes from: an Airflow task, a dbt model or snapshot, a query file of a SQL folder."""

    DAG = "dag"
    DBT = "dbt"
    SQL_FILE = "sql_file"


class SqlOrigin(StrEnum):
    INLINE = "inline"  # a string (or list of strings) given to the operator
    FILE = "file"  # a .sql file found through template_searchpath or the DAG folder
    BASH = "bash"  # a `bq query`, `spark-sql -e`, `psql -c`, `hive -e` command line
    CALLABLE = "callable"  # a hook / cursor call inside a PythonOperator or @task callable


@dataclass(frozen=True, slots=True)
class Finding:
    """A located message: scan errors, pattern evidence, classification reasons, notes."""

    code: str
    name: str
    message: str
    file: str
    line: int = 1
    col: int = 1

    def format(self) -> str:
        """`path:line:col CODE message`, the sqlfluff / ruff shape."""
        return f"{self.file}:{self.line}:{self.col} {self.code} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
        }

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (self.file, self.line, self.col, self.code, self.message)


@dataclass(frozen=True, slots=True)
class Inventory:
    """What `discover` found under the root. Paths are POSIX, relative to the root."""

    root: str
    python_files: tuple[str, ...]  # every .py (DAGs, plugins, helpers)
    sql_files: tuple[str, ...]
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class SqlSource:
    """Where a task's SQL text comes from, before rendering."""

    origin: SqlOrigin
    text: str  # the raw (template) text
    file: str  # file holding the text: the DAG file, or the .sql file
    line: int  # 1-based line in `file` where the text starts
    reference: str = ""  # for FILE: the name as the DAG wrote it (e.g. "sql/daily.sql")
    resolved: bool = True  # False when parts of the text were unknown at scan time
    via: str = ""  # e.g. "PostgresHook.run", "bq query", "configuration.query.query"
    col: int = 1  # 1-based column in `file` where the text's first line starts


@dataclass(frozen=True, slots=True)
class Task:
    task_id: str  # full id, TaskGroup prefixes included
    operator: str  # class name as imported, e.g. "SQLExecuteQueryOperator", "@task"
    file: str
    line: int
    col: int = 1
    conn_id: str | None = None
    dialect: str | None = None
    dialect_source: str = "none"  # operator | hook | conn_table | conn_name | config | parse | none
    dialect_confidence: float = 0.0  # 1.0 certain (operator) ... 0.0 unknown
    sql: tuple[SqlSource, ...] = ()
    sql_missing_reason: str = ""  # why an SQL operator has no SQL we could read
    opaque: bool = False  # runs code we cannot see (PythonOperator, pod, ...)
    opaque_reason: str = ""
    group: str | None = None
    mapped: bool = False  # dynamic task mapping (.expand)
    params: Mapping[str, Any] = field(default_factory=dict)
    bash_command: str | None = None
    outlets: tuple[str, ...] = ()  # Dataset / Asset URIs the task produces
    # what the job's own tool declares about it: a dbt model's config, a query file's metadata.yaml
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TaskHistory:
    """One task's runs in a live Airflow's history window, as Airflow recorded them."""

    task_id: str
    instances: int = 0  # task instances that ran (one per DAG run that reached the task)
    tries: int = 0  # tries of those instances: the first, Airflow's retries and re-runs
    retries: int = 0  # tries Airflow made by itself after a failure
    reruns: int = 0  # runs again of a date already run: cleared instances, repeated runs of a date
    rerun_dates: tuple[str, ...] = ()  # the data dates (ISO days) that were run again
    failed: int = 0  # instances whose last try failed
    seconds: float = 0.0  # running time of the instances (their last tries)


@dataclass(frozen=True, slots=True)
class DagHistory:
    """A DAG's runs over the last `days` days of a live Airflow (`kappa scan --airflow-url`)."""

    days: int
    runs: Mapping[str, int] = field(default_factory=dict)  # run type (scheduled, manual, backfill...) -> runs
    backfill_dates: tuple[str, ...] = ()  # data dates that backfill runs recomputed
    manual_dates: tuple[str, ...] = ()  # data dates of runs triggered by hand
    failed_runs: int = 0
    run_seconds: float = 0.0  # wall-clock time of the runs
    tasks: tuple[TaskHistory, ...] = ()

    def task(self, task_id: str) -> TaskHistory | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def hours_per_day(self, task_id: str | None = None) -> float:
        """Batch hours a day: the running time of the DAG's tasks (or one task's), over the window."""
        tasks = self.tasks if task_id is None else tuple(t for t in self.tasks if t.task_id == task_id)
        return round(sum(t.seconds for t in tasks) / 3600 / max(self.days, 1), 4)


@dataclass(frozen=True, slots=True)
class Dag:
    dag_id: str
    file: str
    line: int
    schedule: str | None = None  # cron / preset / timetable class / "dataset:<uri>" / None
    catchup: bool | None = None
    start_date: str | None = None  # ISO date, when static
    end_date: str | None = None
    default_args: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    doc_md: str | None = None
    description: str | None = None
    template_searchpath: tuple[str, ...] = ()  # relative to the scanned root where possible
    tasks: tuple[Task, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()  # (upstream task_id, downstream task_id), sorted
    schedule_datasets: tuple[str, ...] = ()  # Dataset / Asset URIs the DAG is scheduled on
    history: DagHistory | None = None  # its runs in a live Airflow (`kappa scan --airflow-url`)


@dataclass(frozen=True, slots=True)
class RenderedSql:
    """A template rendered with Airflow's context stood in."""

    text: str
    time_variables: tuple[str, ...] = ()  # e.g. ("ds", "macros.ds_add")
    lookback_days: tuple[int, ...] = ()  # offsets passed to ds_add & co, e.g. (-3,)
    params_used: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    # rendered value -> template expression that produced it, so later stages can tie a literal
    # in the SQL back to `{{ ds }}` or `{{ macros.ds_add(ds, -3) }}`
    markers: Mapping[str, str] = field(default_factory=dict)

    def without_text(self) -> RenderedSql:
        """What rendering found, without the text: once split, a job's SQL lives in its statements."""
        return replace(self, text="")


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement of a job, parsed (or not) in the job's dialect."""

    index: int  # 0-based position in the job's statement list
    sql: str  # rendered text of this statement
    file: str
    line: int  # 1-based line in `file` where the statement starts
    dialect: str
    parsed: bool
    kind: str = ""  # filled by analysis: insert, insert_overwrite, merge, update, ...
    error: str = ""


@dataclass(frozen=True, slots=True)
class Job:
    """A task seen as a unit of migration (the `jobs[]` entry of analysis.json)."""

    id: str
    dag_id: str
    task_id: str
    file: str
    line: int
    operator: str
    dialect: str | None
    sql_status: SqlStatus
    dialect_source: str = "none"
    dialect_confidence: float = 0.0
    sources: tuple[SqlSource, ...] = ()
    rendered: tuple[RenderedSql, ...] = ()  # their text dropped (`without_text`): see statements
    statements: tuple[Statement, ...] = ()
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    maintains: tuple[str, ...] = ()  # tables whose files the job reorganises without changing rows
    pattern: Pattern = Pattern.NONE
    classification: Classification = Classification.NONE
    sink_mode: SinkMode = SinkMode.NONE
    upsert_key: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    time_variables: tuple[str, ...] = ()
    lookback_days: tuple[int, ...] = ()
    pattern_confidence: float = 0.0
    state_ttl_days: int | None = None
    allowed_lateness_days: int | None = None
    origin: JobOrigin = JobOrigin.DAG


@dataclass(frozen=True, slots=True)
class Analysis:
    root: str
    dags: tuple[Dag, ...]
    jobs: tuple[Job, ...]
    findings: tuple[Finding, ...]
    files_scanned: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. the lineage graph


# ------------------------------------------------------------------ a live Airflow, as its REST API returned it


@dataclass(frozen=True, slots=True)
class LiveTask:
    task_id: str
    operator: str  # the operator's class name, e.g. "SQLExecuteQueryOperator"
    retries: int = 0  # retries the task allows itself


@dataclass(frozen=True, slots=True)
class LiveDag:
    dag_id: str
    file: str  # the DAG file, relative to Airflow's DAG folder (its bundle)
    paused: bool = False
    schedule: str | None = None  # Airflow's summary of the timetable
    tasks: tuple[LiveTask, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveRun:
    dag_id: str
    run_id: str
    run_type: str  # scheduled | manual | backfill | asset_triggered ...
    state: str
    date: str | None  # the data date (ISO day of the logical date); None for a run with no logical date
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LiveTaskInstance:
    dag_id: str
    run_id: str
    task_id: str
    state: str
    date: str  # the data date, else the day the run was due
    try_number: int = 0  # tries so far (0: never ran)
    max_tries: int = 0  # Airflow raises it by the task's retries each time the instance is cleared
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class LiveImportError:
    file: str  # relative to Airflow's DAG folder
    message: str  # the last line of the stack trace


@dataclass(frozen=True, slots=True)
class LiveAirflow:
    """What `airflow_api.read_airflow` read: the DAGs, their sources, import errors, run history."""

    version: str
    history_days: int
    dags: tuple[LiveDag, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (file, text) of each DAG file, as Airflow holds it
    import_errors: tuple[LiveImportError, ...] = ()
    runs: tuple[LiveRun, ...] = ()
    task_instances: tuple[LiveTaskInstance, ...] = ()
    findings: tuple[Finding, ...] = ()  # what could not be read (a DAG without a source)


def fast_pickling(model: type) -> None:
    """Pickle a frozen, slotted data class as one tuple of its field values, read by one
    `attrgetter` and set back by one `map` over `object.__setattr__`.

    dataclasses pickle such a class by a list comprehension over `fields()` and set it back
    field by field in Python: two to four times slower than an instance with a dictionary, for
    every result a worker sends and every cache entry read (measured on 200,000 findings).
    """
    names = tuple(f.name for f in fields(model))
    read = attrgetter(*names)
    many = len(names) > 1

    def getstate(self: Any) -> tuple[Any, ...]:
        values = read(self)
        return values if many else (values,)

    def setstate(self: Any, state: tuple[Any, ...]) -> None:
        any(map(object.__setattr__, repeat(self, len(names)), names, state))  # every call returns None

    setattr(model, "__getstate__", getstate)  # noqa: B010 - set on the class dataclasses made
    setattr(model, "__setstate__", setstate)  # noqa: B010 - as above


MODELS: tuple[type, ...] = (
    Finding,
    Inventory,
    SqlSource,
    Task,
    TaskHistory,
    DagHistory,
    Dag,
    RenderedSql,
    Statement,
    Job,
    Analysis,
    LiveTask,
    LiveDag,
    LiveRun,
    LiveTaskInstance,
    LiveImportError,
    LiveAirflow,
)
for _model in MODELS:
    fast_pickling(_model)
