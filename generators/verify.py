"""`verify_jobs(analysis, generated, data_dir, runner, render=...) -> [Equivalence]`: does each
generated streaming job give the same final table as the batch jobs it replaces?

Both sides run over the same sample rows, `data_dir/<table>.csv` (the file name is the table's
name as the SQL writes it: `shop.orders.csv`, `shop-analytics.marts.fct_orders.csv`).

**Batch side, DuckDB in process** (`Warehouse`, `run_batch`). Each CSV is loaded into a DuckDB
table named after it (`duckdb_name`: `shop.orders` -> schema "shop", table "orders"; `p.d.t` ->
schema "p.d", table "t"), typed by the repository DDL when there is one. Then the batch layer is
replayed as Airflow ran it: every scheduled job that writes rows (optimize jobs, read-only checks,
DAGs triggered by hand and jobs whose inputs have no data left out), in lineage order
(`analysis.extra['graph']['waves']`, a table's owner before its fix and reprocess jobs), day by
day over the days its inputs hold (`data_days`: the partition range and every date in the rows,
followed through the jobs that produce its inputs). Each SQL source is re-rendered for the day
(`render`, the analyzer's `render_sql`; a query file's parameters are templates since the scan;
a dbt model runs as the scan compiled it, `BATCH_TEXTS`), transpiled by sqlglot from the job's
dialect to DuckDB and run with its write semantics (`to_duckdb`):

| batch statement                                    | emulated as                                    |
|----------------------------------------------------|------------------------------------------------|
| INSERT OVERWRITE ... PARTITION (dt='d')            | delete partition dt='d', insert (dt appended)  |
| INSERT OVERWRITE ... PARTITION (dt), dynamic mode  | delete the partitions the result holds, insert |
| INSERT OVERWRITE (no partition), CREATE OR REPLACE | replace the table's rows                       |
| MERGE, INSERT ... ON CONFLICT, UPDATE, DELETE      | DuckDB's own (MERGE INTO is native since 1.4)  |
| TRUNCATE                                           | DELETE FROM                                    |
| SET, USE, ANALYZE, SELECT, ...                     | skipped                                        |

Targets start empty, created from the repository DDL (PRIMARY KEY kept for dialects that enforce
it, so ON CONFLICT works) or the definition typed from their writer's query
(`derived_schemas`), else shaped like the first result (a MERGE's: the rows it inserts); an
UPDATE or DELETE of a table that does not exist yet changes nothing. A target's final content is
the batch result; tables other jobs produce feed the jobs downstream, on both sides.

**Stream side, Flink local mini-cluster** (`StreamRunner`). The generated `job.sql` runs in a
fresh streaming TableEnvironment of the one shared JVM, parallelism 1, time zone UTC, with the
job's `SET` lines but mini-batch (a bounded input would make one batch of it and hide the updates
a long-running job goes through row by row). Every source keeps its schema, WATERMARK and PRIMARY
KEY and is shadowed by a bounded `filesystem` table over a JSON copy of its rows (`LIKE ...
EXCLUDING OPTIONS`): append sources as `json`; CDC sources (`debezium-json` ...) as
`debezium-json` *create* events, so a changelog source gets its final rows as plain inserts, and
a temporal join sees one version per key. Rows arrive in ingestion order (the first of
`ARRIVAL_COLUMNS` the table has, else its time attribute), as a topic delivers them, so rows later
than the watermark allows are as late as in production. Each INSERT's query is collected
(`sql_query(...).execute().collect()`) with its row kinds (+I/-U/+U/-D) and materialized as the
sink holds it (`materialize`): by the sink's PRIMARY KEY, the last row per key, or as a multiset.

**Verdicts.** Rows are compared order-insensitively over the sink's columns the batch table also
has, values normalized (`canonical`): numbers rounded to `DECIMALS` places, timestamps as ISO text
in UTC, strings trimmed. Columns either side computes from the wall clock (`CURRENT_TIMESTAMP`,
`now()`) are left out. `different` when rows differ (a few of each side are in `diff`) or when the
streaming job fails while it runs; `skipped`, with the reason, when an input has no data, when
the batch SQL fails in DuckDB, or when the job cannot run on bundled connectors (a lookup join).
Each side of a job has a time budget (`budget_seconds`): DuckDB is interrupted, the Flink job
cancelled, so a run never hangs.

    >>> duckdb_name("shop-analytics.marts.fct_orders"), duckdb_name("orders")
    (('shop-analytics.marts', 'fct_orders'), ('main', 'orders'))
    >>> canonical(Decimal("119.000")), canonical(datetime(2024, 1, 10, 8, 0, 2)), canonical(" x ")
    ('119', '2024-01-10 08:00:02', 'x')
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from analyzer.models import Analysis, Finding, Job, JobOrigin, Pattern, RenderedSql, SqlSource, SqlStatus

from .derived_schemas import merge_inserted_rows, with_derived_schemas
from .flink import GENERATED, GeneratedJob
from .flink_dialect import require_flink_dialect  # importing it registers the "flink" dialect with sqlglot
from .streaming import flink_identifier, table_name
from .validate import PlannerUnavailable, Statement, split_statements

__all__ = [
    "ARRIVAL_COLUMNS",
    "DIFFERENT",
    "EQUAL",
    "SKIPPED",
    "BatchRun",
    "Equivalence",
    "Render",
    "Session",
    "StreamError",
    "StreamResult",
    "StreamRunner",
    "Warehouse",
    "canonical",
    "data_days",
    "duckdb_name",
    "generated_in_folder",
    "iter_lines",
    "materialize",
    "run_batch",
    "to_duckdb",
    "verify_jobs",
    "warehouse_feed",
]

EQUAL, DIFFERENT, SKIPPED = "equal", "different", "skipped"

DEFAULT_BUDGET_SECONDS = 120.0  # per job, each side
MAX_DIFF_ROWS = 5  # rows shown per side of a difference
MAX_DAYS = 400  # batch runs replayed at most (the most recent days)
DECIMALS = 4  # numbers are compared rounded to this many decimals

# columns that tell when a row reached the platform (the order a topic delivers rows in)
ARRIVAL_COLUMNS = ("ingested_at", "_ingested_at", "ingestion_time", "loaded_at", "_loaded_at", "arrived_at")
# columns that partition a table by day when the DDL does not say
PARTITION_NAMES = ("dt", "ds", "partition_date", "event_date")
# dialects whose PRIMARY KEY is enforced, so a target made from their DDL keeps it (ON CONFLICT
# needs it); the others (BigQuery, Snowflake, Hive...) accept duplicate keys
ENFORCES_KEYS = frozenset({"postgres", "mysql", "sqlite", "duckdb", "tsql", "oracle", "redshift"})
# statements that change no rows (the other kinds' write semantics are `to_duckdb`'s)
READ_ONLY = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Describe, exp.Show)
VOLATILE = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime, exp.CurrentDatetime, exp.Rand)
VOLATILE_NAMES = frozenset({"NOW", "LOCALTIMESTAMP", "PROCTIME", "SYSDATE", "GETDATE", "CURRENT_ROW_TIMESTAMP"})
RANK = {Pattern.TRANSFORM: 0, Pattern.FIX: 1, Pattern.REPROCESS: 2}


class Render(Protocol):
    """`analyzer.render.render_sql`: the generators may not import the renderer, the CLI passes it."""

    def __call__(
        self,
        source: SqlSource,
        *,
        root: Path,
        search_path: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        logical_date: datetime = ...,
    ) -> RenderedSql: ...


@dataclass(frozen=True)
class Equivalence:
    """One generated job's verdict: `equal`, `different` (with a few differing rows) or `skipped`."""

    job_id: str
    status: str  # equal | different | skipped
    message: str
    batch_rows: int = 0
    stream_rows: int = 0
    diff: tuple[str, ...] = ()  # "only in batch: (...)" / "only in stream: (...)"
    seconds: float = 0.0  # wall time of this job's batch statements and its stream run

    def to_dict(self) -> dict[str, Any]:
        """The `equivalence` entry of analysis.json."""
        return {
            "status": self.status,
            "message": self.message,
            "batch_rows": self.batch_rows,
            "stream_rows": self.stream_rows,
            "diff": list(self.diff),
        }

    def finding(self, file: str, line: int = 1) -> Finding | None:
        """V602 result-mismatch for a `different` job, located at its job file."""
        if self.status != DIFFERENT:
            return None
        return Finding("V602", "result-mismatch", self.message, file, max(line, 1), 1)


class BudgetExceeded(Exception):
    """A statement or a stream run took longer than the job's time budget."""


# ------------------------------------------------------------------------------------ naming


def duckdb_name(table: str) -> tuple[str, str]:
    """(schema, table) of a table in DuckDB: every qualifier but the last is one schema name, so
    BigQuery's `project.dataset.table` needs no attached catalog."""
    schema, _, name = table.lower().rpartition(".")
    return (schema or "main"), name


