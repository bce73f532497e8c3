"""Table definitions found in the repository: every `CREATE TABLE` with a column list.

A migration needs column types the batch SQL never states: the streaming job declares its source
and sink tables. Repositories usually keep the DDL somewhere (`schemas/<dialect>/*.sql`,
migrations, a `ddl/` folder); `discover_schemas` reads it with sqlglot and returns one `TableDef`
per table, in the `analysis.json` shape (`table_defs_to_dict` / `table_defs_from_dict`).

- Table names are normalised the way `analyzer.sql` names tables: the written parts, dot-joined,
  lower-cased (`db.t`, BigQuery `project.dataset.t` without backticks). Column names are
  lower-cased too, as the analysis names output columns.
- `source_type` is the column's type as sqlglot writes it back in the source dialect
  (`DECIMAL(12, 2)`, `ARRAY<STRING>`), so `exp.DataType.build(source_type, dialect=...)` reads
  it again.
- Hive puts partition columns only in `PARTITIONED BY (dt STRING)`: they are appended to the
  columns. `partitioned_by` names the table columns that partition it (for a transform such as
  BigQuery `PARTITION BY DATE(ts)` or Iceberg `days(ts)`, the column it reads); `partition_spec`
  keeps each partition expression as written (`dt`, `DATE(ts)`), so a reader can tell an identity
  partition from a transform.
- Files without `CREATE TABLE` are skipped without a word; CTAS and templated (Jinja) statements
  too, as the job pipeline parses those after rendering. A `CREATE TABLE` that does not parse is an
  E010 finding. When two files define one table, the first by path wins.

    >>> defs, findings = discover_schemas(
    ...     [("schemas/hive/t.sql", "CREATE TABLE db.t (k BIGINT) PARTITIONED BY (dt STRING)")],
    ...     dialect_from_path)
    >>> [(c.name, c.source_type) for c in defs["db.t"].columns], defs["db.t"].partitioned_by
    ([('k', 'BIGINT'), ('dt', 'STRING')], ('dt',))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import sqlglot
from sqlglot import Token, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError

from .config import known_dialect
from .errors import UsageError, scan_error
from .models import Finding, Statement
from .sql import parse_statements, parsed_tree

__all__ = [
    "DEFAULT_CANDIDATES",
    "ColumnDef",
    "TableDef",
    "dialect_from_path",
    "discover_schemas",
    "table_defs_from_dict",
    "table_defs_to_dict",
]


@dataclass(frozen=True)
class ColumnDef:
    name: str
    source_type: str  # the type in the source dialect, e.g. "DECIMAL(12, 2)"; "" when not written
    nullable: bool = True


@dataclass(frozen=True)
class TableDef:
    table: str  # "db.t", lower-cased
    dialect: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...]
    partitioned_by: tuple[str, ...]  # table columns the partitioning reads
    file: str
    line: int  # 1-based line of the CREATE keyword
    partition_spec: tuple[str, ...] = ()  # partition expressions as written: "dt", "DATE(ts)"
    derived_from: str = ""  # no DDL: the job whose query typed the table (generators.derived_schemas)

    def column(self, name: str) -> ColumnDef | None:
        lowered = name.lower()
        return next((column for column in self.columns if column.name == lowered), None)


# Dialects tried, in this order, for a file whose dialect nothing says. Hive first: it reads
# nearly every DDL (backticks, STRING, PARTITIONED BY) and its TIMESTAMP has no time zone, the
# most common meaning of a bare TIMESTAMP.
DEFAULT_CANDIDATES: tuple[str, ...] = ("hive", "postgres", "snowflake", "trino", "spark", "bigquery", "mysql")

# Words only one dialect writes in DDL: a file showing one is tried in that dialect first.
_DIALECT_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "bigquery",
        re.compile(r"`[^`\n]*-[^`\n]*`|\b(?:INT64|FLOAT64|BIGNUMERIC|BIGDECIMAL)\b|\)\s*PARTITION\s+BY\b", re.I),
    ),
    ("snowflake", re.compile(r"\bNUMBER\s*\(|\bVARIANT\b|\bTIMESTAMP_(?:NTZ|LTZ|TZ)\b|\bTRANSIENT\b", re.I)),
    ("trino", re.compile(r"\)\s*WITH\s*\(\s*\w+\s*=|\bROW\s*\(\s*\w+\s+\w+", re.I)),
    ("databricks", re.compile(r"\bUSING\s+DELTA\b", re.I)),
    ("spark", re.compile(r"\bUSING\s+(?:ICEBERG|PARQUET|ORC|CSV|JSON|AVRO|HUDI)\b|\bTIMESTAMP_NTZ\b", re.I)),
    ("hive", re.compile(r"\bSTORED\s+AS\b|\bROW\s+FORMAT\b|\bEXTERNAL\s+TABLE\b", re.I)),
    ("postgres", re.compile(r"\b(?:BIG|SMALL)?SERIAL\b|\b(?:TEXT|TIMESTAMPTZ|JSONB|BYTEA)\b|::", re.I)),
)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)

# A CREATE TABLE somewhere in the text (cheap pre-filter; comments may match, parsing decides).
_HAS_DDL = re.compile(r"\bCREATE\b[\s\w]*?\bTABLE\b", re.I)
# A statement that is a CREATE TABLE, past leading comments.
_IS_DDL = re.compile(
    r"^(?:\s|--[^\n]*\n|/\*.*?\*/)*CREATE\s+(?:OR\s+REPLACE\s+)?"
    r"(?:(?:GLOBAL|LOCAL|TEMPORARY|TEMP|TRANSIENT|EXTERNAL|UNLOGGED|VOLATILE|MULTISET|HYBRID|DYNAMIC|ICEBERG)\s+)*"
    r"TABLE\b",
    re.I | re.S,
)
_BARE_NAME = re.compile(r'^[`"]?\w+[`"]?$')
_CTAS = re.compile(r"\bAS\s*\(?\s*(?:SELECT|WITH|FROM)\b", re.I)
_TEMPLATE = ("{{", "{%")
_CREATE_TABLE_KINDS = frozenset({"create_table"})
_SKIPPED_KINDS = frozenset({"create_table_as", "create_or_replace_table_as"})


# ------------------------------------------------------------------------------------ discovery


def dialect_from_path(path: str) -> str | None:
    """The dialect named by a folder of `path` (`schemas/snowflake/raw.payments.sql`), if any.

    >>> dialect_from_path("schemas/bigquery/p.d.t.sql"), dialect_from_path("ddl/t.sql")
    ('bigquery', None)
    """
    for part in reversed(PurePosixPath(path).parts[:-1]):
        if known_dialect(part.lower()):
            return part.lower()
    return None


def discover_schemas(
    files: Iterable[tuple[str, str]],
    dialect_for: Callable[[str], str | None],
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
) -> tuple[dict[str, TableDef], tuple[Finding, ...]]:
    """Every `CREATE TABLE` with columns in `files` ((root-relative path, text) pairs).

    `dialect_for(path)` names the file's dialect when something knows it (a `schemas/<dialect>/`
    folder, the configuration); otherwise the dialects a marker word points at are tried, then
    `candidates`, and the first in which every CREATE TABLE of the file parses is used.
    Returns the definitions by table name, sorted, and the findings (E010), sorted.
    """
    defs: dict[str, TableDef] = {}
    findings: list[Finding] = []
    for path, text in sorted(files, key=lambda item: item[0]):
        if not _HAS_DDL.search(text):
            continue
        named = dialect_for(path)
        tried = (named,) if named and known_dialect(named) else _candidates(text, candidates)
        file_defs, file_findings = _read_file(path, text, tried)
        findings.extend(file_findings)
        for table_def in file_defs:
            defs.setdefault(table_def.table, table_def)
    return dict(sorted(defs.items())), tuple(sorted(findings, key=Finding.sort_key))


def _candidates(text: str, candidates: Sequence[str]) -> tuple[str, ...]:
    code = _COMMENTS.sub(" ", text)  # a comment may name anything (`order-events` topic)
    marked = [dialect for dialect, marker in _DIALECT_MARKERS if marker.search(code)]
    return tuple(name for name in dict.fromkeys([*marked, *candidates]) if known_dialect(name))


@dataclass(frozen=True)
class _FileResult:
    defs: tuple[TableDef, ...]
    findings: tuple[Finding, ...]


def _read_file(path: str, text: str, dialects: Sequence[str]) -> tuple[tuple[TableDef, ...], tuple[Finding, ...]]:
    """The first dialect that reads every CREATE TABLE of the file; else the one with fewest errors."""
    best: _FileResult | None = None
    for dialect in dialects:
        result = _read_in(path, text, dialect)
        if not result.findings:
            return result.defs, ()
        if best is None or len(result.findings) < len(best.findings):
            best = result
    return (best.defs, best.findings) if best is not None else ((), ())


def _read_in(path: str, text: str, dialect: str) -> _FileResult:
    statements, parse_findings = parse_statements(text, dialect, file=path, line=1)
    failed = [statement for statement in statements if not statement.parsed]
    # parse_statements reports one finding per failed statement, in order; pair them up so an
    # error keeps sqlglot's exact position
    errors: dict[int, Finding] = (
        {statement.index: finding for statement, finding in zip(failed, parse_findings, strict=True)}
        if len(failed) == len(parse_findings)
        else {}
    )
    defs: list[TableDef] = []
    findings: list[Finding] = []
    for statement in statements:
        tree = parsed_tree(statement, parse_again=False)  # every tree taken: none left behind
        if not _is_schema_ddl(statement.sql) or statement.kind in _SKIPPED_KINDS:
            continue
        if not statement.parsed or statement.kind not in _CREATE_TABLE_KINDS:
            if _CTAS.search(statement.sql):
                continue  # a CTAS: its columns come from the query, and the job pipeline parses it
            findings.append(errors.get(statement.index) or _not_understood(statement, dialect))
            continue
        table_def = _table_def(statement, tree, dialect)
        if table_def is not None:
            defs.append(table_def)
    return _FileResult(tuple(defs), tuple(findings))


def _is_schema_ddl(sql: str) -> bool:
    """A CREATE TABLE this module reads: not templated (the job pipeline renders and parses those)."""
    return bool(_IS_DDL.match(sql)) and not any(mark in sql for mark in _TEMPLATE)


def _not_understood(statement: Statement, dialect: str) -> Finding:
    reason = statement.error or "sqlglot keeps it as a generic command"
    message = f"CREATE TABLE does not parse as {dialect}: {reason}"
    return scan_error("E010", message, statement.file, _keyword_line(statement, dialect))


def _keyword_line(statement: Statement, dialect: str) -> int:
    """The file line of the statement's first keyword (its leading comments are part of it)."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(statement.sql)
    except (SqlglotError, ValueError):
        return statement.line
    return statement.line + (tokens[0].line - 1 if tokens else 0)


