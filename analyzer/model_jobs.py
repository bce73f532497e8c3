"""Jobs that are not Airflow tasks: dbt models (`analyzer.dbt`) and query files (`analyzer.sql_folders`).

Both reach the pipeline as one more source of DAGs and jobs, in the shapes the DAG scan makes: a
dbt project is a DAG `dbt:<project>` whose tasks are its models and snapshots, a SQL folder a DAG
`sql:<name>` whose tasks are its query files. What this module holds is what the two share: the
result shape (`ModelScan`), turning rendered SQL into a parsed `Job` the way the pipeline does for
a task, spelling out where a bare SELECT writes (`write_prefix`), and reading YAML safely.

A bare SELECT names no table to write; the tool that runs it does (dbt's materialization, the
folder the query file lives in). The write is spelled out in front of the SELECT, on its first
line, so lineage and the rules see it and line numbers stay those of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import scan_error
from .models import Dag, Finding, Job, JobOrigin, RenderedSql, SqlStatus, Statement, Task
from .schemas import ColumnDef, TableDef
from .sql import guess_dialect, parse_statements

Reader = Callable[[str], str | None]  # root-relative path -> text (None: unreadable, reported by the reader)

# a query that only reads: a SELECT or a WITH ... SELECT, past leading comments
QUERY_START = re.compile(r"(?:\s|--[^\n]*\n|/\*.*?\*/|#[^\n]*\n)*(?:select|with|from|\()", re.IGNORECASE | re.DOTALL)
MAX_YAML_DEPTH = 32  # YAML aliases can nest (or loop): walks of a loaded document stop here


@dataclass(frozen=True)
class ModelScan:
    """What one kind of non-Airflow source gave: DAGs and their jobs, file-level findings, the
    table definitions its property files declare, and counts for the summary."""

    dags: tuple[Dag, ...] = ()
    jobs: tuple[Job, ...] = ()
    findings: tuple[Finding, ...] = ()
    schemas: tuple[tuple[str, TableDef], ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)


def load_yaml(text: str, file: str) -> tuple[Any, Finding | None]:
    """A YAML document, or None and an E040 finding when it does not load (safe loader only)."""
    try:
        return yaml.safe_load(text), None
    except (yaml.YAMLError, RecursionError, ValueError) as error:
        mark = getattr(error, "problem_mark", None)
        line = (mark.line + 1) if mark is not None else 1
        problem = getattr(error, "problem", None) or type(error).__name__
        return None, scan_error("E040", f"{file} is not valid YAML: {problem}", file, line)


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def listing(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def plain_value(value: Any, depth: int = 0) -> Any:
    """A YAML or template value as plain JSON-able data (bounded: aliases may nest or loop)."""
    if depth > MAX_YAML_DEPTH:
        return None
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain_value(v, depth + 1) for v in value]
    return str(value)


def names(value: Any) -> tuple[str, ...]:
    """`"a"`, `["a", "b"]` or `"a, b"` as column names."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(v).strip() for v in listing(value) if isinstance(v, str | int) and str(v).strip())


def quoted_table(table: str, dialect: str) -> str:
    """A table name to write in SQL: BigQuery names with a dash need backticks."""
    if dialect == "bigquery" and not table.startswith("`"):
        return f"`{table}`"
    return table


def write_prefix(text: str, prefix: str, suffix: str = "") -> str:
    r"""`text` with `prefix` right before its first SQL token (same line), `suffix` on a line after.

    >>> write_prefix("-- daily\nSELECT 1;", "INSERT INTO t ")
    '-- daily\nINSERT INTO t SELECT 1\n'
    """
    body = text.rstrip().rstrip(";").rstrip()
    start = _first_token(body)
    tail = f"\n{suffix}" if suffix else ""
    return body[:start] + prefix + body[start:] + tail + "\n"


def _first_token(text: str) -> int:
    """Offset of the first character that is not blank and not in a comment."""
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
        elif text.startswith("--", index) or text.startswith("#", index):
            end = text.find("\n", index)
            index = len(text) if end < 0 else end + 1
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = len(text) if end < 0 else end + 2
        else:
            return index
    return index


