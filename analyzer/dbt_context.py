"""dbt's Jinja context, stood in: what a model may call while it renders (`ref`, `source`, `config`,
`var`, `is_incremental()`, `this`, `target`, `adapter`, `env_var`, the cross-database macros of dbt
and the common `dbt_utils` macros), for `analyzer.dbt`.

Every stand-in returns plain SQL text in the project's dialect, computed from its arguments only:
nothing reaches a database (`execute` is false, `run_query` returns nothing, `adapter` knows no
relation), nothing reads the clock (`run_started_at` and `modules.datetime` are the scan's fixed
run), nothing runs code of the project. What a stand-in cannot know (a macro kappa has no stand-in
for, a `ref` to a model the project does not have, a `var` nobody defines) is recorded in the
render's `DbtRenderState` and becomes a finding, never an exception.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import yaml

from .render import LOGICAL_DATE

# the run every model is rendered for: the end of the daily interval, as a punctual run starts
RUN_STARTED_AT = LOGICAL_DATE + dt.timedelta(days=1)
INVOCATION_ID = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Relation:
    """Where a model, seed, snapshot or source lives: `database.schema.identifier`."""

    database: str | None
    schema: str
    identifier: str


@dataclass
class DbtRenderState:
    """What one render of one model observed (mutable, lives for that render only)."""

    incremental: bool
    config: dict[str, Any] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)  # names of the project's nodes it refs
    sources: list[tuple[str, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (message, text to locate it by)
    vars_used: list[str] = field(default_factory=list)

    def problem(self, message: str, needle: str) -> None:
        if (message, needle) not in self.problems:
            self.problems.append((message, needle))


class RelationText(str):
    """A relation as dbt prints it, with the attributes macros read (`this.schema`, `.identifier`)."""

    database: str | None
    schema: str
    identifier: str

    def __new__(cls, relation: Relation, text: str) -> RelationText:
        made = super().__new__(cls, text)
        made.database = relation.database
        made.schema = relation.schema
        made.identifier = relation.identifier
        return made

    @property
    def name(self) -> str:
        return self.identifier

    @property
    def table(self) -> str:
        return self.identifier

    def render(self) -> str:
        return str(self)

    def include(self, *_args: Any, **_kwargs: Any) -> RelationText:
        return self

    def quote(self, *_args: Any, **_kwargs: Any) -> RelationText:
        return self

    def incorporate(self, *_args: Any, **_kwargs: Any) -> RelationText:
        return self


def relation_text(relation: Relation, dialect: str) -> RelationText:
    parts = [p for p in (relation.database, relation.schema, relation.identifier) if p]
    text = ".".join(parts)
    if dialect == "bigquery" and "-" in text:
        text = f"`{text}`"
    return RelationText(relation, text)


# ------------------------------------------------------------------------------ dialect snippets

STRING_TYPES = {"bigquery": "string", "spark": "string", "databricks": "string", "hive": "string"}
INT_TYPES = {"bigquery": "int64"}
BIGINT_TYPES = {"bigquery": "int64"}
FLOAT_TYPES = {"bigquery": "float64"}
NUMERIC_TYPES = {"bigquery": "numeric", "snowflake": "number(28, 6)"}
QUALIFY_DIALECTS = frozenset({"bigquery", "snowflake", "databricks", "duckdb", "teradata"})


def type_string(dialect: str) -> str:
    return STRING_TYPES.get(dialect, "varchar")


def _dateadd(dialect: str) -> Callable[..., str]:
    def dateadd(datepart: Any, interval: Any, from_date_or_timestamp: Any) -> str:
        part, amount, base = str(datepart).strip("'\""), str(interval), str(from_date_or_timestamp)
        if dialect == "bigquery":
            return f"datetime_add(cast({base} as datetime), interval {amount} {part})"
        if dialect == "postgres":
            return f"({base} + ((interval '1 {part}') * ({amount})))"
        if dialect in {"trino", "presto", "athena"}:
            return f"date_add('{part}', {amount}, {base})"
        if dialect in {"spark", "databricks", "hive"}:
            return f"timestampadd({part}, {amount}, {base})"
        return f"dateadd({part}, {amount}, {base})"

    return dateadd


def _datediff(dialect: str) -> Callable[..., str]:
    def datediff(first_date: Any, second_date: Any, datepart: Any) -> str:
        first, second, part = str(first_date), str(second_date), str(datepart).strip("'\"")
        if dialect == "bigquery":
            return f"datetime_diff(cast({second} as datetime), cast({first} as datetime), {part})"
        if dialect == "postgres":
            return f"(date_part('{part}', ({second})::timestamp - ({first})::timestamp))"
        if dialect in {"trino", "presto", "athena"}:
            return f"date_diff('{part}', {first}, {second})"
        return f"datediff({part}, {first}, {second})"

    return datediff


def _cross_db(dialect: str) -> dict[str, Callable[..., str]]:
    """dbt's cross-database macros (`dbt.dateadd`, `{{ type_string() }}`...), in `dialect`."""
    string = type_string(dialect)

    def safe_cast(field_: Any, type_: Any) -> str:
        how = {"bigquery": "safe_cast", "snowflake": "try_cast", "databricks": "try_cast", "trino": "try_cast"}
        return f"{how.get(dialect, 'cast')}({field_} as {type_})"

    def hash_(field_: Any) -> str:
        if dialect == "bigquery":
            return f"to_hex(md5(cast({field_} as {string})))"
        return f"md5(cast({field_} as {string}))"

    def date_trunc(datepart: Any, date: Any) -> str:
        part = str(datepart).strip("'\"")
        if dialect == "bigquery":
            return f"timestamp_trunc(cast({date} as timestamp), {part})"
        return f"date_trunc('{part}', {date})"

    def split_part(string_text: Any, delimiter_text: Any, part_number: Any) -> str:
        if dialect == "bigquery":
            return f"split({string_text}, {delimiter_text})[safe_offset({part_number} - 1)]"
        return f"split_part({string_text}, {delimiter_text}, {part_number})"

    def listagg(measure: Any, delimiter_text: Any = "','", order_by_clause: Any = None, limit_num: Any = None) -> str:
        function = "listagg" if dialect in {"snowflake", "redshift"} else "string_agg"
        return f"{function}({measure}, {delimiter_text})"

    def bool_or(expression: Any) -> str:
        function = {"snowflake": "boolor_agg", "bigquery": "logical_or"}.get(dialect, "bool_or")
        return f"{function}({expression})"

    def position(substring_text: Any, string_text: Any) -> str:
        if dialect == "bigquery":
            return f"strpos({string_text}, {substring_text})"
        return f"position({substring_text} in {string_text})"

    def concat(fields: Any) -> str:
        return f"concat({', '.join(map(str, _items(fields)))})"

    def any_value(expression: Any) -> str:
        return f"min({expression})" if dialect in {"postgres", "redshift"} else f"any_value({expression})"

    def except_() -> str:
        return "except distinct" if dialect == "bigquery" else "except"

    def intersect() -> str:
        return "intersect distinct" if dialect == "bigquery" else "intersect"

    def current_timestamp() -> str:
        return "current_timestamp()" if dialect == "bigquery" else "current_timestamp"

    return {
        "dateadd": _dateadd(dialect),
        "datediff": _datediff(dialect),
        "current_timestamp": current_timestamp,
        "current_timestamp_backcompat": current_timestamp,
        "current_timestamp_in_utc_backcompat": current_timestamp,
        "type_string": lambda: string,
        "type_timestamp": lambda: "timestamp",
        "type_int": lambda: INT_TYPES.get(dialect, "int"),
        "type_bigint": lambda: BIGINT_TYPES.get(dialect, "bigint"),
        "type_float": lambda: FLOAT_TYPES.get(dialect, "float"),
        "type_numeric": lambda: NUMERIC_TYPES.get(dialect, "numeric(28, 6)"),
        "type_boolean": lambda: "boolean",
        "safe_cast": safe_cast,
        "cast": lambda field_, type_: f"cast({field_} as {type_})",
        "hash": hash_,
        "date_trunc": date_trunc,
        "split_part": split_part,
        "listagg": listagg,
        "bool_or": bool_or,
        "position": position,
        "concat": concat,
        "any_value": any_value,
        "except": except_,
        "intersect": intersect,
        "string_literal": lambda value: "'" + str(value).replace("'", "''") + "'",
        "escape_single_quotes": lambda expression: str(expression).replace("'", "''"),
        "cast_bool_to_text": lambda field_: f"cast({field_} as {string})",
        "right": lambda string_text, length_expression: f"right({string_text}, {length_expression})",
        "length": lambda expression: f"length({expression})",
        "replace": lambda field_, old_chars, new_chars: f"replace({field_}, {old_chars}, {new_chars})",
        "last_day": lambda date, datepart: f"last_day({date})",
    }


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        return [value]