# ---------------------------------------------------------------------------------- one table


def _table_def(statement: Statement, create: exp.Expr | None, dialect: str) -> TableDef | None:
    if create is None:  # parse_statements built it a moment ago; defensive only
        return None
    schema = create.this
    if not isinstance(create, exp.Create) or not isinstance(schema, exp.Schema):
        return None  # CREATE TABLE t LIKE u, CREATE TABLE t CLONE u: no columns to read
    table = _table_name(schema.this)
    if table is None:
        return None
    text = _Text.of(statement.sql, dialect)
    columns: dict[str, ColumnDef] = {}
    primary_key: list[str] = []
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            column, is_key = _column(item, text)
            columns.setdefault(column.name, column)
            if is_key:
                primary_key.append(column.name)
        else:
            primary_key.extend(_table_key(item))
    partition_spec: list[str] = []
    partition_columns: list[str] = []
    for partition in _partitions(create, text):
        partition_spec.append(partition.sql)
        if partition.column is not None:
            columns.setdefault(partition.column.name, partition.column)
        partition_columns.extend(partition.reads)
    key = _unique(name for name in primary_key if name in columns)
    # a key column is never NULL, whatever the DDL says
    final = tuple(ColumnDef(c.name, c.source_type, nullable=False) if c.name in key else c for c in columns.values())
    return TableDef(
        table=table,
        dialect=dialect,
        columns=final,
        primary_key=key,
        partitioned_by=_unique(name for name in partition_columns if name in columns),
        file=statement.file,
        line=_keyword_line(statement, dialect),
        partition_spec=tuple(partition_spec),
    )


