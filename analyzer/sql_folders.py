"""Folders of query files (`kappa scan PATH --sql-dir sql/ --dialect bigquery`): each file a job.

Many teams keep one query per table in a folder tree and let a generator schedule them (Mozilla's
bigquery-etl: `sql/<project>/<dataset>/<table>/query.sql` beside `metadata.yaml` and
`schema.yaml`). Each `.sql` file under a configured folder is a job of the DAG `sql:<dag name>`
(the `scheduling.dag_name` of its metadata, else the folder), with task id its path (`.`-joined,
`query` dropped), so ids are stable.

- **Where it writes**: a file that only SELECTs writes the table its path names (`<dataset>/<table>/
  query.sql` -> `dataset.table`, `<schema>/<table>.sql` -> `schema.table`, or `destination_table`
  in its metadata). The write is spelled out in front of the query, as the scheduler runs it: the
  run's partition replaced (`DELETE` of the date partition, then `INSERT`) when the table is
  partitioned by the date parameter, the whole table replaced (`CREATE OR REPLACE TABLE ... AS`)
  when metadata says there is no date parameter, else `INSERT INTO`.
- **Query parameters** (`@submission_date`, `:ds`) are the run's time variables: a date parameter
  becomes `DATE '{{ ds }}'` (or the template `scheduling.parameters` gives it, `name:DATE:{{ds}}`),
  and the SQL is rendered like an Airflow template, so lookbacks and run-date partitions are seen
  the same way. Other parameters stay parameters.
- **Metadata** (`metadata.yaml`): owners, schedule, partitioning and clustering go into the task's
  `meta`; `schema.yaml` (`fields: [{name, type, mode}]`) gives the table's columns and types.

A file a DAG task already runs (a template it references) is that task's job, not a second one;
files inside a dbt project are dbt's. A file that only defines tables (`init.sql`, DDL) is a schema
file, read for its definitions, not a job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .config import KappaConfig
from .errors import scan_error
from .model_jobs import (
    ModelScan,
    Reader,
    is_query,
    job_from_rendered,
    listing,
    load_yaml,
    mapping,
    names,
    plain_value,
    quoted_table,
    table_def,
    write_prefix,
)
from .models import Dag, Finding, Inventory, Job, JobOrigin, SqlOrigin, SqlSource, Task
from .operators import CANDIDATE_DIALECTS
from .render import render_sql
from .schemas import TableDef

METADATA_FILES = ("metadata.yaml", "metadata.yml")
SCHEMA_FILES = ("schema.yaml", "schema.yml")
QUERY_STEMS = frozenset({"query", "script"})  # a file named for its role: the folder names the table
DDL_KINDS = frozenset({"create_table", "drop", "alter", "create_view"})
DEFAULT_DATE_PARAMETER = "submission_date"
# `@name` (BigQuery), `:name` (most others), outside quotes and comments
PARAMETER = re.compile(
    r"""(?P<skip>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*"|`[^`]*`|--[^\n]*|/\*.*?\*/|::)"""
    r"|(?<![\w@:])(?P<sigil>[@:])(?P<name>[A-Za-z_]\w*)",
    re.DOTALL,
)
DATE_NAMES = re.compile(r"^(ds|dt|date|day|run_date|submission_date|logical_date|execution_date|\w+_date)$", re.I)
# BigQuery schema.yaml types -> the type names its DDL writes
BIGQUERY_TYPES = {
    "INTEGER": "INT64",
    "INT": "INT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "RECORD": "STRUCT",
}


@dataclass(frozen=True)
class QueryFile:
    file: str
    folder: str  # the configured SQL folder it is under
    text: str
    metadata: Mapping[str, Any]
    metadata_file: str | None
    schema_fields: tuple[tuple[str, str], ...]
    schema_file: str | None