def is_query(text: str) -> bool:
    """The text is a read-only query (SELECT / WITH), which needs its write spelled out."""
    return QUERY_START.match(text) is not None and not re.match(
        r"\s*(?:\(\s*)*(?:insert|merge|create|update|delete|replace)\b", text[_first_token(text) :], re.IGNORECASE
    )


def job_from_rendered(
    task: Task,
    dag_id: str,
    origin: JobOrigin,
    rendered: Sequence[RenderedSql],
    *,
    dialect: str | None,
    dialect_source: str,
    findings: Iterable[Finding] = (),
    lookback_days: Iterable[int] = (),
    candidates: Sequence[str] = (),
) -> Job:
    """The job of a task whose SQL is rendered: statements parsed in the dialect (guessed from
    `candidates` when none is known), the status, and every finding sorted."""
    problems = [*findings, *(f for r in rendered for f in r.findings)]
    confidence = 1.0 if dialect else 0.0
    if dialect is None and candidates and any(r.text.strip() for r in rendered):
        guessed, guess_confidence = guess_dialect("\n;\n".join(r.text for r in rendered), candidates)
        if guessed is not None:
            dialect, dialect_source, confidence = guessed, "parse", guess_confidence
    statements: list[Statement] = []
    for source, result in zip(task.sql, rendered, strict=True):
        if not result.text.strip():
            continue
        parsed, parse_problems = parse_statements(
            result.text, dialect or "", file=source.file, line=source.line, start_index=len(statements)
        )
        statements.extend(parsed)
        problems.extend(parse_problems)
    if dialect is None and any(r.text.strip() for r in rendered):
        message = f"{task.task_id!r}: no dialect from the project, the configuration or parsing"
        problems.append(scan_error("E032", message, task.file, task.line))
    return Job(
        id=f"{dag_id}.{task.task_id}",
        dag_id=dag_id,
        task_id=task.task_id,
        file=task.file,
        line=task.line,
        operator=task.operator,
        dialect=dialect,
        sql_status=_status(task, statements, rendered),
        dialect_source=dialect_source,
        dialect_confidence=confidence,
        sources=task.sql,
        rendered=tuple(r.without_text() for r in rendered),
        statements=tuple(statements),
        findings=tuple(sorted(set(problems), key=Finding.sort_key)),
        time_variables=tuple(sorted({v for r in rendered for v in r.time_variables})),
        lookback_days=tuple(sorted({*lookback_days, *(d for r in rendered for d in r.lookback_days)})),
        origin=origin,
    )


def _status(task: Task, statements: Sequence[Statement], rendered: Sequence[RenderedSql]) -> SqlStatus:
    if not task.sql:
        return SqlStatus.MISSING
    if not statements or not all(s.parsed for s in statements):
        return SqlStatus.UNPARSED
    if any(f.code in {"E012", "E014"} for r in rendered for f in r.findings):
        return SqlStatus.UNPARSED
    return SqlStatus.PARSED


def table_def(
    table: str,
    dialect: str,
    columns: Sequence[tuple[str, str]],
    file: str,
    line: int = 1,
    *,
    primary_key: Sequence[str] = (),
    partitioned_by: Sequence[str] = (),
) -> TableDef | None:
    """A table definition from a property file's columns ((name, type) pairs); None when no
    column has a type (an untyped definition would hide the types generation infers)."""
    if not any(kind for _, kind in columns):
        return None
    defined = tuple(ColumnDef(name.lower(), kind) for name, kind in columns)
    known = {c.name for c in defined}
    return TableDef(
        table=table.lower(),
        dialect=dialect,
        columns=defined,
        primary_key=tuple(k.lower() for k in primary_key if k.lower() in known),
        partitioned_by=tuple(p.lower() for p in partitioned_by if p.lower() in known),
        file=file,
        line=line,
        partition_spec=tuple(p.lower() for p in partitioned_by if p.lower() in known),
    )