# ------------------------------------------------------------------------------ dbt_utils


ColumnsOf = Callable[[str], Sequence[str]]  # relation text -> its columns (empty: unknown)


def _dbt_utils(dialect: str, columns_of: ColumnsOf, cross_db: Mapping[str, Callable[..., str]]) -> dict[str, Any]:
    """The `dbt_utils` macros most projects call, as text in `dialect`."""
    string = type_string(dialect)

    def surrogate_key(*fields: Any) -> str:
        names = _items(fields[0]) if len(fields) == 1 and not isinstance(fields[0], str) else list(fields)
        parts = [f"coalesce(cast({name} as {string}), '_dbt_utils_surrogate_key_null_')" for name in names]
        joined = ", '-', ".join(parts) or "''"
        if dialect == "bigquery":
            return f"to_hex(md5(cast(concat({joined}) as {string})))"
        return f"md5(cast(concat({joined}) as {string}))"

    def star(
        from_: Any = None,
        relation_alias: Any = False,
        except_: Any = (),
        prefix: str = "",
        suffix: str = "",
        quote_identifiers: bool = True,
        **kwargs: Any,
    ) -> str:
        relation = kwargs.get("from", from_)
        excluded = {str(e).lower() for e in _items(kwargs.get("except", except_) or [])}
        columns = [c for c in columns_of(str(relation)) if c.lower() not in excluded]
        if not columns:
            return f"{relation_alias}.*" if relation_alias else "*"
        qualifier = f"{relation_alias}." if relation_alias else ""
        aliased = bool(prefix or suffix)
        return ",\n  ".join(f"{qualifier}{c}" + (f" as {prefix}{c}{suffix}" if aliased else "") for c in columns)

    def union_relations(relations: Any = (), source_column_name: str = "_dbt_source_relation", **_: Any) -> str:
        selects = [f"select *, '{r}' as {source_column_name} from {r}" for r in _items(relations)]
        return "\n\nunion all\n\n".join(selects) or "select 1"

    def deduplicate(relation: Any, partition_by: Any, order_by: Any) -> str:
        window = f"row_number() over (partition by {partition_by} order by {order_by})"
        if dialect in QUALIFY_DIALECTS:
            return f"select * from {relation} qualify {window} = 1"
        inner = f"select _dbt_deduplicate.*, {window} as rn from {relation} as _dbt_deduplicate"
        return f"select * from ({inner}) as d where rn = 1"

    def date_spine(datepart: Any, start_date: Any, end_date: Any) -> str:
        part = str(datepart).strip("'\"")
        if dialect == "bigquery":
            return (
                f"select date_{part} from unnest(generate_date_array(cast({start_date} as date), "
                f"date_sub(cast({end_date} as date), interval 1 {part}), interval 1 {part})) as date_{part}"
            )
        if dialect == "snowflake":
            return (
                f"select dateadd({part}, seq4(), cast({start_date} as date)) as date_{part} "
                f"from table(generator(rowcount => 100000)) "
                f"where date_{part} < cast({end_date} as date)"
            )
        return (
            f"select cast(d as date) as date_{part} from generate_series(cast({start_date} as date), "
            f"cast({end_date} as date) - interval '1 {part}', interval '1 {part}') as spine(d)"
        )

    def pivot(
        column: Any,
        values: Any,
        alias: bool = True,
        agg: str = "sum",
        cmp: str = "=",
        prefix: str = "",
        suffix: str = "",
        then_value: Any = 1,
        else_value: Any = 0,
        quote_identifiers: bool = True,
        distinct: bool = False,
    ) -> str:
        parts = []
        for value in _items(values):
            name = re.sub(r"\W+", "_", f"{prefix}{value}{suffix}").strip("_") or "value"
            condition = f"{column} {cmp} '{value}'"
            expression = (
                f"{agg}({'distinct ' if distinct else ''}case when {condition} then {then_value} else {else_value} end)"
            )
            parts.append(expression + (f" as {name}" if alias else ""))
        return ",\n  ".join(parts) or "null"

    def group_by(n: Any) -> str:
        count = int(n) if str(n).isdigit() else 1
        return "group by " + ", ".join(str(i) for i in range(1, count + 1))

    def get_column_values(*_args: Any, default: Any = None, **_kwargs: Any) -> Any:
        return list(default) if isinstance(default, list | tuple) else []  # needs the database

    def get_filtered_columns_in_relation(from_: Any = None, except_: Any = (), **kwargs: Any) -> list[str]:
        excluded = {str(e).lower() for e in _items(kwargs.get("except", except_) or [])}
        return [c for c in columns_of(str(kwargs.get("from", from_))) if c.lower() not in excluded]

    return {
        **{name: cross_db[name] for name in ("dateadd", "datediff", "current_timestamp", "safe_cast", "hash")},
        **{name: value for name, value in cross_db.items() if name.startswith("type_")},
        "generate_surrogate_key": surrogate_key,
        "surrogate_key": surrogate_key,
        "star": star,
        "union_relations": union_relations,
        "deduplicate": deduplicate,
        "date_spine": date_spine,
        "pivot": pivot,
        "group_by": group_by,
        "safe_divide": lambda numerator, denominator: f"( {numerator} ) / nullif( ( {denominator} ), 0)",
        "safe_add": lambda *fields: " + ".join(f"coalesce({f}, 0)" for f in _flat(fields)) or "0",
        "safe_subtract": lambda *fields: " - ".join(f"coalesce({f}, 0)" for f in _flat(fields)) or "0",
        "get_column_values": get_column_values,
        "get_filtered_columns_in_relation": get_filtered_columns_in_relation,
        "get_relations_by_pattern": lambda *_a, **_k: [],
        "get_relations_by_prefix": lambda *_a, **_k: [],
        "get_single_value": lambda *_a, default=None, **_k: default if default is not None else "null",
        "slugify": lambda text: re.sub(r"[^a-z0-9_]+", "_", str(text).lower()).strip("_"),
        "pretty_time": lambda *_a, **_k: RUN_STARTED_AT.strftime("%H:%M:%S"),
        "log_info": lambda *_a, **_k: "",
    }