def _quoted(table: str) -> str:
    schema, name = duckdb_name(table)
    return f"{_ident(schema)}.{_ident(name)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _flink_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# ------------------------------------------------------------------------------ values


def canonical(value: Any) -> str | None:
    """The text two engines agree on for one value: numbers rounded to `DECIMALS` places without
    trailing zeros, timestamps as ISO text in UTC (no `T`, no zero fraction), dates ISO, strings
    trimmed, booleans lower case."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return str(number)
        text = f"{round(number, DECIMALS):.{DECIMALS}f}".rstrip("0").rstrip(".")
        return "0" if text in {"-0", ""} else text
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        moment: str = value.isoformat(sep=" ")
        return moment.rstrip("0") if value.microsecond else moment
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(str(canonical(v)) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {canonical(v)}" for k, v in sorted(value.items(), key=str)) + "}"
    return str(value).strip()


Row = tuple[str | None, ...]


def materialize(changes: Iterable[tuple[str, Row]], key: Sequence[int] = ()) -> list[Row]:
    """The rows a sink holds after a changelog: +I/+U add a row, -U/-D take back an equal one; with
    a key, the row written last for each key (Flink's upsert materializer).

    >>> materialize([("+I", ("a", "1")), ("-U", ("a", "1")), ("+U", ("a", "2")), ("+I", ("b", "1"))], [0])
    [('a', '2'), ('b', '1')]
    """
    alive: dict[int, Row] = {}
    by_row: dict[Row, list[int]] = {}
    for sequence, (kind, row) in enumerate(changes):
        if kind in {"+I", "+U"}:
            alive[sequence] = row
            by_row.setdefault(row, []).append(sequence)
        elif by_row.get(row):
            del alive[by_row[row].pop()]
    if not key:
        return [alive[s] for s in sorted(alive)]
    latest: dict[Row, tuple[int, Row]] = {}
    for sequence in sorted(alive):
        row = alive[sequence]
        latest[tuple(row[i] for i in key)] = (sequence, row)
    return [row for _, row in sorted(latest.values())]


def _difference(
    batch: Sequence[Row], stream: Sequence[Row], columns: Sequence[str]
) -> tuple[tuple[str, ...], int, int]:
    """A few rows only in batch and only in stream, as text, and how many there are of each."""
    only_batch = sorted((Counter(batch) - Counter(stream)).elements(), key=_sort_key)
    only_stream = sorted((Counter(stream) - Counter(batch)).elements(), key=_sort_key)
    lines = [f"columns: ({', '.join(columns)})"] if only_batch or only_stream else []
    for side, rows in (("batch", only_batch), ("stream", only_stream)):
        lines += [f"only in {side}: {_show(row)}" for row in rows[:MAX_DIFF_ROWS]]
        if len(rows) > MAX_DIFF_ROWS:
            lines.append(f"... {len(rows) - MAX_DIFF_ROWS} more only in {side}")
    return tuple(lines), len(only_batch), len(only_stream)


def _sort_key(row: Row) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, value or "") for value in row)


def _show(row: Row) -> str:
    return "(" + ", ".join("NULL" if v is None else v for v in row) + ")"


# ------------------------------------------------------------------------------ DuckDB side


class Warehouse:
    """One in-memory DuckDB database: the sample tables, then what the batch jobs write."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        try:
            import duckdb  # noqa: PLC0415 - optional (`kappa-migrate[flink]`)
        except ImportError as error:  # pragma: no cover - depends on the install
            raise PlannerUnavailable(
                f"duckdb is not installed ({error}); pip install 'kappa-migrate[flink]'"
            ) from error
        self.con: Any = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.schemas = schemas
        self.loaded: dict[str, Path] = {}  # table -> its CSV
        self.versions: dict[str, str] = {}  # produced table -> the table of every row version it held
        self._schemas_made: set[str] = {"main"}

    def close(self) -> None:
        self.con.close()

    # tables

    def exists(self, table: str) -> bool:
        schema, name = duckdb_name(table)
        found = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, name],
        ).fetchone()
        return bool(found and found[0])

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema, name = duckdb_name(table)
        rows = self.con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, name],
        ).fetchall()
        return [(str(n), str(t)) for n, t in rows]

    def rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        select = ", ".join(_ident(c) for c in columns) or "NULL"
        return [tuple(r) for r in self.con.execute(f"SELECT {select} FROM {_quoted(table)}").fetchall()]

    def count(self, table: str) -> int:
        found = self.con.execute(f"SELECT count(*) FROM {_quoted(table)}").fetchone()
        return int(found[0]) if found else 0

    def _schema(self, table: str) -> None:
        schema, _ = duckdb_name(table)
        if schema not in self._schemas_made:
            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
            self._schemas_made.add(schema)

    def definition(self, table: str) -> Any:
        return self.schemas.get(table.lower())

    def create_from_ddl(self, table: str) -> bool:
        """Create an empty table from the repository DDL; False when there is none."""
        definition = self.definition(table)
        columns = getattr(definition, "columns", ()) if definition is not None else ()
        if not columns:
            return False
        self._schema(table)
        dialect = str(getattr(definition, "dialect", "") or "")
        lines = [f"{_ident(c.name)} {duckdb_type(c.source_type, dialect)}" for c in columns]
        key = [k for k in getattr(definition, "primary_key", ()) if any(c.name == k for c in columns)]
        if key and dialect in ENFORCES_KEYS:
            lines.append(f"PRIMARY KEY ({', '.join(_ident(k) for k in key)})")
        self.con.execute(f"CREATE TABLE {_quoted(table)} ({', '.join(lines)})")
        return True

    def record_versions(self, table: str) -> None:
        """Keep the rows a table holds now that it never held before: after each batch run, its
        history of row versions (what a changelog of the table carries, minus deletes)."""
        if not self.exists(table):
            return
        schema, name = duckdb_name(table)
        history = f"{_ident(schema)}.{_ident(name + '__kappa_versions')}"
        if table not in self.versions:
            self.con.execute(f"CREATE TABLE {history} AS SELECT * FROM {_quoted(table)} LIMIT 0")
            self.versions[table] = history
        self.con.execute(f"INSERT INTO {history} SELECT * FROM {_quoted(table)} EXCEPT SELECT * FROM {history}")

    def version_rows(self, table: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
        select = ", ".join(_ident(c) for c in columns) or "NULL"
        return [tuple(r) for r in self.con.execute(f"SELECT {select} FROM {self.versions[table]}").fetchall()]

    def create_like(self, table: str, query: str) -> None:
        """Create an empty table shaped like a query's result (a target with no DDL)."""
        self._schema(table)
        self.con.execute(f"CREATE TABLE {_quoted(table)} AS SELECT * FROM ({query}) AS kappa_first LIMIT 0")

    def load_csv(self, table: str, path: Path) -> None:
        """Load one CSV, typed by the DDL where the table has one (CSV columns it lacks are dropped)."""
        source = f"read_csv({_literal(str(path))}, header = true, auto_detect = true)"
        if self.create_from_ddl(table):
            wanted = {name.lower() for name, _ in self.columns(table)}
            header = [str(c[0]) for c in self.con.execute(f"SELECT * FROM {source} LIMIT 0").description]
            common = [c for c in header if c.lower() in wanted]
            names = ", ".join(_ident(c) for c in common)
            self.con.execute(f"INSERT INTO {_quoted(table)} ({names}) SELECT {names} FROM {source}")
        else:
            self._schema(table)
            self.con.execute(f"CREATE TABLE {_quoted(table)} AS SELECT * FROM {source}")
        self.loaded[table] = path

    # statements

    def execute(self, sql: str, deadline: float) -> Any:
        """Run one statement, interrupted when the deadline passes."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BudgetExceeded("time budget exceeded")
        timer = threading.Timer(remaining, self.con.interrupt)
        timer.start()
        try:
            return self.con.execute(sql)
        except Exception as error:
            if time.monotonic() >= deadline:
                raise BudgetExceeded("time budget exceeded") from error
            raise
        finally:
            timer.cancel()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def duckdb_type(source_type: str, dialect: str) -> str:
    """A DDL column type in DuckDB: text lengths dropped, a bare DECIMAL/NUMERIC as (38, 9), like
    BigQuery's NUMERIC; VARCHAR when sqlglot cannot read it."""
    try:
        data_type = exp.DataType.build(source_type or "VARCHAR", dialect=dialect or None)
    except (SqlglotError, ValueError):
        return "VARCHAR"
    if data_type.this in exp.DataType.TEXT_TYPES:
        return "VARCHAR"
    if data_type.this in {exp.DType.DECIMAL, exp.DType.BIGDECIMAL} and not data_type.expressions:
        return "DECIMAL(38, 9)"
    try:
        return data_type.sql("duckdb")
    except SqlglotError:  # pragma: no cover - every built type prints
        return "VARCHAR"


def _partition_columns(warehouse: Warehouse, table: str) -> list[str]:
    definition = warehouse.definition(table)
    declared = [str(c) for c in getattr(definition, "partitioned_by", ()) or ()] if definition is not None else []
    names = [name for name, _ in warehouse.columns(table)]
    return [c for c in declared if c in names] or [c for c in names if c.lower() in PARTITION_NAMES]


def data_days(warehouse: Warehouse, tables: Iterable[str]) -> list[date]:
    """The days a daily batch would have run over these tables: every day between the first and
    the last day partition, and every date the rows' date and timestamp columns hold (a job that
    filters `DATE(updated_at) = ds` ran on those days too); at most `MAX_DAYS`, the latest."""
    partition_days: set[date] = set()
    event_days: set[date] = set()
    for table in tables:
        partitions = set(_partition_columns(warehouse, table))
        for name, kind in warehouse.columns(table):
            upper = kind.upper()
            temporal = upper == "DATE" or upper.startswith("TIMESTAMP")
            if name not in partitions and not temporal:
                continue
            column = _ident(name)
            values = warehouse.con.execute(
                f"SELECT DISTINCT TRY_CAST({column} AS DATE) FROM {_quoted(table)} WHERE {column} IS NOT NULL"
            ).fetchall()
            found = {v for (v,) in values if isinstance(v, date)}
            (partition_days if name in partitions else event_days).update(found)
    days = set(event_days)
    if partition_days:
        first, last = min(partition_days), max(partition_days)
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
    return sorted(days)[-MAX_DAYS:]


# ------------------------------------------------------------------------- batch statements


@dataclass
class Session:
    """What one job's run carries between its statements (Spark/Hive session settings)."""

    dynamic_partitions: bool = False


def _rename_tables(tree: exp.Expr, target: exp.Expr | None = None) -> None:
    """Every physical table becomes its DuckDB name; an unaliased one keeps its old name as alias
    so `orders.status` still resolves (the write target keeps none: DML takes no alias there)."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or not table.name:
            continue
        if not table.args.get("db") and table.name.lower() in ctes:
            continue
        original = table.name
        schema, name = duckdb_name(table_name(table))
        table.set("catalog", None)
        table.set("db", exp.to_identifier(schema, quoted=True))
        table.set("this", exp.to_identifier(name, quoted=True))
        if table is not target and not table.alias and table.find_ancestor(exp.Schema) is None:
            table.set("alias", exp.TableAlias(this=exp.to_identifier(original)))


def _duck(tree: exp.Expr) -> str:
    return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.IGNORE)


def _target_table(node: exp.Expr | None) -> exp.Table | None:
    if isinstance(node, exp.Schema):
        node = node.this
    return node if isinstance(node, exp.Table) else None


def to_duckdb(statement: exp.Expr, warehouse: Warehouse, session: Session) -> tuple[list[str], str]:
    """The DuckDB statements that emulate one batch statement (parsed in its dialect; the tree is
    changed in place), and why a statement is skipped ("" when it is not); the target is created
    first when it does not exist yet."""
    if isinstance(statement, exp.Set):
        text = statement.sql().lower().replace(" ", "")
        if "partitionoverwritemode=dynamic" in text or "exec.dynamic.partition.mode=nonstrict" in text:
            session.dynamic_partitions = True
        return [], "SET"
    if isinstance(statement, exp.Insert):
        return _insert(statement, warehouse, session), ""
    if isinstance(statement, exp.Create):
        query = statement.expression
        target = _target_table(statement.this)
        if isinstance(query, exp.Query) and target is not None:
            return _replace_with(target, query, warehouse, ()), ""
        return [], "CREATE without AS SELECT (the table comes from the DDL)"
    if isinstance(statement, exp.Merge):
        return _merge(statement, warehouse), ""
    if isinstance(statement, exp.Update | exp.Delete):
        target = _target_table(statement.this)
        if target is None:
            return [], f"{statement.key.upper()} without a table"
        name = table_name(target)
        if not warehouse.exists(name) and not warehouse.create_from_ddl(name):
            # the first run of a job that replaces its partition (DELETE, then INSERT) meets no
            # table yet: there is nothing to change, the INSERT creates it
            return [], f"{statement.key.upper()} of {name}, which holds no rows yet"
        tree = statement
        _rename_tables(tree, tree.this)
        return [_duck(tree)], ""
    if isinstance(statement, exp.TruncateTable):
        names = [table_name(t) for t in statement.expressions if isinstance(t, exp.Table)]
        for name in names:
            _require(name, warehouse)
        return [f"DELETE FROM {_quoted(name)}" for name in names], ""
    if isinstance(statement, READ_ONLY):
        return [], "read-only query"
    return [], f"{statement.key.upper()} changes no rows"


def _require(table: str, warehouse: Warehouse) -> None:
    if not warehouse.exists(table) and not warehouse.create_from_ddl(table):
        raise LookupError(f"{table} does not exist and has no DDL")


def _insert(statement: exp.Insert, warehouse: Warehouse, session: Session) -> list[str]:
    target = _target_table(statement.this)
    query = statement.expression
    if target is None or not isinstance(query, exp.Query):
        tree = statement
        _rename_tables(tree, _target_table(tree.this))
        return [_duck(tree)]
    name = table_name(target)
    listed = [c.name for c in statement.this.expressions] if isinstance(statement.this, exp.Schema) else []
    partition = target.args.get("partition")
    static: list[tuple[str, exp.Expr]] = []
    dynamic: list[str] = []
    if isinstance(partition, exp.Partition):
        for item in partition.expressions:
            if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
                static.append((item.this.name, item.expression))
            elif isinstance(item, exp.Column):
                dynamic.append(item.name)
    select = query
    _rename_tables(select)
    select_sql = _duck(select)
    if not warehouse.exists(name) and not warehouse.create_from_ddl(name):
        shaped = select_sql
        if static:
            values = ", ".join(f"{_duck(v)} AS {_ident(k)}" for k, v in static)
            shaped = f"SELECT *, {values} FROM ({select_sql}) AS kappa_q"
        warehouse.create_like(name, shaped)
    columns = [c for c, _ in warehouse.columns(name)]
    if not statement.args.get("overwrite"):
        if static:  # INSERT INTO t PARTITION (dt='d') SELECT ...: the partition value is appended
            return [_append_partition(name, select_sql, columns, listed, static)]
        tree = statement
        tree_target = _target_table(tree.this)
        if tree_target is not None:
            tree_target.set("partition", None)
        _rename_tables(tree, tree_target)
        return [_duck(tree)]
    if not static and not dynamic and session.dynamic_partitions:
        dynamic = _partition_columns(warehouse, name)
    result = "kappa_result"
    steps = [f"CREATE OR REPLACE TEMP TABLE {result} AS {select_sql}"]
    if static:
        where = " AND ".join(f"{_ident(k)} = {_duck(v)}" for k, v in static)
        steps.append(f"DELETE FROM {_quoted(name)} WHERE {where}")
        steps.append(_append_partition(name, f"SELECT * FROM {result}", columns, listed, static))
        return steps
    if dynamic:
        data = listed or [c for c in columns if c not in dynamic] + dynamic
        types = dict(warehouse.columns(name))
        # the partition values are the last columns of the result, in PARTITION (...) order, cast
        # to the table's types (Spark's to_date() lands in a STRING dt)
        offset = len(data) - len(dynamic)
        values = ", ".join(f"CAST(#{offset + i + 1} AS {types.get(k, 'VARCHAR')})" for i, k in enumerate(dynamic))
        keys = ", ".join(_ident(k) for k in dynamic)
        keys = f"({keys})" if len(dynamic) > 1 else keys
        steps.append(f"DELETE FROM {_quoted(name)} WHERE {keys} IN (SELECT DISTINCT {values} FROM {result})")
        steps.append(f"INSERT INTO {_quoted(name)} ({', '.join(_ident(c) for c in data)}) SELECT * FROM {result}")
        return steps
    steps.append(f"DELETE FROM {_quoted(name)}")
    into = f" ({', '.join(_ident(c) for c in listed)})" if listed else ""
    steps.append(f"INSERT INTO {_quoted(name)}{into} SELECT * FROM {result}")
    return steps


def _append_partition(
    name: str, select_sql: str, columns: Sequence[str], listed: Sequence[str], static: Sequence[tuple[str, exp.Expr]]
) -> str:
    keys = [k for k, _ in static]
    data = list(listed) or [c for c in columns if c not in keys]
    values = ", ".join(_duck(v) for _, v in static)
    names = ", ".join(_ident(c) for c in [*data, *keys])
    return f"INSERT INTO {_quoted(name)} ({names}) SELECT *, {values} FROM ({select_sql}) AS kappa_q"


def _replace_with(target: exp.Table, query: exp.Query, warehouse: Warehouse, listed: Sequence[str]) -> list[str]:
    """CREATE OR REPLACE TABLE ... AS: the table's rows become the query's (by name when the DDL
    made the table, so its types stay)."""
    name = table_name(target)
    select = query
    _rename_tables(select)
    select_sql = _duck(select)
    if not warehouse.exists(name) and not warehouse.create_from_ddl(name):
        warehouse.create_like(name, select_sql)
    return [
        f"CREATE OR REPLACE TEMP TABLE kappa_result AS {select_sql}",
        f"DELETE FROM {_quoted(name)}",
        f"INSERT INTO {_quoted(name)} BY NAME SELECT * FROM kappa_result",
    ]


def _merge(statement: exp.Merge, warehouse: Warehouse) -> list[str]:
    target = _target_table(statement.this)
    if target is None:
        raise LookupError("MERGE without a target table")
    tree = statement
    whens = tree.args.get("whens")
    for when in whens.expressions if whens is not None else []:
        then = when.args.get("then")
        # BigQuery's INSERT ROW inserts the source row by position: DuckDB's bare INSERT
        if isinstance(then, exp.Insert) and isinstance(then.this, exp.Var) and then.this.name.upper() == "ROW":
            then.set("this", None)
    _rename_tables(tree, tree.this)
    name = table_name(target)
    if not warehouse.exists(name) and not warehouse.create_from_ddl(name):
        # created as a first run does (dbt's first incremental run is a CREATE TABLE AS)
        inserted = merge_inserted_rows(tree)
        if inserted is None:
            raise LookupError(f"{name} does not exist, has no DDL and the MERGE inserts no named columns")
        warehouse.create_like(name, _duck(inserted))
    return [_duck(tree)]


# ------------------------------------------------------------------------------ batch run


@dataclass
class BatchRun:
    """What replaying the batch layer did: per job, the error that stopped it, why it did not
    run, and the seconds its statements took."""

    days: list[date] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # job ids, in run order
    errors: dict[str, str] = field(default_factory=dict)
    not_run: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    produced: dict[str, list[str]] = field(default_factory=dict)  # table -> jobs that wrote it


def _batch_order(analysis: Analysis) -> tuple[list[Job], dict[str, str]]:
    """Jobs that change rows, in lineage waves (owners before their fix and reprocess jobs), and
    why the others are left out."""
    dags = {dag.dag_id: dag for dag in analysis.dags}
    left_out: dict[str, str] = {}
    runnable: dict[str, Job] = {}
    for job in analysis.jobs:
        dag = dags.get(job.dag_id)
        if job.sql_status is not SqlStatus.PARSED:
            left_out[job.id] = f"its SQL is {job.sql_status.value}"
        elif job.pattern is Pattern.OPTIMIZE:
            left_out[job.id] = "a maintenance job (it changes no rows)"
        elif not job.writes:
            left_out[job.id] = "it writes no table"
        elif dag is not None and dag.schedule is None and job.origin is JobOrigin.DAG:
            # a dbt project or query folder without a schedule is run by something outside the
            # repository (dbt Cloud, cron): replayed like a daily run
            left_out[job.id] = f"DAG {dag.dag_id} is triggered by hand (no schedule)"
        else:
            runnable[job.id] = job
    graph = analysis.extra.get("graph") or {}
    waves: list[list[str]] = [list(w) for w in graph.get("waves") or []]
    placed = {job_id for wave in waves for job_id in wave}
    waves.append(sorted(set(runnable) - placed))
    ordered: list[Job] = []
    for wave in waves:
        members = [runnable[j] for j in wave if j in runnable]
        ordered.extend(sorted(members, key=lambda j: (RANK.get(j.pattern, 3), j.id)))
    return ordered, left_out


def _search_path(analysis: Analysis, job: Job) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Airflow's template folders (the DAG's own first) and params, as the scan rendered them."""
    dag = next((d for d in analysis.dags if d.dag_id == job.dag_id), None)
    if dag is None:
        return (), {}
    task = next((t for t in dag.tasks if t.task_id == job.task_id), None)
    folders = (Path(dag.file).parent.as_posix(), *dag.template_searchpath)
    return folders, {**dag.params, **(task.params if task is not None else {})}


def _rendered_for(analysis: Analysis, job: Job, day: date, render: Render) -> list[str]:
    """The job's SQL texts as its scheduler runs them on `day` (`BATCH_TEXTS`, by origin)."""
    return BATCH_TEXTS[job.origin](analysis, job, day, render)


def _templates_for(analysis: Analysis, job: Job, day: date, render: Render) -> list[str]:
    """An Airflow task's or a query file's SQL, rendered as Airflow renders it for the run of
    `day` (a query file's parameters are templates since the scan: `@submission_date` ->
    `DATE '{{ ds }}'`)."""
    folders, params = _search_path(analysis, job)
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    texts = []
    for source in job.sources:
        rendered = render(source, root=Path(analysis.root), search_path=folders, params=params, logical_date=moment)
        problems = [f for f in rendered.findings if f.code in {"E012", "E014"}]
        if problems:
            raise ValueError(f"template does not render for {day}: {problems[0].message}")
        if rendered.text.strip():
            texts.append(rendered.text)
    return texts


def _compiled_model(analysis: Analysis, job: Job, day: date, render: Render) -> list[str]:
    """A dbt model's statements as the scan compiled them (the materialization's DDL or MERGE
    around the model's SELECT). They do not depend on the day: dbt's context reads no run date
    here, and an incremental run's filter only narrows what a full MERGE over the same rows
    gives, so every daily run replays the same MERGE."""
    return [statement.sql for statement in job.statements if statement.sql.strip()]


BATCH_TEXTS: Mapping[JobOrigin, Callable[[Analysis, Job, date, Render], list[str]]] = {
    JobOrigin.DAG: _templates_for,
    JobOrigin.SQL_FILE: _templates_for,
    JobOrigin.DBT: _compiled_model,
}


def run_batch(
    analysis: Analysis,
    warehouse: Warehouse,
    render: Render,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
) -> BatchRun:
    """Replay every scheduled job that changes rows, day by day, wave by wave; a job that fails
    stops (its error is kept) and the others go on.

    A job runs on the days its inputs hold data (`data_days` of the CSV tables it depends on,
    through the jobs that produce its inputs): a daily run over a day without rows changes
    nothing, so those runs are left out to keep the replay fast.
    """
    ordered, left_out = _batch_order(analysis)
    run = BatchRun(not_run=dict(left_out))
    available = set(warehouse.loaded)
    jobs = []
    for job in ordered:
        missing = [t for t in job.reads if t not in available and t not in job.writes]
        if missing:
            run.not_run[job.id] = (
                f"no data for input {missing[0]}: no {missing[0]}.csv in the data folder and no batch job produced it"
            )
            continue
        jobs.append(job)
        available.update(job.writes)
    written = {table for job in jobs for table in job.writes}
    for table in written:
        if table in warehouse.loaded:  # a produced table is recomputed: its sample rows are not the start
            warehouse.con.execute(f"DELETE FROM {_quoted(table)}")
    for job in jobs:
        for table in job.writes:
            run.produced.setdefault(table, []).append(job.id)
            if not warehouse.exists(table):
                warehouse.create_from_ddl(table)
    table_days = {table: set(data_days(warehouse, [table])) for table in warehouse.loaded if table not in written}
    # data without any date still gets one run (a full refresh needs no date to give its result)
    everything = sorted(set().union(*table_days.values())) if table_days else []
    everything = everything or [date.today()]
    job_days: dict[str, set[date]] = {}
    for job in jobs:
        days = set().union(*(table_days.get(t, set()) for t in (*job.reads, *job.writes)))
        job_days[job.id] = days or set(everything)
        for table in job.writes:
            table_days.setdefault(table, set()).update(job_days[job.id])
    run.days = sorted(set().union(*job_days.values())) if job_days else []
    steps_cache: dict[tuple[str, str, bool], list[str]] = {}
    for day in run.days:
        for job in jobs:
            if job.id in run.errors or day not in job_days[job.id]:
                continue
            started = time.monotonic()
            # the budget counts the job's own statements, over all its days
            deadline = started + budget_seconds - run.seconds.get(job.id, 0.0)
            try:
                _run_job_day(analysis, job, day, warehouse, render, deadline, steps_cache)
                for table in job.writes:
                    warehouse.record_versions(table)
            except BudgetExceeded:
                run.errors[job.id] = f"batch SQL took longer than the {budget_seconds:g} s budget"
            except Exception as error:
                run.errors[job.id] = f"batch SQL for {day} fails in DuckDB: {_first_line(str(error))}"
            run.seconds[job.id] = run.seconds.get(job.id, 0.0) + time.monotonic() - started
    run.ran = [job.id for job in jobs]
    return run


def _run_job_day(
    analysis: Analysis,
    job: Job,
    day: date,
    warehouse: Warehouse,
    render: Render,
    deadline: float,
    cache: dict[tuple[str, str, bool], list[str]],
) -> None:
    """One daily run of one job, statement by statement. The DuckDB steps of a text seen before
    (SQL without run dates) are reused: once the targets exist, they depend on the text alone."""
    session = Session()
    for text in _rendered_for(analysis, job, day, render):
        key = (job.id, text, session.dynamic_partitions)
        if key in cache:
            for step in cache[key]:
                warehouse.execute(step, deadline)
            continue
        done: list[str] = []
        for tree in sqlglot.parse(text, read=job.dialect or None):
            if tree is None:
                continue
            for step in to_duckdb(tree, warehouse, session)[0]:
                warehouse.execute(step, deadline)
                done.append(step)
        cache[key] = done


# ------------------------------------------------------------------------------ stream side


@dataclass(frozen=True)
class _Column:
    name: str
    root: str  # Flink type root: BIGINT, DECIMAL, TIMESTAMP_WITHOUT_TIME_ZONE, ...
    physical: bool


@dataclass(frozen=True)
class _FlinkTable:
    name: str  # as written in the job (quotes kept)
    columns: tuple[_Column, ...]
    primary_key: tuple[str, ...]
    rowtime: str | None
    options: Mapping[str, str]


@dataclass(frozen=True)
class StreamResult:
    """One INSERT's outcome: the sink's logical table and columns, its key, and the rows it holds."""

    target: str  # the sink's logical table (from its `-- sink` comment), else its Flink name
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: tuple[Row, ...]
    volatile: tuple[str, ...] = ()  # columns computed from the wall clock


class StreamError(Exception):
    """The stream side cannot give a result. `lookup`: only the real connector could serve the
    job (a lookup join); `runtime`: the job was planned and started, then failed while it ran
    (a verdict on the job, not on the stand-ins)."""

    def __init__(self, message: str, lookup: bool = False, runtime: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.lookup = lookup
        self.runtime = runtime


Feed = Callable[[str], "tuple[list[str], list[tuple[Any, ...]]] | None"]  # logical table -> (columns, rows)

_CDC_FORMATS = frozenset({"debezium-json", "canal-json", "maxwell-json", "ogg-json", "debezium-avro-confluent"})
_INSERT = re.compile(
    r"^\s*INSERT\s+(?:INTO|OVERWRITE)\s+(?:TABLE\s+)?(?P<name>(?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))*)"
    r"\s*(?P<columns>\((?:[^()]|`[^`]*`)*\))?\s*",
    re.IGNORECASE,
)
_CONFLICT = re.compile(r"\s+ON\s+CONFLICT\s+DO\s+(?:DEDUPLICATE|NOTHING|ERROR)\s*$", re.IGNORECASE)
_CREATE = re.compile(
    r"CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>(?:`(?:[^`]|``)+`|[\w$]+)(?:\s*\.\s*(?:`(?:[^`]|``)+`|[\w$]+))*)",
    re.IGNORECASE,
)
_ROLE = re.compile(r"^(?P<role>source|sink)\s+(?P<table>\S+)", re.IGNORECASE)
_SET = re.compile(r"^SET\s+'(?P<key>(?:[^']|'')*)'\s*=\s*'(?P<value>(?:[^']|'')*)'\s*$", re.IGNORECASE | re.DOTALL)
# not applied: the run is local and bounded; mini-batch would fold a whole bounded input into one
# batch and hide the updates a long-running job goes through row by row
_IGNORED_SETTINGS = (
    "execution.runtime-mode",
    "execution.checkpointing.",
    "state.",
    "pipeline.jars",
    "table.exec.mini-batch.",
)


class StreamRunner:
    """Runs generated jobs on Flink's local mini-cluster, one fresh streaming TableEnvironment per
    job in the one JVM pyflink starts (the same JVM `FlinkPlanner` plans in).

    >>> with StreamRunner() as runner:  # doctest: +SKIP
    ...     results = runner.run(job_sql, feed, budget_seconds=60)
    """

    def __init__(self) -> None:
        try:
            from pyflink.table import EnvironmentSettings, TableEnvironment  # noqa: PLC0415 - optional, slow

            from .gateway import flink_gateway  # noqa: PLC0415
        except ImportError as error:  # pragma: no cover - depends on the install
            raise PlannerUnavailable(
                f"pyflink is not installed ({error}); pip install 'kappa-migrate[flink]'"
            ) from error
        self._create: Callable[[], Any] = lambda: TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        try:
            flink_gateway()  # starts the JVM now, with kappa's options, so a missing Java shows here
            self._create()
        except Exception as error:  # the gateway raises bare Exceptions when Java is missing
            raise PlannerUnavailable(f"the Flink JVM did not start: {_first_line(str(error))}") from error
        self._scratch = Path(tempfile.mkdtemp(prefix="kappa-verify-"))
        self._runs = 0

    def __enter__(self) -> StreamRunner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _environment(self, statements: Sequence[Statement]) -> Any:
        env = self._create()
        config = env.get_config()
        config.set("parallelism.default", "1")
        config.set("table.local-time-zone", "UTC")
        for statement in statements:
            match = _SET.match(statement.text.strip()) if statement.kind == "set" else None
            if match is None:
                continue
            key = match.group("key").replace("''", "'")
            if not key.startswith(_IGNORED_SETTINGS):
                config.set(key, match.group("value").replace("''", "'"))
        return env

    def run(self, job_sql: str, feed: Feed, budget_seconds: float = DEFAULT_BUDGET_SECONDS) -> list[StreamResult]:
        """Every INSERT of the job over bounded copies of its sources' rows."""
        deadline = time.monotonic() + budget_seconds
        env, roles, inserts = self._prepare(job_sql, feed)
        return [self._collect(env, insert, f"kappa_verify_q{i}", roles, deadline) for i, insert in enumerate(inserts)]

    def run_into_sinks(
        self,
        job_sql: str,
        feed: Feed,
        connector_jars: Sequence[Path],
        budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    ) -> list[str]:
        """Run the job's INSERTs into their real sinks (a JDBC table, ...) and wait until the job
        ends; the logical tables written, in INSERT order.

        The connectors come from `connector_jars`, passed through `pipeline.jars` (pyflink also
        adds them to the shared JVM's context class loader, where they stay). Only the sources are
        stand-ins, as in `run`: bounded copies of their rows, so the job ends when they are read
        and the sinks flush then. A job still running at the deadline is cancelled.
        """
        deadline = time.monotonic() + budget_seconds
        env, roles, inserts = self._prepare(job_sql, feed, connector_jars)
        statement_set = env.create_statement_set()
        sinks: list[str] = []
        for insert in inserts:
            _flink(partial(statement_set.add_insert_sql, insert.text))
            match = _INSERT.match(insert.text)
            if match is not None:
                sinks.append(roles.get(match.group("name"), ("", _bare(match.group("name"))))[1])
        _run_to_end(_flink(statement_set.execute), deadline)
        return sinks

    def _prepare(
        self, job_sql: str, feed: Feed, connector_jars: Sequence[Path] = ()
    ) -> tuple[Any, dict[str, tuple[str, str]], list[Statement]]:
        """A fresh environment holding the job's tables, each source shadowed by a bounded copy of
        its rows; the tables' roles (flink name -> (role, logical table)) and the job's INSERTs."""
        self._runs += 1
        folder = self._scratch / f"job{self._runs}"
        statements = split_statements(job_sql)
        env = self._environment(statements)
        if connector_jars:  # before any table is planned: the factories are looked up then
            jars = ";".join(Path(jar).resolve().as_uri() for jar in connector_jars)
            env.get_config().set("pipeline.jars", jars)
        roles: dict[str, tuple[str, str]] = {}  # flink name -> (role, logical table)
        inserts: list[Statement] = []
        for statement in statements:
            if statement.kind == "statement_set":
                inserts.extend(statement.parts)
            elif statement.kind == "insert":
                inserts.append(statement)
            elif statement.kind == "create_table":
                _flink(partial(env.execute_sql, statement.text))
                created = _CREATE.match(statement.text.strip())
                if created is not None:
                    said = next((m for m in map(_ROLE.match, reversed(statement.comments)) if m), None)
                    name = created.group("name")
                    roles[name] = (said.group("role").lower(), said.group("table")) if said else ("", _bare(name))
            elif statement.kind == "ddl":  # views, functions: what the INSERTs may need
                _flink(partial(env.execute_sql, statement.text))
        targets = {_bare(m.group("name")) for m in (_INSERT.match(s.text) for s in inserts) if m is not None}
        for name, (role, logical) in roles.items():
            if role == "sink" or (not role and _bare(name) in targets):
                continue
            table = _describe(env, name)
            data = feed(logical)
            if data is None:
                raise StreamError(f"no rows for source {logical}")
            path = folder / flink_identifier(_bare(name))
            _write_feed(path, table, *data)
            _shadow(env, table, path)
        return env, roles, inserts

    def _collect(
        self, env: Any, insert: Statement, view: str, roles: Mapping[str, tuple[str, str]], deadline: float
    ) -> StreamResult:
        """One INSERT's query, run and collected as the sink would hold its rows."""
        match = _INSERT.match(insert.text)
        if match is None:
            raise StreamError(f"cannot read the INSERT at line {insert.line}")
        sink_name = match.group("name")
        sink = _describe(env, sink_name)
        physical = [c.name for c in sink.columns if c.physical]
        listed = _column_list(match.group("columns") or "")
        columns = listed or physical
        query = _CONFLICT.sub("", insert.text[match.end() :].strip())
        table = _flink(lambda: env.sql_query(query))
        result_columns = _result_columns(table)
        if len(result_columns) != len(columns):
            raise StreamError(f"the query gives {len(result_columns)} columns, the sink takes {len(columns)}")
        env.create_temporary_view(view, table)
        projections = ", ".join(_plain(name, root) for name, root in result_columns)
        runnable = _flink(lambda: env.sql_query(f"SELECT {projections} FROM {_flink_ident(view)}"))
        changes = _run_collect(runnable, deadline)
        key_names = [k for k in sink.primary_key if k in columns]
        key = [columns.index(k) for k in key_names]
        rows = materialize(((kind, tuple(canonical(v) for v in values)) for kind, values in changes), key)
        logical = roles.get(sink_name, ("", _bare(sink_name)))[1]
        return StreamResult(
            logical, tuple(columns), tuple(key_names), tuple(rows), tuple(_volatile_columns(insert.text, columns))
        )


# what the planner says when a join needs a lookup source, which no bundled stand-in is
_LOOKUP_REFUSALS = ("Processing-time temporal join is not supported", "LookupTableSource")


def _flink(action: Callable[[], Any]) -> Any:
    """Run a Table API call; a Java error becomes a StreamError with its innermost message."""
    try:
        return action()
    except StreamError:
        raise
    except Exception as error:
        messages = _cause_messages(error)
        message = messages[-1] if messages else _first_line(str(error)) or type(error).__name__
        lookup = any(marker in m for m in messages for marker in _LOOKUP_REFUSALS)
        raise StreamError(message, lookup) from None


def _run_collect(table: Any, deadline: float) -> list[tuple[str, tuple[Any, ...]]]:
    """The query's changelog, cancelled when the deadline passes."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise StreamError("time budget exceeded before the stream job started")
    result = _flink(table.execute)
    client = result.get_job_client()
    expired = threading.Event()

    def cancel() -> None:
        expired.set()
        with contextlib.suppress(Exception):  # the job may have finished meanwhile
            client.cancel()

    timer = threading.Timer(remaining, cancel)
    timer.start()
    changes: list[tuple[str, tuple[Any, ...]]] = []
    try:
        with result.collect() as rows:
            for row in rows:
                changes.append((str(row.get_row_kind()), tuple(row)))
    except Exception as error:
        if expired.is_set():
            raise StreamError("the stream job took longer than its time budget") from None
        messages = _cause_messages(error)
        raise StreamError(messages[-1] if messages else _first_line(str(error)), runtime=True) from None
    finally:
        timer.cancel()
    return changes


def _run_to_end(result: Any, deadline: float) -> None:
    """Wait for a submitted job (a `TableResult`) to end; cancelled when the deadline passes."""
    remaining = deadline - time.monotonic()
    client = result.get_job_client()
    try:
        result.wait(max(int(remaining * 1000), 1))
    except Exception as error:
        messages = _cause_messages(error)
        if time.monotonic() < deadline and not any("TimeoutException" in m for m in messages):
            raise StreamError(messages[-1] if messages else _first_line(str(error)), runtime=True) from None
        with contextlib.suppress(Exception):  # the job may have ended meanwhile
            client.cancel().result()
        raise StreamError("the stream job took longer than its time budget") from None


def _result_columns(table: Any) -> list[tuple[str, str]]:
    schema = table._j_table.getResolvedSchema()
    return [(str(c.getName()), str(c.getDataType().getLogicalType().getTypeRoot().name())) for c in schema.getColumns()]


_PICKLED_AS_IS = frozenset(
    {
        "CHAR",
        "VARCHAR",
        "BOOLEAN",
        "DECIMAL",
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "FLOAT",
        "DOUBLE",
        "DATE",
        "TIME_WITHOUT_TIME_ZONE",
        "TIMESTAMP_WITHOUT_TIME_ZONE",
        "BINARY",
        "VARBINARY",
    }
)


def _plain(name: str, root: str) -> str:
    """A result column as a type pyflink hands to Python: LTZ timestamps as UTC wall time (the
    session is UTC), nested and odd types as text."""
    column = _flink_ident(name)
    if root in _PICKLED_AS_IS:
        return column
    if root == "TIMESTAMP_WITH_LOCAL_TIME_ZONE":
        return f"CAST({column} AS TIMESTAMP(6)) AS {column}"
    return f"CAST({column} AS STRING) AS {column}"


def _describe(env: Any, name: str) -> _FlinkTable:
    def describe() -> _FlinkTable:
        j_env = env._j_tenv
        manager = j_env.getCatalogManager()
        identifier = manager.qualifyIdentifier(j_env.getParser().parseIdentifier(name))
        resolved = manager.getTable(identifier).get().getResolvedTable()
        schema = resolved.getResolvedSchema()
        columns = tuple(
            _Column(str(c.getName()), str(c.getDataType().getLogicalType().getTypeRoot().name()), bool(c.isPhysical()))
            for c in schema.getColumns()
        )
        key = schema.getPrimaryKey()
        primary_key = tuple(str(k) for k in key.get().getColumns()) if key.isPresent() else ()
        watermarks = list(schema.getWatermarkSpecs())
        rowtime = str(watermarks[0].getRowtimeAttribute()) if watermarks else None
        options = {str(k): str(v) for k, v in dict(resolved.getOptions()).items()}
        return _FlinkTable(name, columns, primary_key, rowtime, options)

    result: _FlinkTable = _flink(describe)
    return result


def _shadow(env: Any, table: _FlinkTable, path: Path) -> None:
    """The source as a bounded filesystem table over its rows, schema, watermark and key kept."""
    cdc = (table.options.get("format") or table.options.get("value.format") or "") in _CDC_FORMATS or table.options.get(
        "connector", ""
    ).endswith("-cdc")
    file_format = "debezium-json" if cdc else "json"
    options = f"'connector' = 'filesystem', 'path' = '{_quote(str(path))}', 'format' = '{file_format}'"
    exclude = "EXCLUDING OPTIONS EXCLUDING PARTITIONS EXCLUDING DISTRIBUTION EXCLUDING METADATA"
    _flink(
        lambda: env.execute_sql(f"CREATE TEMPORARY TABLE {table.name} WITH ({options}) LIKE {table.name} ({exclude})")
    )


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _write_feed(path: Path, table: _FlinkTable, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """The rows as JSON lines in arrival order: the table's own columns by name (missing ones null)."""
    physical = [c for c in table.columns if c.physical]
    index = {name.lower(): i for i, name in enumerate(columns)}
    cdc = (table.options.get("format") or table.options.get("value.format") or "") in _CDC_FORMATS
    arrival = next((index[c] for c in ARRIVAL_COLUMNS if c in index), None)
    if arrival is None and table.rowtime is not None:
        arrival = index.get(table.rowtime.lower())
    ordered = sorted(rows, key=lambda r: _arrival_key(r, arrival))
    path.mkdir(parents=True, exist_ok=True)
    with (path / "part-0.json").open("w", encoding="utf-8") as out:
        for row in ordered:
            record = {
                c.name: _json_value(row[index[c.name.lower()]] if c.name.lower() in index else None, c.root)
                for c in physical
            }
            line = {"before": None, "after": record, "op": "c"} if cdc else record
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _arrival_key(row: tuple[Any, ...], arrival: int | None) -> tuple[Any, ...]:
    value = row[arrival] if arrival is not None else None
    moment = canonical(value) or ""
    return (value is None, moment, tuple(canonical(v) or "" for v in row))


def _json_value(value: Any, root: str) -> Any:
    """A DuckDB value as Flink's JSON format reads it for the column's type."""
    if value is None:
        return None
    if root.startswith("TIMESTAMP"):
        moment = _as_datetime(value)
        if moment is None:
            return None
        text = moment.isoformat(sep=" ", timespec="microseconds")
        return text + "Z" if root == "TIMESTAMP_WITH_LOCAL_TIME_ZONE" else text
    if root == "DATE":
        moment = _as_datetime(value)
        return moment.date().isoformat() if moment is not None else None
    if root in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT"}:
        return int(value) if not isinstance(value, str) else int(Decimal(value))
    if root in {"DECIMAL", "FLOAT", "DOUBLE"}:
        return float(value) if not isinstance(value, bool) else int(value)
    if root == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).strip().lower() in {"true", "t", "1", "yes"}
    if root in {"CHAR", "VARCHAR"}:
        if isinstance(value, bool):
            return "true" if value else "false"
        return canonical(value) if isinstance(value, datetime | date) else str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return canonical(value)
    return value


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo is not None else parsed


def _column_list(text: str) -> list[str]:
    inner = text.strip()[1:-1] if text.strip() else ""
    return [_bare(part.strip()) for part in inner.split(",") if part.strip()]


def _bare(name: str) -> str:
    """The table's own name, unquoted: "`db`.`t`" -> "t"."""
    parts: list[tuple[str, str]] = re.findall(r"`((?:[^`]|``)+)`|([\w$]+)", name)
    if not parts:
        return name
    quoted, plain = parts[-1]
    return quoted.replace("``", "`") if quoted else plain


def _volatile_columns(insert_sql: str, columns: Sequence[str]) -> list[str]:
    """Sink columns whose value comes from the wall clock (CURRENT_TIMESTAMP, NOW()...)."""
    try:
        tree = sqlglot.parse_one(_CONFLICT.sub("", insert_sql), read="flink")
    except SqlglotError:
        return []
    query = tree.expression if isinstance(tree, exp.Insert) else tree
    while isinstance(query, exp.SetOperation):
        query = query.this
    if not isinstance(query, exp.Select) or len(query.expressions) != len(columns):
        return []
    found = []
    for projection, column in zip(query.expressions, columns, strict=True):
        if _is_volatile(projection):
            found.append(column)
    return found


def _is_volatile(node: exp.Expr) -> bool:
    if node.find(*VOLATILE) is not None:
        return True
    return any(
        (isinstance(f, exp.Anonymous) and str(f.this).upper() in VOLATILE_NAMES) or f.key.upper() in VOLATILE_NAMES
        for f in node.find_all(exp.Func)
    )


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


_JAVA_PREFIX = re.compile(r"^(?:Caused by:\s*)?(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\s*:\s*")


def _cause_messages(error: BaseException) -> list[str]:
    """A Java exception's messages and its causes', outermost first (py4j or pyflink wrappers)."""
    java = getattr(error, "java_exception", None)
    messages: list[str] = []
    if java is not None:
        for _ in range(50):
            if java is None:
                break
            message = java.getMessage()
            messages.append(_first_line(str(message)) if message else str(java.getClass().getSimpleName()))
            java = java.getCause()
        return messages
    trace = getattr(error, "stack_trace", None)
    if isinstance(trace, str):
        lines = trace.splitlines()
        heads = [lines[0]] if lines else []
        heads += [line for line in lines if line.startswith("Caused by:")]
        return [_JAVA_PREFIX.sub("", head).strip() for head in heads if head.strip()]
    return []


# ------------------------------------------------------------------------------ the stage


def verify_jobs(
    analysis: Analysis,
    generated: Sequence[GeneratedJob],
    data_dir: Path,
    runner: StreamRunner,
    *,
    render: Render,
    budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    only: Sequence[str] | None = None,
) -> list[Equivalence]:
    """Verify every generated job (or the job ids in `only`) against the batch jobs it replaces.

    `render` is `analyzer.render.render_sql` (the generators may not import the renderer);
    `runner` is the shared `StreamRunner`. Returns one `Equivalence` per generated job, in order.
    """
    require_flink_dialect()
    analysis = with_derived_schemas(analysis)  # targets without DDL typed as generation typed them
    warehouse = Warehouse(analysis.extra.get("schemas") or {})
    try:
        for path in sorted(data_dir.glob("*.csv")):
            warehouse.load_csv(path.stem.lower(), path)
        batch = run_batch(analysis, warehouse, render, budget_seconds)
        jobs = {job.id: job for job in analysis.jobs}
        verdicts = []
        for result in generated:
            if result.status != GENERATED or not result.sql or (only is not None and result.job_id not in only):
                continue
            job = jobs.get(result.job_id)
            verdicts.append(_verify_one(result, job, jobs, batch, warehouse, runner, budget_seconds))
        return verdicts
    finally:
        warehouse.close()


def _verify_one(
    result: GeneratedJob,
    job: Job | None,
    jobs: Mapping[str, Job],
    batch: BatchRun,
    warehouse: Warehouse,
    runner: StreamRunner,
    budget_seconds: float,
) -> Equivalence:
    job_id = result.job_id
    if job is None:
        return Equivalence(job_id, SKIPPED, "the job is not in the analysis")
    reason = _batch_problem(job, batch, warehouse)
    batch_seconds = sum(batch.seconds.get(j, 0.0) for t in job.writes for j in batch.produced.get(t, []))
    if reason:
        return Equivalence(job_id, SKIPPED, reason, seconds=batch_seconds)

    started = time.monotonic()
    assert result.sql is not None
    try:
        versioned = versioned_tables(result.sql)
        outcomes = runner.run(result.sql, warehouse_feed(warehouse, job.reads, versioned), budget_seconds)
    except StreamError as error:
        seconds = batch_seconds + time.monotonic() - started
        if error.runtime:
            rows = sum(warehouse.count(t) for t in job.writes if warehouse.exists(t))
            message = f"the streaming job fails while it runs: {error.message}"
            return Equivalence(job_id, DIFFERENT, message, rows, 0, (), seconds)
        message = error.message
        if error.lookup:
            message = f"a lookup join needs the dimension's real connector ({message})"
        return Equivalence(job_id, SKIPPED, f"stream side: {message}", seconds=seconds)
    seconds = batch_seconds + time.monotonic() - started
    writers = [jobs[w] for t in job.writes for w in batch.produced.get(t, []) if w in jobs]
    equivalence = _compare(job_id, outcomes, job, warehouse, _batch_volatile(writers), seconds)
    if equivalence.diff and versioned:
        note = _versions_note(versioned, job, warehouse)
        equivalence = replace(equivalence, message=f"{equivalence.message}; note: {note}")
    return equivalence


def _versions_note(versioned: Sequence[Versioned], job: Job, warehouse: Warehouse) -> str:
    """What a temporal join saw of its versioned tables, for a reviewer reading a difference."""
    logical = [_logical(v.name, job.reads, warehouse) or v.name for v in versioned]
    final_only = [name for name in logical if name not in warehouse.versions]
    seen = (
        f"{', '.join(final_only)} in its sample rows only, each row valid from the start"
        if final_only
        else f"{', '.join(logical)} over the versions the batch replay produced"
    )
    return (
        f"temporal joins look up {seen}, as of each fact's event time; a batch run saw the version "
        "current on its run day, even when that version arrived after the fact happened or before it"
    )


def _batch_problem(job: Job, batch: BatchRun, warehouse: Warehouse) -> str:
    """Why the batch side has no trustworthy result for the job ("" when it has one)."""
    if job.id in batch.not_run:
        reason = batch.not_run[job.id]
        return reason if reason.startswith("no data") else f"the batch job did not run: {reason}"
    if job.id in batch.errors:
        return batch.errors[job.id]
    for table in job.writes:
        for writer in batch.produced.get(table, []):
            if writer in batch.errors:
                return f"{writer}, which also writes {table}: {batch.errors[writer]}"
    for table in job.reads:
        if warehouse.exists(table) and (table in warehouse.loaded or table in batch.produced):
            failed = [w for w in batch.produced.get(table, []) if w in batch.errors]
            if failed:
                return f"input {table}: its producer {failed[0]} failed ({batch.errors[failed[0]]})"
            continue
        return f"no data for input {table}: no {table}.csv in the data folder and no batch job produced it"
    return ""


@dataclass(frozen=True)
class Versioned:
    """A table a job joins FOR SYSTEM_TIME AS OF: its Flink name, primary key and time attribute."""

    name: str
    key: tuple[str, ...]
    rowtime: str


def warehouse_feed(warehouse: Warehouse, reads: Sequence[str], versioned: Iterable[Versioned] = ()) -> Feed:
    """A stream run's `feed` from the batch side: a job file's source (its Flink name, or the
    table its `-- source` comment names) -> the warehouse's columns and rows of that table, as the
    batch replay left them; None when the warehouse has no such table.

    A versioned table (joined FOR SYSTEM_TIME AS OF) that a batch job produced is fed every row
    version it held during the replay, not only the last: a temporal join looks up the version
    valid at each fact's time, as the daily batch runs saw the table on their day. The first
    version of each key is also valid from the start (`EARLIEST`): the data does not say when
    the row began, and the batch runs took it as the current row from the day it arrived."""
    by_name = {flink_identifier(v.name): v for v in versioned}

    def feed(table: str) -> tuple[list[str], list[tuple[Any, ...]]] | None:
        logical = _logical(table, reads, warehouse)
        if logical is None:
            return None
        columns = [name for name, _ in warehouse.columns(logical)]
        spec = by_name.get(flink_identifier(logical)) or by_name.get(flink_identifier(table))
        if spec is None:
            return columns, warehouse.rows(logical, columns)
        rows = (
            warehouse.version_rows(logical, columns)
            if logical in warehouse.versions
            else warehouse.rows(logical, columns)
        )
        return columns, _valid_from_start(rows, columns, spec)

    return feed


EARLIEST = datetime(1970, 1, 1)


def _valid_from_start(
    rows: Sequence[tuple[Any, ...]], columns: Sequence[str], spec: Versioned
) -> list[tuple[Any, ...]]:
    """The rows, with a copy of each key's first version timed at `EARLIEST` in front."""
    index = {name.lower(): i for i, name in enumerate(columns)}
    time_at = index.get(spec.rowtime.lower())
    key_at = [index[k.lower()] for k in spec.key if k.lower() in index]
    if time_at is None or len(key_at) != len(spec.key) or not key_at:
        return list(rows)
    first: dict[tuple[Any, ...], tuple[datetime, tuple[Any, ...]]] = {}
    for row in rows:
        key = tuple(row[i] for i in key_at)
        moment = _as_datetime(row[time_at])
        if moment is not None and (key not in first or moment < first[key][0]):
            first[key] = (moment, row)
    backdated = [(*row[:time_at], EARLIEST, *row[time_at + 1 :]) for _, row in first.values()]
    return [*backdated, *rows]


def versioned_tables(job_sql: str) -> list[Versioned]:
    """The tables a job joins FOR SYSTEM_TIME AS OF, with the key and time attribute its
    CREATE TABLE declares."""
    trees = [parse_flink(s.text) for s in split_statements(job_sql)]
    joined = {
        flink_identifier(table.name)
        for tree in trees
        if tree is not None
        for table in tree.find_all(exp.Table)
        if table.args.get("version") is not None
    }
    found = []
    for tree in trees:
        if not isinstance(tree, exp.Create) or not isinstance(tree.this, exp.Schema):
            continue
        name = tree.this.this.name if isinstance(tree.this.this, exp.Table) else ""
        if flink_identifier(name) not in joined:
            continue
        key = next(
            (tuple(c.name for c in e.expressions) for e in tree.this.expressions if isinstance(e, exp.PrimaryKey)), ()
        )
        rowtime = next(
            (e.this.name for e in tree.this.expressions if isinstance(e, exp.WatermarkColumnConstraint)), None
        )
        if key and rowtime:
            found.append(Versioned(name, key, rowtime))
    return found


def parse_flink(sql: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(sql, read="flink")
    except sqlglot.errors.SqlglotError:
        return None


def _logical(table: str, reads: Sequence[str], warehouse: Warehouse) -> str | None:
    """The analysis table a job file's source stands for (its `-- source` comment names it)."""
    for candidate in (table.lower(), *(r for r in reads if flink_identifier(r) == flink_identifier(table))):
        if warehouse.exists(candidate):
            return candidate
    return None


def _compare(
    job_id: str,
    outcomes: Sequence[StreamResult],
    job: Job,
    warehouse: Warehouse,
    batch_volatile: Mapping[str, set[str]],
    seconds: float,
) -> Equivalence:
    messages: list[str] = []
    diff: list[str] = []
    batch_total = stream_total = 0
    different = False
    for outcome in outcomes:
        target = _logical(outcome.target, job.writes, warehouse)
        if target is None:
            return Equivalence(job_id, SKIPPED, f"the batch side has no table {outcome.target}", seconds=seconds)
        batch_columns = {name.lower(): name for name, _ in warehouse.columns(target)}
        clock = [c for c in outcome.columns if c in outcome.volatile or c.lower() in batch_volatile.get(target, set())]
        compared = [c for c in outcome.columns if c.lower() in batch_columns and c not in clock]
        missing = [c for c in outcome.columns if c.lower() not in batch_columns]
        positions = [outcome.columns.index(c) for c in compared]
        stream_rows = [tuple(row[i] for i in positions) for row in outcome.rows]
        batch_rows = [
            tuple(canonical(v) for v in row)
            for row in warehouse.rows(target, [batch_columns[c.lower()] for c in compared])
        ]
        batch_total += len(batch_rows)
        stream_total += len(stream_rows)
        notes = []
        if clock:
            notes.append(f"wall-clock columns not compared: {', '.join(clock)}")
        repeated = _repeated_keys(batch_rows, [compared.index(k) for k in outcome.key if k in compared])
        if repeated:
            notes.append(
                f"the batch table holds {repeated} row{'s' if repeated > 1 else ''} whose key repeats "
                f"(the upsert sink keeps one row per key)"
            )
        if missing:
            notes.append(f"columns the batch table lacks: {', '.join(missing)}")
        lines, only_batch, only_stream = _difference(batch_rows, stream_rows, compared)
        keyed = f" by key ({', '.join(outcome.key)})" if outcome.key else " as a multiset"
        if lines:
            different = True
            diff.extend(lines)
            messages.append(
                f"{target}: {len(batch_rows)} batch rows, {len(stream_rows)} stream rows{keyed}; "
                f"{only_batch} only in batch, {only_stream} only in stream"
            )
        else:
            messages.append(f"{target}: {len(batch_rows)} rows equal{keyed}")
        messages.extend(notes)
    status = DIFFERENT if different else EQUAL
    return Equivalence(job_id, status, "; ".join(messages), batch_total, stream_total, tuple(diff), seconds)


def _repeated_keys(rows: Sequence[Row], key: Sequence[int]) -> int:
    """How many rows repeat a key an earlier row has."""
    if not key:
        return 0
    counts = Counter(tuple(row[i] for i in key) for row in rows)
    return sum(n - 1 for n in counts.values() if n > 1)


def _batch_volatile(writers: Sequence[Job]) -> dict[str, set[str]]:
    """Per table, the columns the batch jobs set from the wall clock (`updated_at = now()`): no
    replay can reproduce them, so they are not compared."""
    found: dict[str, set[str]] = {}
    for job in writers:
        for statement in job.statements:
            try:
                tree = sqlglot.parse_one(statement.sql, read=job.dialect or None)
            except SqlglotError:
                continue
            target = _target_table(tree.this) if isinstance(tree, exp.Insert | exp.Update | exp.Merge) else None
            if target is None:
                continue
            found.setdefault(table_name(target), set()).update(_clock_columns(tree))
    return found


def _clock_columns(tree: exp.Expr) -> set[str]:
    columns: set[str] = set()
    for assignment in tree.find_all(exp.EQ):  # UPDATE SET, MERGE ... UPDATE SET, ON CONFLICT DO UPDATE SET
        setting = isinstance(assignment.parent, exp.Update | exp.OnConflict) or assignment.find_ancestor(exp.When)
        if setting and isinstance(assignment.this, exp.Column) and _is_volatile(assignment.expression):
            columns.add(assignment.this.name.lower())
    inserts = [tree] if isinstance(tree, exp.Insert) else []
    inserts += [w.args["then"] for w in tree.find_all(exp.When) if isinstance(w.args.get("then"), exp.Insert)]
    for insert in inserts:
        names: list[str] = []
        if isinstance(insert.this, exp.Schema | exp.Tuple):
            names = [c.name.lower() for c in insert.this.expressions]
        values = insert.expression
        projections = values.expressions if isinstance(values, exp.Select | exp.Tuple) else []
        for name, value in zip(names, projections, strict=False):
            if _is_volatile(value):
                columns.add(name)
    return columns


# ------------------------------------------------------------------------------ folder


def generated_in_folder(out_dir: Path) -> list[GeneratedJob]:
    """The generated jobs of a `kappa generate` output folder, from its analysis.json and job files."""
    document = json.loads((out_dir / "analysis.json").read_text(encoding="utf-8"))
    jobs = []
    for entry in document.get("jobs", []):
        generated = entry.get("generated") or {}
        path = generated.get("path")
        status = generated.get("status", "none")
        sql = None
        if status == GENERATED and path and (out_dir / path).is_file():
            sql = (out_dir / path).read_text(encoding="utf-8")
        jobs.append(GeneratedJob(entry["id"], status, generated.get("reason", ""), path, sql))
    return jobs


def iter_lines(equivalences: Iterable[Equivalence]) -> Iterator[str]:
    """Readable lines for a summary: the verdict, then each diff line indented."""
    for equivalence in equivalences:
        yield f"{equivalence.status:9} {equivalence.job_id}: {equivalence.message}"
        for line in equivalence.diff:
            yield f"    {line}"