def scan_sql_folders(
    root: Path,
    inventory: Inventory,
    dags: Sequence[Dag],
    jobs: Sequence[Job],
    config: KappaConfig,
    read: Reader,
    *,
    folders: Sequence[str] = (),
    dialect: str | None = None,
    excluded: Iterable[str] = (),
) -> ModelScan:
    """The query files under `folders` (root-relative), each a job.

    `jobs` are the DAG tasks' jobs (a file one of them runs is skipped); `excluded` are folders
    that belong to something else (dbt projects).
    """
    root = root.resolve()
    wanted = [_clean(f) for f in folders]
    if not wanted:
        return ModelScan()
    findings: list[Finding] = []
    for folder in wanted:
        if folder is None or not (root / folder).is_dir():
            findings.append(scan_error("E040", f"SQL folder {folder!r} is not a folder under the scanned root", "."))
    used = {source.file for job in jobs for source in job.sources if source.origin is SqlOrigin.FILE}
    skipped = [e.rstrip("/") + "/" for e in excluded if e]
    files = [
        (file, folder)
        for file in inventory.sql_files
        for folder in [next((f for f in wanted if f is not None and _under(file, f)), None)]
        if folder is not None and file not in used and not any(file.startswith(e) for e in skipped)
    ]
    dag_schedules = _dag_schedules(root, [f for f in wanted if f is not None], read)
    by_dag: dict[str, list[Task]] = {}
    result_jobs: list[Job] = []
    schemas: dict[str, TableDef] = {}
    schema_files = 0
    for file, folder in files:
        query = _query_file(file, folder, root, read, findings)
        if query is None:
            continue
        job, task, definition = _scan_file(query, root, config, dialect)
        if job is None or task is None:
            schema_files += 1
            continue
        dag_id = job.dag_id
        by_dag.setdefault(dag_id, []).append(task)
        result_jobs.append(job)
        if definition is not None:
            schemas.setdefault(definition.table, definition)
    result_dags = []
    for dag_id, tasks in sorted(by_dag.items()):
        name = dag_id.removeprefix("sql:")
        first = min(tasks, key=lambda t: t.file)
        result_dags.append(
            Dag(
                dag_id=dag_id,
                file=first.meta.get("metadata_file") or first.file,
                line=1,
                schedule=dag_schedules.get(name) or _schedule(first.meta),
                tags=("sql_folder",),
                description=f"query files scheduled as {name}",
                tasks=tuple(sorted(tasks, key=lambda t: t.task_id)),
            )
        )
    counts = {
        "query_files": len(result_jobs),
        "parsed": sum(1 for j in result_jobs if j.sql_status.value == "parsed"),
        "schema_files": schema_files,
    }
    return ModelScan(
        tuple(result_dags),
        tuple(sorted(result_jobs, key=lambda j: j.id)),
        tuple(sorted(set(findings), key=Finding.sort_key)),
        tuple(sorted(schemas.items())),
        counts,
    )