def _flat(fields: Sequence[Any]) -> list[Any]:
    if len(fields) == 1 and not isinstance(fields[0], str):
        return _items(fields[0])
    return list(fields)


class MacroNamespace:
    """A package of macros (`dbt_utils`, `dbt`): known members are stand-ins, any other name
    records the unknown macro and renders as a placeholder identifier (the SQL still parses)."""

    def __init__(self, name: str, members: Mapping[str, Any], state: DbtRenderState) -> None:
        self._name = name
        self._members = dict(members)
        self._state = state

    def __getattr__(self, member: str) -> Any:
        if member.startswith("_"):
            raise AttributeError(member)
        if member in self._members:
            return self._members[member]
        return unknown_macro(f"{self._name}.{member}", self._state)


def unknown_macro(name: str, state: DbtRenderState) -> Callable[..., str]:
    def placeholder(*_args: Any, **_kwargs: Any) -> str:
        state.problem(f"`{name}` is a macro kappa has no stand-in for; rendered as a placeholder", name)
        return f"__macro_{re.sub(r'[^A-Za-z0-9]+', '_', name)}__"

    return placeholder


# ------------------------------------------------------------------------------ the context


class ConfigCall:
    """`config(...)` records the model's in-file config; `config.get` reads the merged config."""

    def __init__(self, state: DbtRenderState, base: Mapping[str, Any]) -> None:
        self._state = state
        self._base = base

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        for arg in args:
            if isinstance(arg, Mapping):
                self._state.config.update(arg)
        self._state.config.update(kwargs)
        return ""

    def get(self, key: str, default: Any = None, **_: Any) -> Any:
        return self._state.config.get(key, self._base.get(key, default))

    def require(self, key: str) -> Any:
        return self.get(key)

    def set(self, key: str, value: Any) -> str:
        self._state.config[key] = value
        return ""


