"""Flink columns for the tables of a job: from the user's schema file, the repository's DDL, or the
query's output names.

Precedence, whole table at a time: the `--schema` file, then the repository DDL
(`analyzer.schemas.TableDef`, mapped with `flink_type`), then the names the query gives its
output columns, with unknown types. Every column whose type stays unknown is a G502 finding that
tells the user to declare it in a schema file; the job still renders, with a TODO.

The schema file is YAML, in Flink types:

```yaml
tables:
  shop.orders:
    columns: {order_id: BIGINT, status: STRING, updated_at: TIMESTAMP(3)}
    primary_key: [order_id]
    partitioned_by: []
```

    >>> flink_type("NUMERIC", "bigquery"), flink_type("TIMESTAMP_NTZ", "snowflake")
    ('DECIMAL(38, 9)', 'TIMESTAMP(3)')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from sqlglot import exp
from sqlglot.errors import SqlglotError

from analyzer.errors import UsageError
from analyzer.models import Finding

__all__ = [
    "G502",
    "FlinkColumn",
    "FlinkTable",
    "flink_type",
    "load_schema_file",
    "resolve_table",
]

G502 = ("G502", "unknown-column-type")
_V = TypeVar("_V")
MAX_SCHEMA_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class FlinkColumn:
    name: str
    type: str | None  # a Flink SQL type; None = unknown (a G502 finding)


@dataclass(frozen=True)
class FlinkTable:
    table: str
    columns: tuple[FlinkColumn, ...]
    primary_key: tuple[str, ...]
    partitioned_by: tuple[str, ...]  # plain partition columns only; Flink cannot partition by DATE(ts)
    origin: str  # "ddl:<file>:<line>" | "schema-file:<file>" | "inferred"

    @property
    def unknown_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.type is None)


class _TableDefLike(Protocol):
    """What `resolve_table` reads of `analyzer.schemas.TableDef` (generators import only the
    analyzer's models and errors)."""

    @property
    def table(self) -> str: ...
    @property
    def dialect(self) -> str: ...
    @property
    def columns(self) -> Sequence[_ColumnDefLike]: ...
    @property
    def primary_key(self) -> tuple[str, ...]: ...
    @property
    def partitioned_by(self) -> tuple[str, ...]: ...
    @property
    def partition_spec(self) -> tuple[str, ...]: ...
    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...


class _ColumnDefLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def source_type(self) -> str: ...


# ------------------------------------------------------------------------------------- types

_T = exp.DType

# Source type -> Flink type, for types without parameters that matter
_SIMPLE_TYPES: dict[exp.DType, str] = {
    **dict.fromkeys(
        (_T.TEXT, _T.VARCHAR, _T.NVARCHAR, _T.CHAR, _T.NCHAR, _T.BPCHAR, _T.NAME, _T.UUID, _T.ENUM),
        "STRING",
    ),
    **dict.fromkeys((_T.TINYTEXT, _T.MEDIUMTEXT, _T.LONGTEXT, _T.FIXEDSTRING), "STRING"),
    # semi-structured values travel as JSON text
    **dict.fromkeys((_T.JSON, _T.JSONB, _T.VARIANT, _T.SUPER, _T.OBJECT), "STRING"),
    **dict.fromkeys((_T.BIGINT, _T.BIGSERIAL, _T.UINT), "BIGINT"),
    **dict.fromkeys((_T.INT, _T.SERIAL, _T.MEDIUMINT, _T.UMEDIUMINT, _T.USMALLINT), "INT"),
    **dict.fromkeys((_T.SMALLINT, _T.SMALLSERIAL, _T.UTINYINT), "SMALLINT"),
    _T.TINYINT: "TINYINT",
    _T.UBIGINT: "DECIMAL(20, 0)",
    **dict.fromkeys((_T.DOUBLE, _T.UDOUBLE), "DOUBLE"),
    _T.FLOAT: "FLOAT",
    _T.BOOLEAN: "BOOLEAN",
    **dict.fromkeys((_T.DATE, _T.DATE32), "DATE"),
    **dict.fromkeys(
        (
            _T.TIMESTAMP,
            _T.TIMESTAMPNTZ,
            _T.DATETIME,
            _T.DATETIME2,
            _T.DATETIME64,
            _T.SMALLDATETIME,
            _T.TIMESTAMP_S,
            _T.TIMESTAMP_MS,
            _T.TIMESTAMP_NS,
        ),
        "TIMESTAMP(3)",
    ),
    # an instant: BigQuery and Spark TIMESTAMP, Postgres timestamptz, Snowflake TIMESTAMP_TZ/LTZ
    **dict.fromkeys((_T.TIMESTAMPTZ, _T.TIMESTAMPLTZ), "TIMESTAMP_LTZ(3)"),
    **dict.fromkeys(
        (_T.BINARY, _T.VARBINARY, _T.BLOB, _T.TINYBLOB, _T.MEDIUMBLOB, _T.LONGBLOB, _T.ROWVERSION), "BYTES"
    ),
}

# DECIMAL without (p, s): each dialect's default. Unknown dialects and Postgres' unbounded NUMERIC
# get (38, 18), as Flink's JDBC Postgres dialect maps it.
_DEFAULT_DECIMAL: dict[str, tuple[int, int]] = {
    "bigquery": (38, 9),
    "hive": (10, 0),
    "spark": (10, 0),
    "spark2": (10, 0),
    "databricks": (10, 0),
    "mysql": (10, 0),
    "doris": (10, 0),
    "starrocks": (10, 0),
    "trino": (38, 0),
    "presto": (38, 0),
    "athena": (38, 0),
    "snowflake": (38, 0),
    "redshift": (18, 0),
    "duckdb": (18, 3),
}
_FALLBACK_DECIMAL = (38, 18)
_MAX_DECIMAL_PRECISION = 38
_DECIMAL_TYPES = frozenset({_T.DECIMAL, _T.DECIMAL32, _T.DECIMAL64, _T.DECIMAL128, _T.UDECIMAL})


def flink_type(source_type: str, dialect: str) -> str | None:
    """The Flink SQL type for a column type written in `dialect`; None when Flink has no match.

    >>> flink_type("ARRAY<STRUCT<id INT64, tags ARRAY<STRING>>>", "bigquery")
    'ARRAY<ROW<`id` BIGINT, `tags` ARRAY<STRING>>>'
    """
    return _flink_type(source_type.strip(), dialect.lower())


@lru_cache(maxsize=4096)
def _flink_type(source_type: str, dialect: str) -> str | None:
    if not source_type:
        return None
    try:
        data_type = exp.DataType.build(source_type, dialect=dialect)
    except (SqlglotError, ValueError):
        return None
    return _convert(data_type, dialect)


def _convert(data_type: exp.DataType, dialect: str) -> str | None:
    simple = _SIMPLE_TYPES.get(data_type.this)
    if simple is not None:
        return simple
    if data_type.this in _DECIMAL_TYPES:
        return _decimal(data_type, dialect)
    builder = _NESTED_BUILDERS.get(data_type.this)
    return builder(data_type, dialect) if builder is not None else None


def _decimal(data_type: exp.DataType, dialect: str) -> str | None:
    params = [_int_param(param) for param in data_type.expressions]
    if not params:
        precision, scale = _DEFAULT_DECIMAL.get(dialect, _FALLBACK_DECIMAL)
    elif None in params or len(params) > 2:
        return None
    else:
        precision = params[0] or 0
        scale = (params[1] or 0) if len(params) == 2 else 0
    if not 0 < precision <= _MAX_DECIMAL_PRECISION or not 0 <= scale <= precision:
        return None
    return f"DECIMAL({precision}, {scale})"


def _int_param(param: exp.Expr) -> int | None:
    value = param.this if isinstance(param, exp.DataTypeParam) else param
    if isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit():
        return int(value.name)
    return None


def _element_types(data_type: exp.DataType, dialect: str) -> list[str | None]:
    return [_convert(item, dialect) if isinstance(item, exp.DataType) else None for item in data_type.expressions]


def _array(data_type: exp.DataType, dialect: str) -> str | None:
    if not data_type.expressions:
        return "STRING"  # Snowflake's untyped, semi-structured ARRAY: JSON text
    (element,) = _element_types(data_type, dialect)[:1]
    return f"ARRAY<{element}>" if element else None


def _map(data_type: exp.DataType, dialect: str) -> str | None:
    if not data_type.expressions:
        return "STRING"
    types = _element_types(data_type, dialect)
    if len(types) != 2 or None in types:
        return None
    return f"MAP<{types[0]}, {types[1]}>"


def _row(data_type: exp.DataType, dialect: str) -> str | None:
    if not data_type.expressions:
        return "STRING"
    fields: list[str] = []
    for index, field in enumerate(data_type.expressions):
        if isinstance(field, exp.ColumnDef) and isinstance(field.args.get("kind"), exp.DataType):
            name, kind = field.name, field.args["kind"]
        elif isinstance(field, exp.DataType):
            name, kind = f"f{index}", field  # BigQuery STRUCT<INT64, STRING>: Flink's default names
        else:
            return None
        converted = _convert(kind, dialect)
        if converted is None:
            return None
        fields.append(f"{_quote(name)} {converted}")
    return f"ROW<{', '.join(fields)}>"


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# Nested type -> builder
_NESTED_BUILDERS: dict[exp.DType, Callable[[exp.DataType, str], str | None]] = {
    _T.ARRAY: _array,
    _T.LIST: _array,
    _T.MAP: _map,
    _T.STRUCT: _row,
}


# ------------------------------------------------------------------------------- schema file

# a Flink type as a user may write it: words, digits, spaces, (), <>, commas, quoted names and
# descriptions; never a statement separator or a comment
_TYPE_TEXT = re.compile(r"^[A-Za-z][\w\s(),<>`'.]*$")


def load_schema_file(path: Path) -> dict[str, FlinkTable]:
    """Read the user's `--schema` YAML file; any problem is a UsageError naming the file."""
    where = path.as_posix()
    try:
        if path.stat().st_size > MAX_SCHEMA_FILE_BYTES:
            raise UsageError(f"schema file {where} is larger than {MAX_SCHEMA_FILE_BYTES} bytes")
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read schema file {where}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise UsageError(f"schema file {where} is not UTF-8: {error}") from error
    except yaml.YAMLError as error:
        raise UsageError(f"schema file {where} is not valid YAML: {error}") from error
    if not isinstance(raw, Mapping) or not isinstance(raw.get("tables"), Mapping):
        raise UsageError(f"schema file {where}: expected a top-level `tables:` mapping")
    unknown = sorted(str(key) for key in raw if key != "tables")
    if unknown:
        raise UsageError(f"schema file {where}: unknown top-level key {unknown[0]!r} (only `tables`)")
    tables: dict[str, FlinkTable] = {}
    for name, entry in raw["tables"].items():
        table = _schema_file_table(str(name), entry, where)
        if table.table in tables:
            raise UsageError(f"schema file {where}: table {name!r} is declared twice")
        tables[table.table] = table
    return dict(sorted(tables.items()))


_TABLE_KEYS = frozenset({"columns", "primary_key", "partitioned_by"})


def _schema_file_table(name: str, entry: Any, where: str) -> FlinkTable:
    at = f"schema file {where}: tables.{name}"
    if not name.strip() or not isinstance(entry, Mapping):
        raise UsageError(f"{at}: expected a mapping with `columns`")
    unknown = sorted(str(key) for key in entry if key not in _TABLE_KEYS)
    if unknown:
        raise UsageError(f"{at}: unknown key {unknown[0]!r} (expected columns, primary_key, partitioned_by)")
    columns_raw = entry.get("columns")
    if not isinstance(columns_raw, Mapping) or not columns_raw:
        raise UsageError(f"{at}.columns: expected a mapping of column name -> Flink type")
    columns: list[FlinkColumn] = []
    for column, type_text in columns_raw.items():
        if not isinstance(column, str) or not column.strip():
            raise UsageError(f"{at}.columns: column names must be non-empty strings, got {column!r}")
        if not isinstance(type_text, str) or not _TYPE_TEXT.match(type_text.strip()):
            raise UsageError(f"{at}.columns.{column}: {type_text!r} is not a Flink type (e.g. BIGINT, STRING)")
        columns.append(FlinkColumn(column.strip(), " ".join(type_text.split())))
    names = [column.name for column in columns]
    return FlinkTable(
        table=name.strip().lower(),
        columns=tuple(columns),
        primary_key=_column_list(entry.get("primary_key"), names, f"{at}.primary_key"),
        partitioned_by=_column_list(entry.get("partitioned_by"), names, f"{at}.partitioned_by"),
        origin=f"schema-file:{where}",
    )


def _column_list(value: Any, names: Sequence[str], at: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"{at}: expected a list of column names")
    for item in value:
        if item not in names:
            raise UsageError(f"{at}: {item!r} is not one of the table's columns ({', '.join(names)})")
    return tuple(dict.fromkeys(value))


# -------------------------------------------------------------------------------- resolution


def resolve_table(
    table: str,
    defs: Mapping[str, _TableDefLike],
    schema_file: Mapping[str, FlinkTable],
    inferred_columns: Sequence[str] = (),
    *,
    file: str = "",
    line: int = 1,
) -> tuple[FlinkTable, tuple[Finding, ...]]:
    """The Flink columns of `table`: schema file > repository DDL > the query's output names.

    A name matches exactly, else by a unique dotted suffix either way (`marts.t` finds
    `project.marts.t`). `file`/`line` (the job's location) place the findings of inferred columns;
    DDL findings point at the DDL. Unknown types give one G502 finding per column.
    """
    name = table.lower()
    declared = _lookup(name, schema_file)
    if declared is not None:
        return declared, ()
    table_def = _lookup(name, defs)
    if table_def is not None:
        return _from_ddl(name, table_def)
    return _inferred(name, inferred_columns, file, line)


def _lookup(name: str, tables: Mapping[str, _V]) -> _V | None:
    if name in tables:
        return tables[name]
    matches = [key for key in tables if key.endswith("." + name) or name.endswith("." + key)]
    return tables[matches[0]] if len(matches) == 1 else None


def _from_ddl(name: str, table_def: _TableDefLike) -> tuple[FlinkTable, tuple[Finding, ...]]:
    columns = tuple(
        FlinkColumn(column.name, flink_type(column.source_type, table_def.dialect)) for column in table_def.columns
    )
    findings = tuple(
        _unknown_type(
            name,
            column.name,
            table_def.file,
            table_def.line,
            f" ({source.source_type or 'no type'} in {table_def.dialect} has no Flink type)",
        )
        for column, source in zip(columns, table_def.columns, strict=True)
        if column.type is None
    )
    # Flink partitions by column values: keep the partitions that are a plain column, not a
    # transform such as DATE(ts) (`partition_spec` holds a plain column as its bare name)
    plain = set(table_def.partition_spec) if table_def.partition_spec else set(table_def.partitioned_by)
    resolved = FlinkTable(
        table=name,
        columns=columns,
        primary_key=tuple(table_def.primary_key),
        partitioned_by=tuple(column for column in table_def.partitioned_by if column in plain),
        origin=_origin(table_def),
    )
    return resolved, findings


def _origin(table_def: _TableDefLike) -> str:
    where = f"{table_def.file}:{table_def.line}"
    derived_from = getattr(table_def, "derived_from", "")
    return f"typed from {derived_from}'s query at {where}" if derived_from else f"ddl:{where}"


def _inferred(
    name: str, inferred_columns: Sequence[str], file: str, line: int
) -> tuple[FlinkTable, tuple[Finding, ...]]:
    columns = tuple(FlinkColumn(column, None) for column in dict.fromkeys(inferred_columns))
    if columns:
        findings = tuple(_unknown_type(name, column.name, file, line) for column in columns)
    else:
        message = f"unknown columns for {name}; declare the table in a schema file"
        findings = (Finding(G502[0], G502[1], message, file, max(line, 1)),)
    return FlinkTable(name, columns, (), (), "inferred"), findings


def _unknown_type(table: str, column: str, file: str, line: int, detail: str = "") -> Finding:
    message = f"unknown column type for {table}.{column}{detail}; declare it in a schema file"
    return Finding(G502[0], G502[1], message, file, max(line, 1))