def _clean(folder: str) -> str | None:
    path = PurePosixPath(folder.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        return None
    text = path.as_posix().strip("/")
    return "" if text == "." else text


def _under(file: str, folder: str) -> bool:
    return not folder or file.startswith(folder + "/")


def _query_file(file: str, folder: str, root: Path, read: Reader, findings: list[Finding]) -> QueryFile | None:
    text = read(file)
    if text is None:
        return None
    directory = PurePosixPath(file).parent
    metadata: Mapping[str, Any] = {}
    metadata_file = None
    for name in METADATA_FILES:
        candidate = (directory / name).as_posix()
        if (root / candidate).is_file() and (raw := read(candidate)) is not None:
            loaded, problem = load_yaml(raw, candidate)
            if problem is not None:
                findings.append(problem)
            metadata, metadata_file = mapping(loaded), candidate
            break
    fields: tuple[tuple[str, str], ...] = ()
    schema_file = None
    for name in SCHEMA_FILES:
        candidate = (directory / name).as_posix()
        if (root / candidate).is_file() and (raw := read(candidate)) is not None:
            loaded, problem = load_yaml(raw, candidate)
            if problem is not None:
                findings.append(problem)
            fields, schema_file = tuple(schema_fields(mapping(loaded).get("fields"))), candidate
            break
    return QueryFile(file, folder, text, metadata, metadata_file, fields, schema_file)


def schema_fields(value: Any, depth: int = 0) -> list[tuple[str, str]]:
    """(name, BigQuery type) of a `schema.yaml`'s fields; RECORDs as STRUCT<...>, REPEATED as ARRAY<...>."""
    found = []
    for item in listing(value):
        entry = mapping(item)
        name = entry.get("name")
        if not isinstance(name, str):
            continue
        kind = str(entry.get("type") or "").upper()
        kind = BIGQUERY_TYPES.get(kind, kind)
        if kind == "STRUCT" and depth < 8:
            inner = ", ".join(f"{n} {t}" for n, t in schema_fields(entry.get("fields"), depth + 1))
            kind = f"STRUCT<{inner}>" if inner else ""
        if kind and str(entry.get("mode") or "").upper() == "REPEATED":
            kind = f"ARRAY<{kind}>"
        found.append((name, kind))
    return found


def _dag_schedules(root: Path, folders: Sequence[str], read: Reader) -> dict[str, str]:
    """`dags.yaml` (bigquery-etl): dag name -> schedule_interval, at the root or beside a SQL folder."""
    schedules: dict[str, str] = {}
    candidates = ["dags.yaml", *(f"{f}/dags.yaml" for f in folders if f)]
    for candidate in dict.fromkeys(candidates):
        if not (root / candidate).is_file():
            continue
        text = read(candidate)
        loaded, _ = load_yaml(text or "", candidate)
        for name, entry in mapping(loaded).items():
            schedule = mapping(entry).get("schedule_interval") or mapping(entry).get("schedule")
            if isinstance(schedule, str):
                schedules.setdefault(str(name), schedule)
    return schedules


def _schedule(meta: Mapping[str, Any]) -> str | None:
    labels = mapping(meta.get("labels"))
    schedule = meta.get("schedule") or labels.get("schedule")
    if isinstance(schedule, str):
        return {"daily": "@daily", "hourly": "@hourly", "weekly": "@weekly", "monthly": "@monthly"}.get(
            schedule.lower(), schedule
        )
    return None


def task_id_of(query: QueryFile) -> str:
    """The file's path under its folder, `.`-joined, without `.sql` and without a role name (`query`)."""
    relative = PurePosixPath(query.file).relative_to(query.folder) if query.folder else PurePosixPath(query.file)
    parts = [*relative.parts[:-1], relative.stem]
    if len(parts) > 1 and relative.stem.lower() in QUERY_STEMS:
        parts = parts[:-1]
    return ".".join(parts)


def target_of(query: QueryFile) -> str:
    """The table a SELECT-only file fills: its metadata's destination, else its path's last parts."""
    destination = query.metadata.get("destination_table") or mapping(query.metadata.get("bigquery")).get(
        "destination_table"
    )
    if isinstance(destination, str) and destination.strip():
        return destination.strip().replace(":", ".")
    return ".".join(task_id_of(query).split(".")[-3:])


@dataclass(frozen=True)
class Parameters:
    """How the file's query parameters are written for the renderer."""

    text: str
    date_parameters: tuple[str, ...]
    partition_column: str | None  # the column compared (=) to the date parameter


def bind_parameters(text: str, metadata: Mapping[str, Any], dialect: str) -> Parameters:
    """Query parameters as Airflow templates: `@submission_date` -> `DATE '{{ ds }}'`.

    >>> bind_parameters("SELECT * FROM t WHERE d = @submission_date", {}, "bigquery").text
    "SELECT * FROM t WHERE d = DATE '{{ ds }}'"
    """
    scheduling = mapping(metadata.get("scheduling"))
    declared: dict[str, str] = {}
    for item in listing(scheduling.get("parameters")):
        if isinstance(item, str) and item.count(":") >= 2:
            name, kind, template = item.split(":", 2)
            declared[name.strip()] = _literal(kind.strip().upper(), template.strip())
    partition_parameter = scheduling.get("date_partition_parameter", DEFAULT_DATE_PARAMETER)
    if isinstance(partition_parameter, str):
        declared.setdefault(partition_parameter, "DATE '{{ ds }}'")
    used: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group("skip"):
            return match.group("skip")
        name = match.group("name")
        sigil = match.group("sigil")
        if sigil == ":" and dialect == "bigquery":
            return match.group(0)
        value = declared.get(name)
        if value is None and DATE_NAMES.match(name):
            value = "'{{ " + name.lower() + " }}'" if name.lower() in {"ds", "ds_nodash"} else "DATE '{{ ds }}'"
        if value is None:
            return match.group(0)
        used.append(name)
        return value

    bound = PARAMETER.sub(substitute, text)
    column = None
    for name in dict.fromkeys(used):
        found = re.search(
            rf"(?<![\w.])(?:\w+\.)?(\w+)\s*=\s*[@:]{re.escape(name)}\b|[@:]{re.escape(name)}\s*=\s*(?:\w+\.)?(\w+)",
            text,
        )
        if found is not None:
            column = found.group(1) or found.group(2)
            break
    return Parameters(bound, tuple(dict.fromkeys(used)), column)


def _literal(kind: str, template: str) -> str:
    template = template if "{{" in template else "{{ " + template + " }}" if template else "{{ ds }}"
    if kind in {"DATE", "DATETIME", "TIMESTAMP"}:
        return f"{kind} '{template}'"
    if kind in {"INT64", "INTEGER", "NUMERIC", "FLOAT64"}:
        return template
    return f"'{template}'"


def _scan_file(
    query: QueryFile, root: Path, config: KappaConfig, dialect: str | None
) -> tuple[Job | None, Task | None, TableDef | None]:
    chosen = dialect or config.default_dialect
    bound = bind_parameters(query.text, query.metadata, chosen or "")
    scheduling = mapping(query.metadata.get("scheduling"))
    bigquery = mapping(query.metadata.get("bigquery"))
    partitioning = mapping(bigquery.get("time_partitioning"))
    partition_field = partitioning.get("field") if isinstance(partitioning.get("field"), str) else None
    target = target_of(query)
    table = quoted_table(target, chosen or "")
    text = bound.text
    how = "as written"
    if is_query(query.text):
        column = partition_field or bound.partition_column
        full_rebuild = "date_partition_parameter" in scheduling and scheduling["date_partition_parameter"] is None
        if full_rebuild or not bound.date_parameters:
            text, how = write_prefix(text, f"CREATE OR REPLACE TABLE {table} AS "), "replaces the table"
        elif column:
            prefix = f"DELETE FROM {table} WHERE {column} = DATE '{{{{ ds }}}}'; INSERT INTO {table} "
            text, how = write_prefix(text, prefix), f"replaces the run's partition ({column})"
        else:
            text, how = write_prefix(text, f"INSERT INTO {table} "), "appends"
    dag_name = scheduling.get("dag_name")
    dag_id = f"sql:{dag_name}" if isinstance(dag_name, str) and dag_name else f"sql:{query.folder or root.name}"
    meta: dict[str, Any] = {
        "tool": "sql_folder",
        "folder": query.folder,
        "target": target.lower(),
        "write": how,
        "date_parameters": list(bound.date_parameters),
        "owners": names(query.metadata.get("owners")),
        "metadata_file": query.metadata_file,
        "schema_file": query.schema_file,
        "partitioned_by": partition_field,
        "clustered_by": list(names(mapping(bigquery.get("clustering")).get("fields"))),
        "labels": plain_value(mapping(query.metadata.get("labels"))),
        "schedule": _schedule(query.metadata),
    }
    source = SqlSource(SqlOrigin.FILE, text, query.file, 1, reference=query.file, via=f"query file ({how})")
    task = Task(
        task_id=task_id_of(query),
        operator="query file",
        file=query.file,
        line=1,
        dialect=chosen,
        dialect_source="config" if chosen else "none",
        dialect_confidence=1.0 if chosen else 0.0,
        sql=(source,),
        meta=meta,
    )
    rendered = render_sql(source, root=root, search_path=(PurePosixPath(query.file).parent.as_posix(), query.folder))
    job = job_from_rendered(
        task,
        dag_id,
        JobOrigin.SQL_FILE,
        (rendered,),
        dialect=chosen,
        dialect_source=task.dialect_source,
        candidates=CANDIDATE_DIALECTS,
    )
    if job.statements and all(s.parsed and s.kind in DDL_KINDS for s in job.statements) and how == "as written":
        return None, None, None  # a schema file: its CREATE TABLEs are read as definitions
    definition = None
    if query.schema_fields:
        definition = table_def(
            target,
            chosen or "bigquery",
            query.schema_fields,
            query.schema_file or query.file,
            partitioned_by=(partition_field,) if partition_field else (),
        )
    return job, task, definition