def _table_name(table: exp.Expr) -> str | None:
    """`db.t` as `analyzer.sql` names a physical table (its `_table_name`)."""
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return None
    return ".".join(part.name for part in table.parts).lower()


@dataclass(frozen=True)
class _Text:
    """A statement's text and tokens, to read a column's type as the user wrote it."""

    sql: str
    dialect: str
    tokens: tuple[Token, ...]
    index_by_start: Mapping[int, int]  # token start offset -> token index

    @classmethod
    def of(cls, sql: str, dialect: str) -> _Text:
        try:
            tokens = tuple(Dialect.get_or_raise(dialect).tokenize(sql))
        except (SqlglotError, ValueError):
            tokens = ()
        return cls(sql, dialect, tokens, {token.start: i for i, token in enumerate(tokens)})


_MAX_TYPE_TOKENS = 64


def _written_type(node: exp.ColumnDef, kind: exp.DataType, text: _Text) -> str:
    """The column's type as written (`NUMERIC(14,2)`, `TIMESTAMP(3) WITH TIME ZONE`): the shortest
    run of tokens after the column name that sqlglot reads as the same type. Falls back to the
    type as sqlglot writes it in the dialect."""
    start = node.this.meta.get("start") if isinstance(node.this, exp.Identifier) else None
    first = text.index_by_start.get(start) if isinstance(start, int) else None
    if first is not None:
        begin = first + 1
        for last in range(begin, min(begin + _MAX_TYPE_TOKENS, len(text.tokens))):
            written = text.sql[text.tokens[begin].start : text.tokens[last].end + 1]
            if _balanced(written) and _same_type(written, kind, text.dialect):
                return " ".join(written.split())
    return kind.sql(dialect=text.dialect)


