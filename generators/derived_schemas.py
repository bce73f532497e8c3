"""`with_derived_schemas(analysis) -> Analysis`: a table that no DDL defines gets the columns and
types of the query that writes it.

dbt models, query files and many DAG tasks create their tables from a SELECT (`CREATE TABLE AS`,
a view, an incremental MERGE, `INSERT` into a table the warehouse creates on first write), so the
repository holds no `CREATE TABLE` for them. Without one, a generated job declared the sink's
columns as `STRING` with a G502 TODO, and the job that reads the table next knew none of its
columns. Here each such table is typed from its writer's query, the way the warehouse typed it:

- the writing statement's query (`INSERT ... SELECT`, `CREATE ... AS SELECT`, a view, or the rows
  a MERGE inserts: `SELECT <values> AS <columns> FROM <using>`) is qualified and its types
  annotated by sqlglot (`qualify`, `annotate_types`) over the definitions already known;
- writers run in lineage order (a table is typed once every table its writer reads that some job
  produces is typed), so types flow down a chain of models; a cycle is typed with what is known;
- a column whose type sqlglot cannot tell keeps an empty type (still a G502 in the job); a table
  that a DDL, the user's schema file or another writer defines is never replaced;
- the definition names its writer (`derived_from`, the job id) and the statement's file and line,
  and goes into analysis.json's `schemas` like any other.

    >>> from analyzer.models import Job, SqlStatus, Statement
    >>> sql = "CREATE TABLE m.totals AS SELECT shop, COUNT(*) AS n, CAST(ts AS DATE) AS day FROM raw.e GROUP BY 1, 3"
    >>> job = Job("d.t", "d", "t", "d.py", 1, "op", "postgres", SqlStatus.PARSED, reads=("raw.e",),
    ...           writes=("m.totals",), statements=(Statement(0, sql, "d.sql", 1, "postgres", True),))
    >>> columns = (ColumnDef("shop", "TEXT"), ColumnDef("ts", "TIMESTAMP"))
    >>> raw = TableDef("raw.e", "postgres", columns, (), (), "e.sql", 1)
    >>> derived = derive_table_defs([job], {"raw.e": raw})["m.totals"]
    >>> [(c.name, c.source_type) for c in derived.columns], derived.derived_from
    ([('shop', 'TEXT'), ('n', 'BIGINT'), ('day', 'DATE')], 'd.t')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify

from analyzer.models import Analysis, Job, SqlStatus, Statement
from analyzer.schemas import ColumnDef, TableDef

from .streaming import table_name

__all__ = [
    "Runner",
    "Work",
    "derive_table_defs",
    "merge_inserted_rows",
    "typed_in_order",
    "typed_tables",
    "with_derived_schemas",
]

# types sqlglot gives when it cannot tell: the column stays untyped
UNTYPED = frozenset({exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL})


@dataclass(frozen=True)
class _Written:
    """What one statement writes: the target, the columns it names (if any) and the query."""

    target: str
    listed: tuple[str, ...]
    query: exp.Query


#: (a job, the definitions of the tables it reads and writes) -> the tables it types, in order
Work = tuple[Job, dict[str, TableDef]]
Runner = Callable[[Sequence[Work]], Iterable[list[TableDef]]]


def with_derived_schemas(analysis: Analysis, run: Runner | None = None) -> Analysis:
    """The analysis whose `extra['schemas']` also holds the tables typed from their writers."""
    known: dict[str, TableDef] = dict(analysis.extra.get("schemas") or {})
    derived = derive_table_defs(analysis.jobs, known, run)
    if not derived:
        return analysis
    return replace(analysis, extra={**analysis.extra, "schemas": dict(sorted({**known, **derived}.items()))})


def derive_table_defs(
    jobs: Sequence[Job], known: Mapping[str, TableDef], run: Runner | None = None
) -> dict[str, TableDef]:
    """Definitions of the tables `jobs` write that `known` lacks, typed from the writing queries.

    In rounds, in lineage order: a round types every job whose inputs are typed (or that no job
    writes), through `run` (in this process by default; the CLI passes worker processes, as
    parsing and qualifying the writers is most of `kappa generate`'s time), and the first writer
    of a table, by job id, defines it. When no job is ready (a cycle, or a writer of an input that
    cannot be typed), the rest is typed one by one, in job order, with what is known."""
    run = run or typed_in_order
    defined = dict(known)
    produced = {table for job in jobs for table in job.writes}
    pending = [job for job in sorted(jobs, key=lambda j: j.id) if job.sql_status is SqlStatus.PARSED]
    derived: dict[str, TableDef] = {}
    while pending:
        ready = [job for job in pending if all(t in defined or t not in produced or t in job.writes for t in job.reads)]
        if not ready:
            for job in pending:
                for table_def in _job_defs(job, defined):
                    defined[table_def.table] = derived[table_def.table] = table_def
            break
        work = [(job, {t: defined[t] for t in (*job.reads, *job.writes) if t in defined}) for job in ready]
        for table_defs in run(work):
            for table_def in table_defs:
                if table_def.table not in defined:
                    defined[table_def.table] = derived[table_def.table] = table_def
        done = {job.id for job in ready}
        pending = [job for job in pending if job.id not in done]
    return derived


def typed_in_order(work: Sequence[Work]) -> list[list[TableDef]]:
    """`Runner` in this process."""
    return [typed_tables(item) for item in work]


def typed_tables(item: Work) -> list[TableDef]:
    """The tables one job's statements type, each statement seeing the tables the ones before it
    typed; a top-level function, so worker processes can run it."""
    job, known = item
    defined = dict(known)
    typed = []
    for table_def in _job_defs(job, defined):
        defined[table_def.table] = table_def
        typed.append(table_def)
    return typed


def _job_defs(job: Job, defined: Mapping[str, TableDef]) -> Iterable[TableDef]:
    if all(table in defined for table in job.writes):
        return
    dialect = job.dialect or ""
    for statement in job.statements:
        if not statement.parsed:
            continue
        written = _written(statement, dialect)
        if written is None or written.target in defined or written.target not in job.writes:
            continue
        columns = _typed_columns(written, dialect, defined)
        if columns:
            yield TableDef(
                table=written.target,
                dialect=dialect,
                columns=columns,
                primary_key=(),
                partitioned_by=(),
                file=statement.file,
                line=statement.line,
                derived_from=job.id,
            )


def _written(statement: Statement, dialect: str) -> _Written | None:
    try:
        tree = sqlglot.parse_one(statement.sql, read=dialect or None)
    except SqlglotError:
        return None
    return WRITERS[type(tree)](tree) if type(tree) in WRITERS else None


def _table_of(node: exp.Expr | None) -> tuple[str, tuple[str, ...]] | None:
    listed: tuple[str, ...] = ()
    if isinstance(node, exp.Schema):
        listed = tuple(c.name.lower() for c in node.expressions if isinstance(c, exp.Identifier | exp.Column))
        node = node.this
    return (table_name(node), listed) if isinstance(node, exp.Table) else None


def _query_into(tree: exp.Expr) -> _Written | None:
    """`INSERT INTO t [(cols)] <query>` and `CREATE [OR REPLACE] TABLE|VIEW t AS <query>`."""
    target = _table_of(tree.this)
    query = tree.expression
    if target is None or not isinstance(query, exp.Query):
        return None
    return _Written(target[0], target[1], query)


def _merge(tree: exp.Expr) -> _Written | None:
    target = _table_of(tree.this)
    query = merge_inserted_rows(tree) if isinstance(tree, exp.Merge) else None
    return _Written(target[0], (), query) if target is not None and query is not None else None


def merge_inserted_rows(merge: exp.Merge) -> exp.Query | None:
    """The rows a MERGE inserts, as a query over its source: `SELECT <values> AS <columns> FROM
    <using>` (None when no branch inserts named columns)."""
    using = merge.args.get("using")
    whens = merge.args.get("whens")
    if using is None or whens is None:
        return None
    for when in whens.expressions:
        then = when.args.get("then")
        if not isinstance(then, exp.Insert):
            continue
        columns, values = then.this, then.expression
        if not isinstance(columns, exp.Tuple) or not isinstance(values, exp.Tuple):
            continue
        if len(columns.expressions) != len(values.expressions):
            continue
        pairs = zip(columns.expressions, values.expressions, strict=True)
        return exp.select(*(exp.alias_(value.copy(), column.name, quoted=True) for column, value in pairs)).from_(
            using.copy()
        )
    return None


WRITERS = {exp.Insert: _query_into, exp.Create: _query_into, exp.Merge: _merge}


def _typed_columns(written: _Written, dialect: str, defined: Mapping[str, TableDef]) -> tuple[ColumnDef, ...]:
    """The query's output columns (named by the statement's column list when it has one), each with
    the type sqlglot annotates in the statement's dialect ("" when it cannot tell).

    The query is qualified in place: its tree was parsed for this typing alone (`_written`), and
    copying it first took a seventh of the typing. What it outputs as written is kept for a query
    sqlglot cannot qualify."""
    query = written.query
    outputs = _outputs(query)
    try:
        schema = _schema_for(query, defined)
        query = qualify(query, schema=schema, dialect=dialect or None, validate_qualify_columns=False)
        annotate_types(query, schema=schema, dialect=dialect or None)
        if _widen_decimal_sums(query):
            annotate_types(query, schema=schema, dialect=dialect or None)
        outputs = _outputs(query)
    except (SqlglotError, KeyError, ValueError, AttributeError):
        pass  # the outputs as written, untyped
    if not outputs:
        return ()
    names = written.listed if len(written.listed) == len(outputs) else tuple(name for name, _ in outputs)
    typed = zip(names, outputs, strict=True)
    return tuple(ColumnDef(name.lower(), _type_text(kind, dialect)) for name, (_, kind) in typed)


def _outputs(query: exp.Expr) -> list[tuple[str, exp.DataType | None]]:
    if isinstance(query, exp.SetOperation):
        return _outputs(query.this)
    if not isinstance(query, exp.Select):
        return []
    outputs = []
    for projection in query.expressions:
        if isinstance(projection, exp.Star) or isinstance(projection.this, exp.Star):
            return []  # a star qualify could not expand: the columns are unknown
        outputs.append((projection.alias_or_name, projection.type))
    return outputs


def _widen_decimal_sums(query: exp.Expr) -> bool:
    """A SUM of decimals keeps its scale at the widest precision, as the warehouses (and Flink) type
    it, where sqlglot keeps the argument's `DECIMAL(12, 2)`, which a year of sums overflows: each
    such SUM is cast to `DECIMAL(38, scale)` (in this private tree), to be annotated again."""
    widened = False
    for total in list(query.find_all(exp.Sum)):
        kind = total.type
        if kind is None or not kind.is_type(exp.DataType.Type.DECIMAL):
            continue
        params = kind.expressions
        scale = params[1].this.name if len(params) > 1 and isinstance(params[1].this, exp.Literal) else "0"
        total.replace(exp.cast(total.copy(), exp.DataType.build(f"DECIMAL(38, {scale})")))
        widened = True
    return widened


def _type_text(kind: exp.DataType | None, dialect: str) -> str:
    if kind is None or kind.this in UNTYPED:
        return ""
    try:
        return kind.sql(dialect=dialect or None)
    except SqlglotError:
        return ""


def _schema_for(query: exp.Expr, defined: Mapping[str, TableDef]) -> dict[str, object]:
    """sqlglot's nested schema for the tables the query reads (those with a definition). Each
    table sits at the depth of its own name parts; the deepest wins when names differ in depth,
    as sqlglot wants one depth per schema."""
    tables = {table_name(t): t for t in query.find_all(exp.Table)}
    entries = {name: defined[name] for name in tables if name in defined}
    if not entries:
        return {}
    depth = max(len(name.split(".")) for name in entries)
    schema: dict[str, object] = {}
    for name, table_def in entries.items():
        parts = name.split(".")
        if len(parts) != depth:
            continue
        level = schema
        for part in parts[:-1]:
            level = level.setdefault(part, {})  # type: ignore[assignment]
        level[parts[-1]] = {c.name: c.source_type or "UNKNOWN" for c in table_def.columns}
    return schema