class _FixedDateTime(dt.datetime):
    """`modules.datetime.datetime` whose clock is the scan's fixed run, never the machine's."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FixedDateTime:
        moment = RUN_STARTED_AT if tz is not None else RUN_STARTED_AT.replace(tzinfo=None)
        return cls.fromisoformat(moment.isoformat())

    @classmethod
    def utcnow(cls) -> _FixedDateTime:
        return cls.fromisoformat(RUN_STARTED_AT.replace(tzinfo=None).isoformat())

    @classmethod
    def today(cls) -> _FixedDateTime:
        return cls.utcnow()


class _FixedDate(dt.date):
    @classmethod
    def today(cls) -> _FixedDate:
        return cls.fromisoformat(RUN_STARTED_AT.date().isoformat())


@dataclass(frozen=True)
class NodeContext:
    """What the context needs to know about the project and the node being rendered."""

    project: str
    dialect: str
    adapter: str
    target_name: str
    target_schema: str
    target_database: str | None
    this: Relation
    node_name: str
    node_config: Mapping[str, Any]  # the config known before the model's own config() calls
    lookup_node: Callable[[str], Relation | None]  # a model, seed or snapshot of the project by name
    lookup_source: Callable[[str, str], Relation | None]
    columns_of: ColumnsOf
    variables: Mapping[str, Any]  # --vars of the DAG's runs, then dbt_project.yml vars
    dispatch: Callable[[str], str | None]  # a dispatched macro name -> the project's macro to use


def dbt_context(node: NodeContext, state: DbtRenderState) -> dict[str, Any]:
    """The names a model sees while it renders, for `render_sql(extra_context=...)`."""
    dialect = node.dialect
    cross_db = _cross_db(dialect)

    def ref(*args: Any, **_kwargs: Any) -> Any:
        name = str(args[-1]) if args else ""
        relation = node.lookup_node(name)
        if relation is None:
            state.problem(f"ref('{name}') names no model, seed or snapshot of dbt project {node.project}", name)
            relation = Relation(None, node.target_schema, name)
        else:
            state.refs.append(name)
        return relation_text(relation, dialect)

    def source(source_name: Any, table_name: Any) -> Any:
        relation = node.lookup_source(str(source_name), str(table_name))
        if relation is None:
            message = f"source('{source_name}', '{table_name}') is not declared in the project's property files"
            state.problem(message, str(table_name))
            relation = Relation(None, str(source_name), str(table_name))
        state.sources.append((str(source_name), str(table_name)))
        return relation_text(relation, dialect)

    def var(name: Any, default: Any = None) -> Any:
        key = str(name)
        state.vars_used.append(key)
        if key in node.variables:
            return node.variables[key]
        if default is not None:
            return default
        state.problem(f"var('{key}') is defined neither in dbt_project.yml nor by a DAG's --vars", key)
        return f"__var_{re.sub(r'[^A-Za-z0-9]+', '_', key)}__"

    def env_var(name: Any, default: Any = None) -> Any:
        return default if default is not None else f"env_{re.sub(r'[^A-Za-z0-9]+', '_', str(name))}"

    def dispatch(macro_name: Any, macro_namespace: Any = None, **_: Any) -> Callable[..., Any]:
        name = str(macro_name)
        if name in cross_db:
            return cross_db[name]
        return unknown_macro(f"adapter.dispatch('{name}')", state)

    def raise_compiler_error(message: Any = "", *_: Any) -> str:
        state.problem(f"the model raises a compiler error: {message}", "raise_compiler_error")
        return ""

    this = relation_text(node.this, dialect)
    target = SimpleNamespace(
        name=node.target_name,
        schema=node.target_schema,
        dataset=node.target_schema,
        database=node.target_database or "",
        project=node.target_database or "",
        type=node.adapter,
        profile_name=node.project,
        threads=1,
    )
    utils = MacroNamespace("dbt_utils", _dbt_utils(dialect, node.columns_of, cross_db), state)
    context: dict[str, Any] = {
        **cross_db,
        "ref": ref,
        "source": source,
        "config": ConfigCall(state, node.node_config),
        "var": var,
        "env_var": env_var,
        "is_incremental": lambda: state.incremental,
        "should_full_refresh": lambda: not state.incremental,
        "this": this,
        "target": target,
        "adapter": SimpleNamespace(
            dispatch=dispatch,
            get_relation=lambda *_a, **_k: None,
            get_columns_in_relation=lambda *_a, **_k: [],
            get_missing_columns=lambda *_a, **_k: [],
            quote=str,
            type=lambda: node.adapter,
            already_exists=lambda *_a, **_k: False,
        ),
        "execute": False,
        "flags": SimpleNamespace(FULL_REFRESH=not state.incremental, WHICH="run"),
        "run_query": lambda *_a, **_k: None,
        "statement": lambda *_a, caller=None, **_k: "",
        "load_result": lambda *_a, **_k: None,
        "log": lambda *_a, **_k: "",
        "print": lambda *_a, **_k: "",
        "return": lambda value=None: value,
        "exceptions": SimpleNamespace(
            raise_compiler_error=raise_compiler_error,
            warn=lambda *_a, **_k: "",
            raise_not_implemented=raise_compiler_error,
        ),
        "modules": SimpleNamespace(
            datetime=SimpleNamespace(datetime=_FixedDateTime, date=_FixedDate, timedelta=dt.timedelta),
            re=SimpleNamespace(match=re.match, search=re.search, sub=re.sub, findall=re.findall, split=re.split),
        ),
        "run_started_at": _FixedDateTime.fromisoformat(RUN_STARTED_AT.isoformat()),
        "invocation_id": INVOCATION_ID,
        "project_name": node.project,
        "model": SimpleNamespace(
            name=node.node_name,
            alias=node.this.identifier,
            schema=node.this.schema,
            unique_id=f"model.{node.project}.{node.node_name}",
            config=node.node_config,
        ),
        "graph": SimpleNamespace(nodes={}, sources={}, exposures={}, metrics={}),
        "builtins": SimpleNamespace(ref=ref, source=source, config=ConfigCall(state, node.node_config)),
        "fromjson": _fromjson,
        "tojson": lambda value, *_a, **_k: json.dumps(value, default=str, sort_keys=True),
        "fromyaml": _fromyaml,
        "toyaml": lambda value, *_a, **_k: yaml.safe_dump(value, sort_keys=True),
        "local_md5": lambda value: hashlib.md5(str(value).encode(), usedforsecurity=False).hexdigest(),
        "zip": zip,
        "set": set,
        "dbt_utils": utils,
        "dbt": MacroNamespace("dbt", cross_db, state),
    }
    return context


def _fromjson(text: Any, default: Any = None) -> Any:
    try:
        return json.loads(str(text))
    except ValueError:
        return default


def _fromyaml(text: Any, default: Any = None) -> Any:
    try:
        return yaml.safe_load(str(text))
    except yaml.YAMLError:
        return default


def referenced_names(texts: Iterable[str]) -> set[str]:
    """Names a template calls (`name(`), for the project macros it needs."""
    return {match.group(1) for text in texts for match in re.finditer(r"\b([A-Za-z_]\w*)\s*\(", text)}