def _balanced(written: str) -> bool:
    """sqlglot reads `ARRAY<STRING` as `ARRAY<STRING>`: a prefix must close what it opens."""
    return written.count("<") == written.count(">") and written.count("(") == written.count(")")


def _same_type(written: str, kind: exp.DataType, dialect: str) -> bool:
    try:
        return bool(exp.DataType.build(written, dialect=dialect) == kind)
    except Exception:  # a partial type ("NUMERIC(14,") fails in many ways; it is just not the type
        return False


def _column(node: exp.ColumnDef, text: _Text) -> tuple[ColumnDef, bool]:
    kind = node.args.get("kind")
    source_type = _written_type(node, kind, text) if isinstance(kind, exp.DataType) else ""
    nullable = True
    is_key = False
    for constraint in node.constraints:
        constraint_kind = constraint.kind
        if isinstance(constraint_kind, exp.NotNullColumnConstraint):
            nullable = bool(constraint_kind.args.get("allow_null"))
        elif isinstance(constraint_kind, exp.PrimaryKeyColumnConstraint):
            is_key = True
    return ColumnDef(node.name.lower(), source_type, nullable), is_key


def _table_key(item: exp.Expr) -> tuple[str, ...]:
    """`PRIMARY KEY (a, b)` or `CONSTRAINT pk PRIMARY KEY (a, b)` among the schema's items."""
    keys = [item] if isinstance(item, exp.PrimaryKey) else []
    if isinstance(item, exp.Constraint):
        keys = [node for node in item.expressions if isinstance(node, exp.PrimaryKey)]
    return tuple(_name_of(part) for key in keys for part in key.expressions if _name_of(part))


def _name_of(node: exp.Expr) -> str:
    if isinstance(node, exp.Ordered):
        node = node.this
    return node.name.lower() if isinstance(node, (exp.Identifier, exp.Column)) else ""


@dataclass(frozen=True)
class _Partition:
    sql: str  # as written in the source dialect
    reads: tuple[str, ...]  # table columns it reads
    column: ColumnDef | None = None  # a column declared only here (Hive)


def _partitions(create: exp.Create, text: _Text) -> Iterator[_Partition]:
    properties = create.args.get("properties")
    for prop in properties.expressions if isinstance(properties, exp.Properties) else ():
        reader = _PARTITION_READERS.get(type(prop))
        if reader is not None:
            yield from reader(prop, text)


def _partitioned_by(prop: exp.Expr, text: _Text) -> Iterator[_Partition]:
    """Hive `PARTITIONED BY (dt STRING)`, Spark `PARTITIONED BY (dt, days(ts))`, BigQuery
    `PARTITION BY DATE(ts)`."""
    spec = prop.this
    items = spec.expressions if isinstance(spec, exp.Schema) else [spec]
    for item in items:
        if isinstance(item, exp.ColumnDef):
            column, _ = _column(item, text)
            yield _Partition(column.name, (column.name,), column)
        elif isinstance(item, (exp.Identifier, exp.Column)):
            yield _Partition(item.name.lower(), (item.name.lower(),))  # a plain column: its bare name
        elif isinstance(item, exp.Expr):
            yield _Partition(item.sql(dialect=text.dialect), _columns_read(item))


def _property(prop: exp.Expr, text: _Text) -> Iterator[_Partition]:
    """Trino `WITH (partitioning = ARRAY['day(ts)'])` (Iceberg) / `partitioned_by = ARRAY['dt']`
    (Hive connector): partition expressions held in string literals."""
    if prop.name.lower() not in {"partitioning", "partitioned_by"}:
        return
    value = prop.args.get("value")
    for literal in value.expressions if isinstance(value, exp.Array) else ():
        if not (isinstance(literal, exp.Literal) and literal.is_string):
            continue
        spec = literal.this.strip()
        if _BARE_NAME.match(spec):
            name = spec.strip('`"').lower()
            yield _Partition(name, (name,))
        else:
            yield _Partition(spec, _columns_in_text(spec, text.dialect))


def _columns_read(node: exp.Expr) -> tuple[str, ...]:
    if isinstance(node, exp.Identifier):
        return (node.name.lower(),)
    return _unique(column.name.lower() for column in node.find_all(exp.Column))


def _columns_in_text(text: str, dialect: str) -> tuple[str, ...]:
    try:
        return _columns_read(sqlglot.parse_one(text, read=dialect))
    except SqlglotError:
        return ()


# Property node type -> partition reader
_PARTITION_READERS: dict[type[exp.Expr], Callable[[exp.Expr, _Text], Iterator[_Partition]]] = {
    exp.PartitionedByProperty: _partitioned_by,
    exp.Property: _property,
}


# ------------------------------------------------------------------------------- analysis.json


def table_defs_to_dict(defs: Mapping[str, TableDef]) -> dict[str, Any]:
    """The `schemas` object of analysis.json: table name -> definition, sorted by name."""
    return {
        name: {
            "dialect": table_def.dialect,
            "columns": [
                {"name": column.name, "source_type": column.source_type, "nullable": column.nullable}
                for column in table_def.columns
            ],
            "primary_key": list(table_def.primary_key),
            "partitioned_by": list(table_def.partitioned_by),
            "partition_spec": list(table_def.partition_spec),
            "file": table_def.file,
            "line": table_def.line,
            **({"derived_from": table_def.derived_from} if table_def.derived_from else {}),
        }
        for name, table_def in sorted(defs.items())
    }


def table_defs_from_dict(data: Mapping[str, Any]) -> dict[str, TableDef]:
    """Read back `table_defs_to_dict`'s output; a malformed entry is a UsageError naming it."""
    if not isinstance(data, Mapping):
        raise UsageError("analysis.json: `schemas` must be an object of table definitions")
    defs: dict[str, TableDef] = {}
    for name, entry in data.items():
        try:
            defs[str(name).lower()] = _table_def_from_dict(str(name).lower(), entry)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UsageError(f"analysis.json: schemas.{name} is malformed: {error!r}") from error
    return dict(sorted(defs.items()))


def _table_def_from_dict(name: str, entry: Mapping[str, Any]) -> TableDef:
    columns = tuple(
        ColumnDef(str(column["name"]), str(column.get("source_type", "")), bool(column.get("nullable", True)))
        for column in entry["columns"]
    )
    return TableDef(
        table=name,
        dialect=str(entry["dialect"]),
        columns=columns,
        primary_key=tuple(str(key) for key in entry.get("primary_key", ())),
        partitioned_by=tuple(str(key) for key in entry.get("partitioned_by", ())),
        file=str(entry.get("file", "")),
        line=int(entry.get("line", 1)),
        partition_spec=tuple(str(item) for item in entry.get("partition_spec", ())),
        derived_from=str(entry.get("derived_from", "")),
    )


# ----------------------------------------------------------------------------------- helpers


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
