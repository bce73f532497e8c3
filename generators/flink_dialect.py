"""Flink SQL (Apache Flink 2.3) as a sqlglot dialect, and `to_flink`, the one call that uses it.

sqlglot has no Flink dialect (its maintainers declined one: tobymao/sqlglot#3404, #4626), so this
module is it. Defining the `Flink` class registers it with sqlglot under the name "flink", so once
the module is imported sqlglot's own API writes Flink SQL:

    >>> import sqlglot
    >>> sqlglot.transpile("SELECT SAFE_CAST(x AS INT64) FROM t", read="bigquery", write="flink")
    ['SELECT TRY_CAST(x AS BIGINT) FROM t']

The translations follow `flink_semantics.md` §6 (the function mapping checked against the real
2.3 planner); `tests/test_flink_dialect.py` plans every expected output with pyflink. Each
difference is one line of `FlinkGenerator.TRANSFORMS`, or a named function when it needs more.
A construct Flink has no equivalent for is still written (under its own name, so the planner
rejects it rather than computing something else) and recorded with `Generator.unsupported`;
`to_flink` returns those messages, which become G501 findings.

What the generator cannot know from the syntax tree alone, because sqlglot parses two sources'
different meanings into one node, `to_flink` settles from the source dialect first
(`SOURCE_REWRITES`): BigQuery's 0-based `WITH OFFSET`, and what `EXTRACT(DOW ...)` counts from.

The dialect reads Flink SQL too, whole job files included (`kappa generate` writes them; every
statement must parse back): `SET 'key' = 'value'`; CREATE [TEMPORARY] TABLE with computed
columns, `WATERMARK FOR ts AS ...` (a WatermarkColumnConstraint), `PRIMARY KEY (...) NOT
ENFORCED`, the WITH options as properties and `LIKE t (EXCLUDING OPTIONS)`; INSERT ... ON
CONFLICT; `JOIN t FOR SYSTEM_TIME AS OF ...`; and `EXECUTE STATEMENT SET BEGIN ...; END`, a
`StatementSet` holding its parsed INSERTs. Written back they parse to the same tree:

    >>> job = "SET 'a' = 'b'; EXECUTE STATEMENT SET BEGIN INSERT INTO t SELECT 1; END;"
    >>> [type(statement).__name__ for statement in sqlglot.parse(job, read="flink")]
    ['Set', 'StatementSet']

Read from Flink, a type without its parameters keeps Flink's default (TIMESTAMP is
TIMESTAMP(6), DECIMAL is DECIMAL(10, 0)), and a name Flink has no function for (BOOL_OR) is a
user-defined function, written back as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, ClassVar

import sqlglot
from sqlglot import TokenType, exp, generator, parser, tokens, transforms
from sqlglot.dialects.dialect import (
    Dialect,
    NormalizationStrategy,
    build_default_decimal_type,
    build_formatted_time,
)
from sqlglot.errors import ErrorLevel, UnsupportedError
from sqlglot.helper import find_new_name, seq_get
from sqlglot.optimizer.annotate_types import annotate_types

from analyzer.errors import KappaError
from analyzer.resources import one_line

__all__ = [
    "ANONYMOUS",
    "RESERVED_KEYWORDS",
    "SOURCE_REWRITES",
    "CompiledSqlglot",
    "Flink",
    "FlinkGenerator",
    "StatementSet",
    "java_to_strftime",
    "require_flink_dialect",
    "strftime_to_java",
    "to_flink",
]

Transform = Callable[[generator.Generator, Any], str]

# The units TIMESTAMPADD, TIMESTAMPDIFF and FLOOR(... TO unit) accept (no milli/micro/nanosecond).
FLINK_UNITS = frozenset({"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"})
# Days after Sunday: Flink's FLOOR(x TO WEEK) starts weeks on Sunday (checked on 2.3).
_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")
_TIMESTAMP_TYPES = (
    exp.DType.TIMESTAMP,
    exp.DType.TIMESTAMPNTZ,
    exp.DType.DATETIME,
    exp.DType.TIMESTAMPTZ,
    exp.DType.TIMESTAMPLTZ,
)
_MAX_DECIMAL_PRECISION = 38
_MAX_TIMESTAMP_PRECISION = 9
# BigQuery NUMERIC is DECIMAL(38, 9); Flink's bare DECIMAL would be DECIMAL(10, 0).
_DEFAULT_DECIMAL = (38, 9)

# Reserved words of Flink 2.3's SQL parser (FlinkSqlParserImpl.getMetadata().isReservedWord, read
# from the 2.3.0 planner jar); an identifier spelled like one must be quoted with backticks.
_RESERVED_WORDS = """
    abs all allocate allow alter and any are array array_concat_agg array_max_cardinality as
    asensitive asymmetric at atomic authorization avg begin begin_frame begin_partition between
    bigint binary bit bitmap blob boolean both buckets by bytes call called cardinality cascaded
    case cast catalogs ceil ceiling char character character_length char_length check classifier
    clob close coalesce collate collect column comment commit condition connect connections
    constraint contains contains_substr continuous convert corr corresponding count covar_pop
    covar_samp create cross cube cume_dist current current_catalog current_date
    current_default_transform_group current_path current_role current_row current_schema
    current_time current_timestamp current_transform_group_for_type current_user cursor cycle
    databases date datetime datetime_trunc date_trunc day deallocate dec decimal declare default
    define delete dense_rank deref describe deterministic disallow disconnect distinct distributed
    distribution dot double drop dynamic each element else empty end end_frame end_partition
    equals escape every except exec execute exists exp explain extend extended external extract
    false fetch filter first_value float floor for foreign frame_row free freshness friday from
    full function functions fusion get global grant group grouping groups group_concat hash
    having hold hour identity ilike import in include indicator initial inner inout insensitive
    insert int integer intersect intersection interval into is join json_array json_arrayagg
    json_exists json_object json_objectagg json_query json_scope json_value lag language large
    last_value lateral lead leading left like like_regex limit ln local localtime localtimestamp
    lower match matches match_number match_recognize materialized max measures member merge method
    min minus minute mod models modifies modify module modules monday month multiset national
    natural nchar nclob new next no none normalize not nth_value ntile null nullif numeric
    occurrences_regex octet_length of offset old omit on one only open or order ordinal out outer
    over overlaps overlay parameter partition pattern per percent percentile_cont percentile_disc
    percent_rank period permute pivot portion position position_regex power precedes precision
    prepare prev primary procedure procedures qualify quarters range rank raw reads real recursive
    ref references referencing refresh refresh_mode regr_avgx regr_avgy regr_count regr_intercept
    regr_r2 regr_slope regr_sxx regr_sxy regr_syy release rename reset result resume return
    returns revoke right rlike rollback rollup row rows row_number running safe_cast safe_offset
    safe_ordinal saturday savepoint scala scope scroll search second seek select sensitive
    separator session_user set show similar skip smallint some specific specifictype sql
    sqlexception sqlstate sqlwarning sqrt start statement static stddev_pop stddev_samp stream
    string string_agg structured submultiset subset substring substring_regex succeeds sum sunday
    suspend symmetric system system_time system_user table tables tablesample then thursday time
    timestamp timestamp_diff timestamp_ltz timestamp_trunc timezone_hour timezone_minute time_diff
    time_trunc tinyint to trailing translate translate_regex translation treat trigger trim
    trim_array true truncate try_cast tuesday uescape union unique unknown unnest unpivot update
    upper upsert use user using value values value_of varbinary varchar variant varying var_pop
    var_samp versioning views watermark watermarks wednesday weeks when whenever where
    width_bucket window with within without year
"""
RESERVED_KEYWORDS = frozenset(_RESERVED_WORDS.split())


# --- time formats: sqlglot keeps strftime in the tree, Flink's DATE_FORMAT/TO_DATE take Java ----

_STRFTIME_TO_JAVA = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%-m": "M",
    "%d": "dd",
    "%-d": "d",
    "%H": "HH",
    "%-H": "H",
    "%I": "hh",
    "%-I": "h",
    "%M": "mm",
    "%-M": "m",
    "%S": "ss",
    "%-S": "s",
    "%f": "SSSSSS",
    "%p": "a",
    "%j": "DDD",
    "%-j": "D",
    "%a": "EEE",
    "%A": "EEEE",
    "%b": "MMM",
    "%B": "MMMM",
    "%F": "yyyy-MM-dd",
    "%T": "HH:mm:ss",
    "%%": "%",
}
# Java -> strftime for parsing Flink itself; composite directives (%F, %T) are not inverted.
_JAVA_TO_STRFTIME = {java: fmt for fmt, java in _STRFTIME_TO_JAVA.items() if fmt not in {"%F", "%T", "%%"}}
# Letters java.time.format.DateTimeFormatter gives a meaning; any other letter must be quoted.
_JAVA_PATTERN_LETTERS = frozenset("GuyDMLdQqYwWEecFaBhKkHmsSAnNVvzOXxZp")
_STRFTIME_TOKEN = re.compile(r"%-?[A-Za-z](?:strict)?|%%|'[^']*'|\"[^\"]*\"|[A-Za-z]+|[^%A-Za-z'\"]+|.")
_JAVA_TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|[^A-Za-z']+|'")


def strftime_to_java(fmt: str) -> tuple[str, list[str]]:
    """A strftime format (sqlglot's neutral form) as a Java DateTimeFormatter pattern.

    Returns the pattern and the directives that have no Java equivalent (time zones among them:
    Flink formats zone-less timestamps). Letters that are not Java pattern letters are quoted, and
    so is text in single (or Postgres's double) quotes.

        >>> strftime_to_java("%Y-%m-%dT%H:%M:%S")
        ("yyyy-MM-dd'T'HH:mm:ss", [])
    """
    pieces: list[tuple[bool, str]] = []  # (literal text?, text)
    unknown: list[str] = []
    for token in _STRFTIME_TOKEN.findall(fmt):
        if token.startswith("%"):
            java = _STRFTIME_TO_JAVA.get(token.removesuffix("strict"))
            if java is None:
                unknown.append(token)
            pieces.append((java == "%", token if java is None else java))
        elif token == "''":
            pieces.append((True, "'"))
        elif token[0] in "'\"" and len(token) > 1:
            pieces.append((True, token[1:-1].replace("''", "'")))
        elif token.isalpha():
            pieces.append((not set(token) <= _JAVA_PATTERN_LETTERS, token))
        else:
            pieces.append((True, token))
    out: list[str] = []
    literal = ""
    for is_literal, text in [*pieces, (False, "")]:
        if is_literal:
            literal += text
            continue
        if literal:
            # plain punctuation and digits need no quotes; letters and []{}#' do
            if set(literal) == {"'"}:
                out.append(literal.replace("'", "''"))
            elif re.search(r"[A-Za-z'\[\]{}#]", literal):
                out.append("'" + literal.replace("'", "''") + "'")
            else:
                out.append(literal)
            literal = ""
        out.append(text)
    return "".join(out), unknown


def java_to_strftime(pattern: str) -> str:
    """A Java date pattern as strftime; the inverse of `strftime_to_java` for what Flink writes.

    >>> java_to_strftime("yyyy-MM-dd'T'HH")
    "%Y-%m-%d'T'%H"
    """
    out: list[str] = []
    for match in _JAVA_TOKEN.finditer(pattern):
        token = match.group(0)
        if match.group(1):
            out.append(_JAVA_TO_STRFTIME.get(token, token))
        elif token.startswith("'"):
            out.append(token)
        else:
            out.append(token.replace("%", "%%"))
    return "".join(out)


# --- helpers shared by the transforms -----------------------------------------------------------


def _canonical_unit(unit: exp.Expr | None, default: str = "DAY") -> str:
    """`day`, `'dd'`, `DAYS`, `Var(MONTH)` ... as one upper-case unit name."""
    if unit is None:
        return default
    if isinstance(unit, exp.WeekStart):
        return "WEEK"
    name = unit.name.upper()
    name = Dialect.DATE_PART_MAPPING.get(name, name)
    return generator.Generator.TIME_PART_SINGULARS.get(name, name)


def _week_start(unit: exp.Expr | None) -> int | None:
    """Days after Sunday a WEEK unit starts on, or None when `unit` is not a week.

    sqlglot spells BigQuery's Sunday weeks `WEEK(SUNDAY)` (a WeekStart) and leaves a bare WEEK
    for the Monday weeks of Postgres, Snowflake, Spark and Trino.
    """
    if isinstance(unit, exp.WeekStart):
        day = unit.this.name.upper()
        return _WEEKDAYS.index(day) if day in _WEEKDAYS else None
    if unit is not None and unit.name.upper() in {"WEEK", "WEEKS", "WK", "ISOWEEK", "WEEKISO"}:
        return 1
    return None


def _literal_int(expression: exp.Expr) -> int | None:
    """The integer a literal (or a negated literal) spells, else None."""
    if isinstance(expression, exp.Neg):
        inner = _literal_int(expression.this)
        return None if inner is None else -inner
    if isinstance(expression, exp.Literal) and re.fullmatch(r"-?\d+", expression.name.strip()):
        return int(expression.name)
    return None


def _number(value: int) -> exp.Expr:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def _negate(expression: exp.Expr) -> exp.Expr:
    value = _literal_int(expression)
    if value is not None:
        return _number(-value)
    # Spark's date_sub(d, n) arrives as date_add(d, n * -1)
    if isinstance(expression, exp.Mul) and _literal_int(expression.expression) == -1:
        negated: exp.Expr = expression.this
        return negated
    return exp.Neg(this=exp.paren(expression, copy=False) if isinstance(expression, exp.Binary) else expression)


def _amount(expression: exp.Expr) -> exp.Expr:
    """An interval amount as a number: BigQuery's `INTERVAL 3 DAY` keeps '3' as a string."""
    if isinstance(expression, exp.Interval):
        expression = expression.this
    value = _literal_int(expression)
    if value is not None:
        return _number(value)
    if isinstance(expression, exp.Mul) and _literal_int(expression.expression) == -1:
        return _negate(expression.this)
    return expression


def _takes_excluded(assignment: exp.Expr) -> bool:
    """`c = EXCLUDED.c`: an ON CONFLICT update that takes a column from the new row as it is."""
    return (
        isinstance(assignment, exp.EQ)
        and isinstance(assignment.expression, exp.Column)
        and assignment.expression.table.upper() == "EXCLUDED"
        and assignment.expression.name == assignment.this.name
    )


def _as_temporal(expression: exp.Expr, to: exp.DType) -> exp.Expr:
    """A string literal cast to DATE/TIMESTAMP: Flink's temporal functions take no strings."""
    if isinstance(expression, exp.Literal) and expression.is_string:
        return exp.cast(expression, to)
    return expression


def _is_date(expression: exp.Expr) -> bool:
    return isinstance(expression, exp.CurrentDate) or expression.is_type(exp.DType.DATE)


def _as_date(expression: exp.Expr) -> exp.Expr:
    if isinstance(expression, exp.TsOrDsToDate) and not expression.args.get("format"):
        expression = expression.this
    if _is_date(expression):
        return expression
    return exp.cast(expression, exp.DType.DATE)


def _timestampadd(self: generator.Generator, unit: str, amount: exp.Expr, this: exp.Expr) -> str:
    if unit not in FLINK_UNITS:
        self.unsupported(f"TIMESTAMPADD has no {unit} unit in Flink")
    return self.func("TIMESTAMPADD", exp.var(unit), amount, this)


def _floor(self: generator.Generator, this: exp.Expr, unit: exp.Expr | None) -> str:
    """FLOOR(x TO unit); weeks that do not start on Sunday are shifted around Flink's floor."""
    start = _week_start(unit)
    name = _canonical_unit(unit)
    if start is not None:
        if not start:
            return self.sql(exp.Floor(this=this, to=exp.var("WEEK")))
        shifted = self.func("TIMESTAMPADD", exp.var("DAY"), _number(-start), this)
        floored = f"FLOOR({shifted} TO WEEK)"
        return self.func("TIMESTAMPADD", exp.var("DAY"), _number(start), floored)
    if name not in FLINK_UNITS:
        self.unsupported(f"FLOOR(... TO {name}) is not supported by Flink")
    return self.sql(exp.Floor(this=this, to=exp.var(name)))


def _unsupported(reason: str) -> Transform:
    """A transform that records `reason` and writes the construct under its own name."""

    def _sql(self: generator.Generator, expression: exp.Func) -> str:
        self.unsupported(reason)
        return self.function_fallback_sql(expression)

    return _sql


# --- the transforms: one named function per translation longer than a line ---------------------


def _date_add_sql(self: generator.Generator, expression: exp.Expr) -> str:
    """DATE_ADD / DATEADD / date_add / TIMESTAMP_ADD (and the *_SUB forms) -> TIMESTAMPADD."""
    unit = _canonical_unit(expression.args.get("unit"))
    amount = expression.expression
    if isinstance(amount, exp.Interval):
        unit = _canonical_unit(amount.args.get("unit"))
    amount = _amount(amount)
    if isinstance(expression, (exp.DateSub, exp.TimestampSub, exp.DatetimeSub)):
        amount = _negate(amount)
    this = expression.this
    if isinstance(expression, exp.TsOrDsAdd):
        # Spark/Hive date_add returns a DATE for a DATE, TIMESTAMP or STRING argument
        this = _as_date(this)
    elif isinstance(expression, (exp.DateAdd, exp.DateSub)):
        this = _as_temporal(this, exp.DType.DATE)
    else:
        this = _as_temporal(this, exp.DType.TIMESTAMP)
    return _timestampadd(self, unit, amount, this)


def _interval_arith_sql(self: generator.Generator, expression: exp.Add | exp.Sub) -> str:
    """`d + INTERVAL '3' DAY` -> TIMESTAMPADD(DAY, 3, d); other additions stay operators.

    So does `date - 1` (Postgres, Snowflake, Spark: days) when the date is known to be one
    (CURRENT_DATE, a DATE literal or cast) and the other side is an integer literal.
    """
    if expression.find_ancestor(exp.WatermarkColumnConstraint):
        # `WATERMARK FOR ts AS ts - INTERVAL '5' SECOND`, Flink's own spelling, stays as it is
        return self.binary(expression, "+" if isinstance(expression, exp.Add) else "-")
    left, right = expression.this, expression.expression
    if isinstance(left, exp.Interval) and isinstance(expression, exp.Add):
        left, right = right, left
    if _is_date(left) and _literal_int(right) is not None:
        right = exp.Interval(this=right, unit=exp.var("DAY"))
    elif isinstance(expression, exp.Add) and _is_date(right) and _literal_int(left) is not None:
        left, right = right, exp.Interval(this=left, unit=exp.var("DAY"))
    if not isinstance(right, exp.Interval) or isinstance(left, exp.Interval):
        return self.binary(expression, "+" if isinstance(expression, exp.Add) else "-")
    unit_expr = right.args.get("unit")
    if unit_expr is None or isinstance(unit_expr, exp.IntervalSpan):
        self.unsupported(f"{right.sql()} has no single unit for Flink's TIMESTAMPADD")
        return self.binary(expression, "+" if isinstance(expression, exp.Add) else "-")
    amount = _amount(right)
    if isinstance(expression, exp.Sub):
        amount = _negate(amount)
    return _timestampadd(self, _canonical_unit(unit_expr), amount, left)


def _date_diff_sql(self: generator.Generator, expression: exp.Expr) -> str:
    """DATE_DIFF / DATEDIFF / TIMESTAMP_DIFF -> TIMESTAMPDIFF(unit, start, end).

    sqlglot's tree always reads `this - expression` whatever the source's argument order.
    Flink counts whole elapsed units; where the source counts unit boundaries crossed
    (BigQuery DATE_DIFF, Snowflake DATEDIFF) both ends are floored to the unit first.
    """
    unit_expr = expression.args.get("unit")
    unit = _canonical_unit(unit_expr)
    end, start = expression.this, expression.expression
    kind = exp.DType.DATE if isinstance(expression, (exp.DateDiff, exp.TsOrDsDiff)) else exp.DType.TIMESTAMP
    end, start = _as_temporal(end, kind), _as_temporal(start, kind)
    if expression.args.get("date_part_boundary"):
        if unit == "DAY":
            end, start = _as_date(end), _as_date(start)
        else:
            end_sql, start_sql = _floor(self, end, unit_expr), _floor(self, start, unit_expr)
            return self.func("TIMESTAMPDIFF", exp.var(unit), start_sql, end_sql)
    if unit not in FLINK_UNITS:
        self.unsupported(f"TIMESTAMPDIFF has no {unit} unit in Flink")
    return self.func("TIMESTAMPDIFF", exp.var(unit), start, end)


def _trunc_sql(self: generator.Generator, expression: exp.Expr) -> str:
    """DATE_TRUNC / TIMESTAMP_TRUNC / TRUNC -> FLOOR(x TO unit)."""
    if expression.args.get("zone"):
        self.unsupported("DATE_TRUNC with a time zone is not supported by Flink")
    return _floor(self, _as_temporal(expression.this, exp.DType.TIMESTAMP), expression.args.get("unit"))


def _count_if_sql(self: generator.Generator, expression: exp.CountIf) -> str:
    count = exp.Count(this=exp.Star())
    return self.sql(exp.Filter(this=count, expression=exp.Where(this=expression.this)))


def _extremum_sql(self: generator.Generator, expression: exp.Greatest | exp.Least) -> str:
    """Flink's GREATEST / LEAST return NULL when any argument is NULL. Spark, Hive, Postgres,
    Redshift and DuckDB skip NULLs (sqlglot marks them `ignore_nulls`): give each argument the
    others as COALESCE fallbacks, so only all-NULL arguments give NULL."""
    name = "GREATEST" if isinstance(expression, exp.Greatest) else "LEAST"
    arguments = [expression.this, *expression.expressions]
    if not expression.args.get("ignore_nulls") or len(arguments) < 2:
        return self.func(name, *arguments)
    fallbacks = [
        exp.Coalesce(this=argument.copy(), expressions=[a.copy() for a in arguments[i + 1 :] + arguments[:i]])
        for i, argument in enumerate(arguments)
    ]
    return self.func(name, *fallbacks)


def _bool_agg(expression: exp.LogicalOr | exp.LogicalAnd) -> exp.Max | exp.Min:
    """BOOL_OR(x) -> MAX(CASE WHEN x THEN 1 WHEN NOT x THEN 0 END), BOOL_AND(x) -> MIN(...): `= 1` makes it a BOOLEAN.

    A NULL `x` stays NULL inside the CASE, so MAX/MIN skip it as BOOL_OR/BOOL_AND do (BOOL_AND of
    TRUE and NULL is TRUE), and a group of only NULLs (or no rows) gives NULL = 1, NULL, as in the
    source. (`ELSE 0` would count a NULL as FALSE.)
    """
    flag = exp.Case(
        ifs=[
            exp.If(this=expression.this.copy(), true=exp.Literal.number(1)),
            exp.If(this=exp.not_(expression.this.copy()), true=exp.Literal.number(0)),
        ]
    )
    return exp.Max(this=flag) if isinstance(expression, exp.LogicalOr) else exp.Min(this=flag)


def _bool_agg_test(aggregate: exp.Expr, parent: exp.Expr | None) -> exp.Expr:
    """`aggregate = 1`, parenthesized where an operator around it would bind to the `1`."""
    test: exp.Expr = exp.EQ(this=aggregate, expression=exp.Literal.number(1))
    if isinstance(parent, (exp.Binary, exp.Neg, exp.BitwiseNot)) and not isinstance(parent, exp.Connector):
        test = exp.paren(test, copy=False)
    return test


def _bool_aggs(expression: exp.Expr) -> exp.Expr:
    """Every BOOL_OR / BOOL_AND (LOGICAL_OR, BOOLOR_AGG ...) as a MAX / MIN test (`_bool_agg`).

    The `= 1` goes after the whole call, FILTER (WHERE ...) and OVER (...) included, so the
    replacement is made on the tree rather than as the function's text.
    """
    for node in list(expression.find_all(exp.LogicalOr, exp.LogicalAnd)):
        if not isinstance(node, (exp.LogicalOr, exp.LogicalAnd)):
            continue
        call: exp.Expr = node
        while isinstance(call.parent, (exp.Filter, exp.Window)) and call.arg_key == "this":
            call = call.parent
        parent = call.parent
        aggregate = _bool_agg(node)
        if call is node:
            node.replace(_bool_agg_test(aggregate, parent))
        else:
            node.replace(aggregate)
            call.replace(_bool_agg_test(call.copy(), parent))
    return expression


def _bool_agg_sql(self: generator.Generator, expression: exp.LogicalOr | exp.LogicalAnd) -> str:
    """A BOOL_OR / BOOL_AND outside a SELECT (a lone expression); in one, `_bool_aggs` rewrote it."""
    return self.sql(_bool_agg_test(_bool_agg(expression), expression.parent))


def _approx_distinct_sql(self: generator.Generator, expression: exp.ApproxDistinct) -> str:
    # APPROX_COUNT_DISTINCT is batch-only in Flink; the exact count is the streaming answer
    return self.func("COUNT", exp.Distinct(expressions=[expression.this]))


def _listagg_sql(self: generator.Generator, expression: exp.GroupConcat) -> str:
    """STRING_AGG / LISTAGG / GROUP_CONCAT -> LISTAGG(s, sep); Flink's has no ORDER BY."""
    this = expression.this
    if isinstance(this, exp.Order):
        self.unsupported("LISTAGG ... ORDER BY: Flink's LISTAGG concatenates in arrival order")
        this = this.this
    return self.func("LISTAGG", this, expression.args.get("separator"))


def _array_agg_sql(self: generator.Generator, expression: exp.ArrayAgg) -> str:
    this = expression.this
    if isinstance(this, exp.Order):
        self.unsupported("ARRAY_AGG ... ORDER BY: Flink's ARRAY_AGG collects in arrival order")
        this = this.this
    agg = self.func("ARRAY_AGG", this)
    # Spark's collect_list skips NULLs; Flink's ARRAY_AGG keeps them unless told
    return f"{agg[:-1]} IGNORE NULLS)" if expression.args.get("nulls_excluded") else agg


def _array_unique_agg_sql(self: generator.Generator, expression: exp.ArrayUniqueAgg) -> str:
    return f"ARRAY_AGG(DISTINCT {self.sql(expression, 'this')})"


def _split_part_sql(self: generator.Generator, expression: exp.SplitPart) -> str:
    """SPLIT_PART(s, d, n) (1-based) -> SPLIT_INDEX(s, d, n - 1) (0-based)."""
    part = expression.args.get("part_index") or exp.Literal.number(1)
    value = _literal_int(part)
    if value is not None and value < 0:
        self.unsupported("SPLIT_PART with a negative index (from the end) is not supported by Flink")
    if value is not None:
        index: exp.Expr = exp.Literal.number(max(value - 1, 0))
    else:
        index = exp.Sub(this=part, expression=exp.Literal.number(1))
    return self.func("SPLIT_INDEX", expression.this, expression.args.get("delimiter"), index)


def _regexp_extract_sql(self: generator.Generator, expression: exp.RegexpExtract) -> str:
    """REGEXP_EXTRACT with the group spelled out: without one Flink returns the whole match."""
    for arg in ("position", "occurrence", "parameters"):
        if expression.args.get(arg):
            self.unsupported(f"REGEXP_EXTRACT with a {arg} argument is not supported by Flink")
    return self.func("REGEXP_EXTRACT", expression.this, expression.expression, expression.args.get("group"))


def _regexp_like_sql(self: generator.Generator, expression: exp.RegexpLike | exp.RegexpILike) -> str:
    """RLIKE / REGEXP_LIKE / REGEXP_CONTAINS / `~` -> REGEXP(s, re), which finds a substring match."""
    pattern = expression.expression
    prefix = "(?i)" if isinstance(expression, exp.RegexpILike) else ""
    flag = expression.args.get("flag")
    if flag is not None:
        if flag.is_string and set(flag.name) <= set("ims"):
            prefix += f"(?{flag.name})" if flag.name else ""
        else:
            self.unsupported(f"regular expression flags {flag.sql()} are not supported by Flink")
    full = bool(expression.args.get("full_match"))
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        text = f"^(?:{pattern.name})$" if full else pattern.name
        pattern = exp.Literal.string(prefix + text)
    elif full or prefix:
        pieces = [exp.Literal.string(prefix + ("^(?:" if full else "")), pattern]
        if full:
            pieces.append(exp.Literal.string(")$"))
        pattern = exp.Concat(expressions=pieces)
    return self.func("REGEXP", expression.this, pattern)


def _json_path(self: generator.Generator, path: exp.Expr | None, function: str) -> exp.Expr | str:
    if path is None:
        return exp.Literal.string("$")
    if isinstance(path, exp.JSONPath):
        return path
    if isinstance(path, exp.Literal) and path.is_string:
        return path
    self.unsupported(f"{function} needs a literal JSON path in Flink")
    return path


def _json_value_sql(self: generator.Generator, expression: exp.JSONExtractScalar) -> str:
    """JSON_EXTRACT_SCALAR / JSON_VALUE / get_json_object / `->>` -> JSON_VALUE(js, path)."""
    return self.func("JSON_VALUE", expression.this, _json_path(self, expression.expression, "JSON_VALUE"))


def _json_query_sql(self: generator.Generator, expression: exp.JSONExtract) -> str:
    """JSON_EXTRACT / `->` (an object or array) -> JSON_QUERY(js, path)."""
    if expression.expressions:
        self.unsupported("JSON extraction of several paths at once is not supported by Flink")
    return self.func("JSON_QUERY", expression.this, _json_path(self, expression.expression, "JSON_QUERY"))


def _pg_path(path: exp.Expr) -> exp.Expr:
    """Postgres `#>>` text-array paths (`'{a,0,b}'`) as JSON paths (`'$.a[0].b'`)."""
    if not (isinstance(path, exp.Literal) and path.is_string):
        return path
    parts = [part.strip().strip('"') for part in path.name.strip("{}").split(",") if part.strip()]
    text = "$" + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in parts)
    return exp.Literal.string(text)


def _jsonb_value_sql(self: generator.Generator, expression: exp.JSONBExtractScalar) -> str:
    return self.func("JSON_VALUE", expression.this, _pg_path(expression.expression))


def _jsonb_query_sql(self: generator.Generator, expression: exp.JSONBExtract) -> str:
    return self.func("JSON_QUERY", expression.this, _pg_path(expression.expression))


def _date_sql(self: generator.Generator, expression: exp.Date) -> str:
    """DATE(ts) -> CAST(ts AS DATE); BigQuery's DATE(y, m, d) and DATE(ts, tz) have no equivalent."""
    if expression.expressions or expression.args.get("zone") or expression.this is None:
        self.unsupported("DATE(...) with more than one argument is not supported by Flink")
        return self.function_fallback_sql(expression)
    return self.sql(exp.cast(expression.this, exp.DType.DATE))


def _to_date_sql(self: generator.Generator, expression: exp.TsOrDsToDate) -> str:
    if expression.args.get("format"):
        return self.func("TO_DATE", expression.this, self.format_time(expression))
    return self.sql(_as_date(expression.this))


def _str_to_date_sql(self: generator.Generator, expression: exp.StrToDate) -> str:
    return self.func("TO_DATE", expression.this, self.format_time(expression))


def _str_to_time_sql(self: generator.Generator, expression: exp.StrToTime) -> str:
    if expression.args.get("zone"):
        self.unsupported("parsing a timestamp in a given time zone is not supported by Flink")
    return self.func("TO_TIMESTAMP", expression.this, self.format_time(expression))


def _date_format_sql(self: generator.Generator, expression: exp.TimeToStr) -> str:
    """FORMAT_DATE / TO_CHAR / date_format -> DATE_FORMAT(CAST(x AS TIMESTAMP(3)), 'java pattern').

    Flink's DATE_FORMAT rejects a DATE, so anything not known to be a TIMESTAMP is cast.
    """
    if expression.args.get("zone"):
        self.unsupported("formatting in a given time zone is not supported by Flink")
    this = expression.this
    wrappers = (exp.TsOrDsToDate, exp.TsOrDsToDatetime, exp.TsOrDsToTimestamp, exp.TimeStrToTime)
    while isinstance(this, wrappers) and not (this.args.get("format")):
        this = this.this
    if not this.is_type(*_TIMESTAMP_TYPES):
        this = exp.cast(this, exp.DType.TIMESTAMP)
    return self.func("DATE_FORMAT", this, self.format_time(expression))


def _cast_sql(self: generator.Generator, expression: exp.Cast, to: exp.DType) -> str:
    return self.sql(exp.cast(expression.this, to))


def _try_cast_sql(self: generator.Generator, expression: exp.TryCast) -> str:
    """SAFE_CAST / TRY_CAST (and Spark's CAST, NULL on failure) -> TRY_CAST; to STRING it cannot fail."""
    if expression.to.is_type(*exp.DataType.TEXT_TYPES):
        return self.cast_sql(expression)
    return self.cast_sql(expression, safe_prefix="TRY_")


def _unix_to_time_sql(self: generator.Generator, expression: exp.UnixToTime) -> str:
    """TIMESTAMP_SECONDS / TIMESTAMP_MILLIS / from epoch -> TO_TIMESTAMP_LTZ(x, precision)."""
    scale = expression.args.get("scale")
    precision = {None: 0, 0: 0, 3: 3}.get(None if scale is None else _literal_int(scale))
    if precision is None or expression.args.get("format") or expression.args.get("zone"):
        self.unsupported("this epoch conversion is not supported by Flink (seconds or milliseconds only)")
        precision = 0
    return self.func("TO_TIMESTAMP_LTZ", expression.this, exp.Literal.number(precision))


def _extract_sql(self: generator.Generator, expression: exp.Extract) -> str:
    """EXTRACT(part FROM x); the day-of-week parts differ in where they start counting.

    Flink's DAYOFWEEK (and its DOW) is 1 for Sunday, like BigQuery's DAYOFWEEK; Postgres's and
    Snowflake's DOW is 0 for Sunday; ISODOW is 1 for Monday.
    """
    part = expression.this.name.upper()
    this = expression.expression
    if part == "DOW":
        dow = exp.Sub(this=exp.DayOfWeek(this=this), expression=exp.Literal.number(1))
        return self.sql(exp.paren(dow) if isinstance(expression.parent, (exp.Binary, exp.Unary)) else dow)
    if part in {"DAYOFWEEK", "WEEKDAY"}:
        return self.func("DAYOFWEEK", this)
    if part in {"ISODOW", "DAYOFWEEKISO", "DAYOFWEEK_ISO", "DOW_ISO"}:
        return f"EXTRACT(ISODOW FROM {self.sql(this)})"
    if part in {"DOY", "DAYOFYEAR"}:
        return self.func("DAYOFYEAR", this)
    if part in {"EPOCH", "EPOCH_SECOND", "EPOCH_SECONDS"}:
        return f"EXTRACT(EPOCH FROM {self.sql(this)})"
    mapped = _canonical_unit(expression.this)
    if mapped not in FLINK_UNITS | {"MILLISECOND", "MICROSECOND"}:
        self.unsupported(f"EXTRACT({part} ...) is not supported by Flink")
    return f"EXTRACT({mapped} FROM {self.sql(this)})"


def _concat_sql(self: generator.Generator, expression: exp.Concat) -> str:
    """Postgres/Redshift `concat` skips NULLs -> CONCAT_WS('', ...); Flink's CONCAT does not."""
    if expression.args.get("coalesce"):
        return self.func("CONCAT_WS", exp.Literal.string(""), *expression.expressions)
    return self.func("CONCAT", *expression.expressions)


def _ilike_sql(self: generator.Generator, expression: exp.ILike) -> str:
    """a ILIKE b -> LOWER(a) LIKE LOWER(b): Flink 2.3 parses ILIKE but has no implementation."""
    if isinstance(expression.expression, (exp.Any, exp.All)):
        # LIKE ANY (...) is expanded into ORs of ILIKEs first (SUPPORTS_LIKE_QUANTIFIERS)
        return self.like_sql(expression)  # type: ignore[arg-type]
    like = exp.Like(
        this=exp.Lower(this=expression.this),
        expression=exp.Lower(this=expression.expression),
        negate=expression.args.get("negate"),
    )
    return self.sql(like)


def _isnull_sql(self: generator.Generator, expression: exp.Anonymous) -> str:
    """Spark's isnull(x) is `x IS NULL`; T-SQL's ISNULL(a, b) is COALESCE (parsed as such)."""
    if len(expression.expressions) == 1:
        return self.sql(exp.Is(this=expression.expressions[0], expression=exp.Null()))
    return self.func("COALESCE", *expression.expressions)


def _isnotnull_sql(self: generator.Generator, expression: exp.Anonymous) -> str:
    return self.sql(exp.not_(exp.Is(this=seq_get(expression.expressions, 0), expression=exp.Null())))


# functions sqlglot leaves unparsed (exp.Anonymous), by upper-case name
ANONYMOUS: dict[str, Transform] = {
    "ISNULL": _isnull_sql,
    "ISNOTNULL": _isnotnull_sql,
}


def _int_div_sql(self: generator.Generator, expression: exp.IntDiv) -> str:
    div = exp.Div(this=expression.this, expression=expression.expression, typed=True, safe=False)
    return self.sql(exp.cast(div, exp.DType.BIGINT))


def _str_position_sql(self: generator.Generator, expression: exp.StrPosition) -> str:
    """STRPOS / INSTR / POSITION / CHARINDEX -> LOCATE(substring, string[, start])."""
    if expression.args.get("occurrence"):
        self.unsupported("finding the n-th occurrence of a substring is not supported by Flink")
    return self.func("LOCATE", expression.args.get("substr"), expression.this, expression.args.get("position"))


def _str_to_unix_sql(self: generator.Generator, expression: exp.StrToUnix) -> str:
    """unix_timestamp(s[, fmt]) -> UNIX_TIMESTAMP(s[, 'java pattern']): seconds since the epoch."""
    if expression.this is None:
        return "UNIX_TIMESTAMP()"
    fmt = expression.args.get("format")
    if fmt is None or fmt.name in {"%Y-%m-%d %H:%M:%S", "%Y-%mstrict-%dstrict %Hstrict:%Mstrict:%Sstrict"}:
        return self.func("UNIX_TIMESTAMP", expression.this)
    return self.func("UNIX_TIMESTAMP", expression.this, self.format_time(expression))


def _unix_to_str_sql(self: generator.Generator, expression: exp.UnixToStr) -> str:
    """from_unixtime(n[, fmt]) -> FROM_UNIXTIME(n[, 'java pattern'])."""
    fmt = expression.args.get("format")
    if fmt is None or fmt.name in {"%Y-%m-%d %H:%M:%S", "%Y-%mstrict-%dstrict %Hstrict:%Mstrict:%Sstrict"}:
        return self.func("FROM_UNIXTIME", expression.this)
    return self.func("FROM_UNIXTIME", expression.this, self.format_time(expression))


def _current_timestamp_sql(self: generator.Generator, expression: exp.CurrentTimestamp) -> str:
    if expression.this is not None:
        self.unsupported("CURRENT_TIMESTAMP with a precision or time zone is not supported by Flink")
    return "CURRENT_TIMESTAMP"


def _interval_sql(self: generator.Generator, expression: exp.Interval) -> str:
    """INTERVAL '3' DAY: Flink wants the amount as a string literal and one singular unit."""
    unit = expression.args.get("unit")
    value = expression.this
    if unit is None or not isinstance(value, exp.Literal):
        # '1 day 2 hours', or a computed amount (which only TIMESTAMPADD can take)
        self.unsupported(f"{expression.sql()} is not a Flink interval literal")
        return generator.Generator.interval_sql(self, expression)
    name = self.sql(unit) if isinstance(unit, exp.IntervalSpan) else _canonical_unit(unit)
    return f"INTERVAL '{value.name}' {name}"


# --- statement-level rewrites (run before generation, on each SELECT) ---------------------------


def _taken_names(select: exp.Select) -> set[str]:
    names = {table.alias_or_name for table in select.find_all(exp.Table)}
    names |= {source.alias for source in select.find_all(exp.Unnest, exp.Subquery) if source.alias}
    return names


def _unnest_join(
    select: exp.Select, array: exp.Expr, table: str | None, columns: list[exp.Identifier], outer: bool
) -> exp.Join:
    name = table or find_new_name(_taken_names(select), "u")
    unnest = exp.Unnest(
        expressions=[array],
        alias=exp.TableAlias(this=exp.to_identifier(name), columns=columns),
    )
    if outer:
        return exp.Join(this=unnest, side="LEFT", on=exp.true())
    return exp.Join(this=unnest, kind="CROSS")


def _laterals_to_unnest(expression: exp.Expr) -> exp.Expr:
    """Hive `LATERAL VIEW [OUTER] explode(arr) t AS x` -> `CROSS JOIN UNNEST(arr) AS t(x)`.

    posexplode's 0-based position becomes the 1-based ordinality Flink counts, so references
    to it read `(pos - 1)`.
    """
    if not isinstance(expression, exp.Select) or not expression.args.get("laterals"):
        return expression
    for lateral in list(expression.args["laterals"]):
        function = lateral.this
        if not lateral.args.get("view") or not isinstance(function, exp.Explode):
            continue
        alias = lateral.args.get("alias")
        table = alias.name if alias is not None and alias.name else None
        columns = [col.copy() for col in (alias.columns if alias is not None else [])]
        offset = None
        if isinstance(function, exp.Posexplode):
            if len(columns) == 2:
                offset, columns = columns[0], columns[1:]
            else:
                offset, columns = exp.to_identifier("pos"), columns or [exp.to_identifier("col")]
        join = _unnest_join(
            expression,
            function.this.copy(),
            table,
            columns or [exp.to_identifier("col")],
            bool(lateral.args.get("outer")) or isinstance(function, (exp.ExplodeOuter, exp.PosexplodeOuter)),
        )
        if offset is not None:
            join.this.set("offset", offset)
        lateral.pop()
        expression.append("joins", join)
        if offset is not None:
            _shift_to_zero_based(expression, join.this.alias, offset.name)
    return expression


def _flatten_to_unnest(expression: exp.Expr) -> exp.Expr:
    """Snowflake `LATERAL FLATTEN(input => arr) f` ... `f.value` -> `CROSS JOIN UNNEST(arr) AS f(value)`."""
    if not isinstance(expression, exp.Select):
        return expression
    for join in expression.args.get("joins") or []:
        lateral = join.this
        if not (isinstance(lateral, exp.Lateral) and isinstance(lateral.this, exp.Explode)):
            continue
        argument = lateral.this.this
        if isinstance(argument, exp.Kwarg):
            if argument.this.name.lower() != "input":
                continue
            argument = argument.expression
        alias = lateral.args.get("alias")
        table = alias.name if alias is not None and alias.name else find_new_name(_taken_names(expression), "f")
        for column in expression.find_all(exp.Column):
            if column.table == table and column.name.lower() in {"seq", "key", "path", "index", "this"}:
                raise UnsupportedError(f"FLATTEN column {column.name} has no UNNEST equivalent in Flink (only VALUE)")
            if column.table == table and column.name.lower() == "value":
                column.set("this", exp.to_identifier("value"))
        unnest = exp.Unnest(
            expressions=[argument.copy()],
            alias=exp.TableAlias(this=exp.to_identifier(table), columns=[exp.to_identifier("value")]),
        )
        join.set("this", unnest)
        join.set("kind", "CROSS")
    return expression


def _explode_projection_to_unnest(expression: exp.Expr) -> exp.Expr:
    """Spark `SELECT explode(arr) AS x FROM t` -> `SELECT x FROM t CROSS JOIN UNNEST(arr) AS u(x)`."""
    if not isinstance(expression, exp.Select) or expression.args.get("group"):
        return expression
    explodes = [
        projection
        for projection in expression.expressions
        if isinstance(projection.unalias(), exp.Explode) and not isinstance(projection.unalias(), exp.Posexplode)
    ]
    if len(explodes) != 1 or not expression.args.get("from_"):
        return expression
    projection = explodes[0]
    function = projection.unalias()
    name = projection.alias or "col"
    join = _unnest_join(
        expression,
        function.this.copy(),
        None,
        [exp.to_identifier(name)],
        isinstance(function, exp.ExplodeOuter),
    )
    projection.replace(exp.column(name))
    expression.append("joins", join)
    return expression


def _unnest_joins(expression: exp.Expr) -> exp.Expr:
    """Every UNNEST a lateral join with a table alias: `CROSS JOIN UNNEST(a) AS u(x)`.

    BigQuery names only the element (`UNNEST(a) AS x`), Flink wants `AS table(column)`; a comma
    join becomes CROSS JOIN, and a LEFT JOIN needs `ON TRUE`.
    """
    if not isinstance(expression, exp.Select):
        return expression
    from_ = expression.args.get("from_")
    for join in [*(expression.args.get("joins") or []), *([from_] if from_ else [])]:
        unnest = join.this
        if not isinstance(unnest, exp.Unnest):
            continue
        alias = unnest.args.get("alias")
        if alias is None or not alias.name:
            columns = list(alias.columns) if alias is not None else []
            table = find_new_name(_taken_names(expression), "u")
            unnest.set(
                "alias",
                exp.TableAlias(this=exp.to_identifier(table), columns=columns or [exp.to_identifier("col")]),
            )
        if isinstance(join, exp.From):
            continue
        if join.side == "LEFT" and not join.args.get("on"):
            join.set("on", exp.true())
        elif not join.side and not join.kind:
            join.set("kind", "CROSS")
    return expression


def _shift_to_zero_based(select: exp.Select, table: str, name: str) -> None:
    """Read a 1-based ordinality column as the 0-based offset the source SQL meant."""
    for column in list(select.find_all(exp.Column)):
        if column.name != name or (column.table and column.table != table):
            continue
        if column.find_ancestor(exp.Select) is not select:
            continue
        shifted: exp.Expr = exp.paren(exp.Sub(this=column.copy(), expression=exp.Literal.number(1)))
        if column.parent is select and column.arg_key == "expressions":
            shifted = exp.alias_(shifted, column.name)
        column.replace(shifted)


def _insert_sql(self: generator.Generator, expression: exp.Insert) -> str:
    """Flink's INSERT takes no alias on its target (Postgres's `INSERT INTO t AS s`)."""
    target = expression.this
    table = target.this if isinstance(target, exp.Schema) else target
    alias = table.alias if isinstance(table, exp.Table) else ""
    # kept while something still reads it (an ON CONFLICT update Flink cannot express anyway)
    if alias and not any(column.table == alias for column in expression.find_all(exp.Column)):
        expression = expression.copy()
        target = expression.this
        table = target.this if isinstance(target, exp.Schema) else target
        table.set("alias", None)
    return self.insert_sql(expression)


def _select_sql(self: generator.Generator, expression: exp.Select) -> str:
    return transforms.preprocess(
        [
            transforms.eliminate_qualify,
            _laterals_to_unnest,
            _flatten_to_unnest,
            _explode_projection_to_unnest,
            _unnest_joins,
            _bool_aggs,
        ]
    )(self, expression)


# --- the dialect --------------------------------------------------------------------------------


def _build_timestampadd(args: list[exp.Expr]) -> exp.TimestampAdd:
    return exp.TimestampAdd(this=seq_get(args, 2), expression=seq_get(args, 1), unit=exp.var(args[0].name.upper()))


def _build_timestampdiff(args: list[exp.Expr]) -> exp.TimestampDiff:
    return exp.TimestampDiff(this=seq_get(args, 2), expression=seq_get(args, 1), unit=exp.var(args[0].name.upper()))


def _build_to_date(args: list[exp.Expr], dialect: Dialect) -> exp.Expr:
    if len(args) > 1:
        return build_formatted_time(exp.StrToDate, "flink")(args, dialect)
    return exp.TsOrDsToDate(this=seq_get(args, 0))


_EXPLODE = "explode() outside LATERAL VIEW (or with other explodes) has no Flink form; use CROSS JOIN UNNEST"

# Aggregates Flink does not have (BOOL_OR, LOGICAL_AND ...): in Flink SQL such a name can only be a
# user-defined function, so the Flink parser reads it as one and writes it back unchanged. Written
# *to* Flink from another dialect they are translated (`_bool_aggs`).
_NOT_FLINK_FUNCTIONS = (*exp.LogicalOr.sql_names(), *exp.LogicalAnd.sql_names())


def _default_precision(precision: int) -> Callable[[exp.DataType], exp.DataType]:
    """Flink's bare TIMESTAMP and TIMESTAMP_LTZ are TIMESTAMP(6) and TIMESTAMP_LTZ(6); the
    generator writes a precision-less timestamp (another dialect's) as TIMESTAMP(3)."""

    def _convert(data_type: exp.DataType) -> exp.DataType:
        if not data_type.expressions:
            data_type.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(precision))])
        return data_type

    return _convert


def _user_function(name: str) -> Callable[[list[exp.Expr]], exp.Expr]:
    return lambda args: exp.Anonymous(this=name, expressions=args)


class StatementSet(exp.Expression):
    """`EXECUTE STATEMENT SET BEGIN INSERT ...; INSERT ...; END`: INSERTs Flink plans as one job.

    `expressions` holds the parsed INSERT statements. The SQL client's older spelling,
    `BEGIN STATEMENT SET; ...; END`, parses to the same node and is written the EXECUTE way.
    """

    arg_types: ClassVar[dict[str, bool]] = {"expressions": True}


class FlinkGenerator(generator.Generator):
    """Writes Flink SQL; `TRANSFORMS` holds the per-expression translations."""

    INTERVAL_ALLOWS_PLURAL_FORM = False
    INSERT_OVERWRITE = " OVERWRITE"
    SUPPORTS_LIKE_QUANTIFIERS = False
    # Snowflake/Oracle DECODE(x, a, r, ..., default) is a CASE; Flink's DECODE decodes bytes
    SUPPORTS_DECODE_CASE = False
    LIMIT_FETCH = "LIMIT"
    # TO_NUMBER(s) becomes a CAST; Flink has no TO_NUMBER
    SUPPORTS_TO_NUMBER = False
    ARRAY_SIZE_NAME = "CARDINALITY"
    IGNORE_NULLS_IN_FUNC = True
    RESERVED_KEYWORDS: ClassVar[set[str]] = set(RESERVED_KEYWORDS)

    TYPE_MAPPING: ClassVar[dict[exp.DType, str]] = {
        **generator.Generator.TYPE_MAPPING,
        exp.DType.TEXT: "STRING",
        exp.DType.NAME: "STRING",
        exp.DType.UUID: "STRING",
        exp.DType.JSON: "STRING",
        exp.DType.JSONB: "STRING",
        exp.DType.VARIANT: "STRING",
        exp.DType.NCHAR: "CHAR",
        exp.DType.NVARCHAR: "VARCHAR",
        exp.DType.BIGDECIMAL: "DECIMAL",
        exp.DType.TIMESTAMPTZ: "TIMESTAMP_LTZ",
        exp.DType.TIMESTAMPLTZ: "TIMESTAMP_LTZ",
        exp.DType.TIMESTAMPNTZ: "TIMESTAMP",
        exp.DType.DATETIME: "TIMESTAMP",
        exp.DType.DATETIME2: "TIMESTAMP",
        exp.DType.SMALLDATETIME: "TIMESTAMP",
        exp.DType.STRUCT: "ROW",
        exp.DType.BLOB: "BYTES",
        exp.DType.UINT: "BIGINT",
        exp.DType.UTINYINT: "SMALLINT",
        exp.DType.USMALLINT: "INT",
        exp.DType.MEDIUMINT: "INT",
    }

    UNSUPPORTED_TYPES: ClassVar[set[exp.DType]] = {
        exp.DType.GEOGRAPHY,
        exp.DType.GEOMETRY,
        exp.DType.INET,
        exp.DType.HSTORE,
        exp.DType.XML,
        exp.DType.MONEY,
        exp.DType.SUPER,
        exp.DType.OBJECT,
    }

    TRANSFORMS: ClassVar[dict[type[exp.Expr], Callable[..., str]]] = {
        **generator.Generator.TRANSFORMS,
        exp.Add: _interval_arith_sql,
        exp.ApproxDistinct: _approx_distinct_sql,
        exp.ArrayAgg: _array_agg_sql,
        exp.ArrayContains: lambda self, e: self.func("ARRAY_CONTAINS", e.this, e.expression),
        exp.ArrayToString: lambda self, e: self.func("ARRAY_JOIN", e.this, e.expression, e.args.get("null")),
        exp.ArrayUniqueAgg: _array_unique_agg_sql,
        exp.Concat: _concat_sql,
        exp.CountIf: _count_if_sql,
        exp.Greatest: _extremum_sql,
        exp.Least: _extremum_sql,
        exp.CurrentDatetime: lambda self, e: "LOCALTIMESTAMP",
        exp.CurrentTimestamp: _current_timestamp_sql,
        exp.Date: _date_sql,
        exp.DateAdd: _date_add_sql,
        exp.DateDiff: _date_diff_sql,
        exp.DateStrToDate: lambda self, e: _cast_sql(self, e, exp.DType.DATE),
        exp.DateSub: _date_add_sql,
        exp.DateTrunc: _trunc_sql,
        exp.DatetimeAdd: _date_add_sql,
        exp.DatetimeDiff: _date_diff_sql,
        exp.DatetimeSub: _date_add_sql,
        exp.DatetimeTrunc: _trunc_sql,
        exp.Day: lambda self, e: self.func("DAYOFMONTH", e.this),
        exp.DayOfMonth: lambda self, e: self.func("DAYOFMONTH", e.this),
        exp.DayOfWeek: lambda self, e: self.func("DAYOFWEEK", e.this),
        exp.DayOfWeekIso: lambda self, e: f"EXTRACT(ISODOW FROM {self.sql(e, 'this')})",
        exp.DayOfYear: lambda self, e: self.func("DAYOFYEAR", e.this),
        exp.EndsWith: lambda self, e: self.func("ENDSWITH", e.this, e.expression),
        exp.Extract: _extract_sql,
        exp.GroupConcat: _listagg_sql,
        exp.ILike: _ilike_sql,
        exp.Insert: _insert_sql,
        exp.IntDiv: _int_div_sql,
        exp.Interval: _interval_sql,
        exp.JSONBExtract: _jsonb_query_sql,
        exp.JSONBExtractScalar: _jsonb_value_sql,
        exp.JSONExtract: _json_query_sql,
        exp.JSONExtractScalar: _json_value_sql,
        exp.Length: lambda self, e: self.func("CHAR_LENGTH", e.this),
        exp.LogicalAnd: _bool_agg_sql,
        exp.LogicalOr: _bool_agg_sql,
        exp.MD5Digest: _unsupported("MD5 returning BYTES: Flink's MD5 returns a hex STRING (wrap it in TO_HEX?)"),
        exp.RegexpExtract: _regexp_extract_sql,
        exp.RegexpILike: _regexp_like_sql,
        exp.RegexpLike: _regexp_like_sql,
        exp.Select: _select_sql,
        exp.SplitPart: _split_part_sql,
        exp.StartsWith: lambda self, e: self.func("STARTSWITH", e.this, e.expression),
        exp.StrPosition: _str_position_sql,
        exp.StrToDate: _str_to_date_sql,
        exp.StrToTime: _str_to_time_sql,
        exp.StrToUnix: _str_to_unix_sql,
        exp.Sub: _interval_arith_sql,
        exp.TimeStrToDate: lambda self, e: _cast_sql(self, e, exp.DType.DATE),
        exp.TimeStrToTime: lambda self, e: _cast_sql(self, e, exp.DType.TIMESTAMP),
        exp.TimeToStr: _date_format_sql,
        exp.TimestampAdd: _date_add_sql,
        exp.TimestampDiff: _date_diff_sql,
        exp.TimestampSub: _date_add_sql,
        exp.TimestampTrunc: _trunc_sql,
        exp.TryCast: _try_cast_sql,
        exp.TsOrDsAdd: _date_add_sql,
        exp.TsOrDsToDate: _to_date_sql,
        exp.TsOrDsToDatetime: lambda self, e: _cast_sql(self, e, exp.DType.TIMESTAMP),
        exp.TsOrDsToTimestamp: lambda self, e: _cast_sql(self, e, exp.DType.TIMESTAMP),
        exp.UnixToStr: _unix_to_str_sql,
        exp.UnixToTime: _unix_to_time_sql,
        exp.WeekOfYear: lambda self, e: self.func("WEEK", e.this),
        # not one of sqlglot's classes, so its `_sql` method is not found by name
        StatementSet: lambda self, e: self.statementset_sql(e),
        # no Flink equivalent: written as they are and reported (G501)
        exp.AnyValue: _unsupported("ANY_VALUE has no Flink equivalent"),
        exp.ApproxQuantile: _unsupported("APPROX_QUANTILE has no Flink equivalent"),
        exp.ApproxQuantiles: _unsupported("APPROX_QUANTILES has no Flink equivalent"),
        exp.ApproxTopK: _unsupported("APPROX_TOP_COUNT has no Flink equivalent"),
        exp.ArgMax: _unsupported("MAX_BY / ARG_MAX has no Flink equivalent"),
        exp.ArgMin: _unsupported("MIN_BY / ARG_MIN has no Flink equivalent"),
        exp.ConvertTimezone: _unsupported("CONVERT_TIMEZONE has no Flink equivalent for timestamps"),
        exp.Explode: _unsupported(_EXPLODE),
        exp.ExplodeOuter: _unsupported(_EXPLODE),
        exp.Posexplode: _unsupported(_EXPLODE),
        exp.PosexplodeOuter: _unsupported(_EXPLODE),
        exp.GenerateDateArray: _unsupported("GENERATE_DATE_ARRAY has no Flink equivalent"),
        exp.GenerateSeries: _unsupported("GENERATE_SERIES has no Flink equivalent"),
        exp.LastDay: _unsupported("LAST_DAY has no Flink equivalent"),
        exp.Median: _unsupported("MEDIAN has no Flink equivalent"),
        exp.PercentileCont: _unsupported("PERCENTILE_CONT has no Flink equivalent (PERCENTILE differs)"),
        exp.PercentileDisc: _unsupported("PERCENTILE_DISC has no Flink equivalent"),
        exp.ToChar: _unsupported("TO_CHAR with a number or unknown format has no Flink equivalent"),
    }

    def identifier_sql(self, expression: exp.Identifier) -> str:
        """A name from the scanned SQL stays on one line: a line break in a quoted name must not put
        what follows it at the start of a line of the job (the job's CREATE TABLE writes it so too)."""
        if one_line(expression.name) != expression.name:
            expression = exp.Identifier(this=one_line(expression.name), quoted=True)
        return super().identifier_sql(expression)

    def datatype_sql(self, expression: exp.DataType) -> str:
        """Flink's types: STRING for unbounded text, DECIMAL(p <= 38, s), TIMESTAMP(3) by default."""
        kind = expression.this
        params = [param.this for param in expression.expressions if isinstance(param, exp.DataTypeParam)]
        numbers = [_literal_int(param) if isinstance(param, exp.Expr) else None for param in params]
        if kind in {exp.DType.VARCHAR, exp.DType.NVARCHAR, exp.DType.CHAR, exp.DType.NCHAR} and (
            not params or None in numbers
        ):
            # unbounded (or VARCHAR(MAX)) text; a bare CHAR is CHAR(1) in both worlds
            if kind in {exp.DType.CHAR, exp.DType.NCHAR} and not params:
                return "CHAR"
            return "STRING"
        if kind in {exp.DType.BINARY, exp.DType.VARBINARY} and (not params or None in numbers):
            return "BYTES"
        if kind in {exp.DType.UBIGINT, exp.DType.INT128, exp.DType.UINT128}:
            return "DECIMAL(20, 0)" if kind == exp.DType.UBIGINT else "DECIMAL(38, 0)"
        if kind in {exp.DType.DECIMAL, exp.DType.BIGDECIMAL, exp.DType.UDECIMAL}:
            return self._decimal_sql(numbers)
        if kind in {
            exp.DType.TIMESTAMP,
            exp.DType.TIMESTAMPNTZ,
            exp.DType.DATETIME,
            exp.DType.DATETIME2,
            exp.DType.SMALLDATETIME,
            exp.DType.TIMESTAMPTZ,
            exp.DType.TIMESTAMPLTZ,
        }:
            precision = numbers[0] if numbers and numbers[0] is not None else 3
            precision = min(precision, _MAX_TIMESTAMP_PRECISION)
            name = "TIMESTAMP_LTZ" if kind in {exp.DType.TIMESTAMPTZ, exp.DType.TIMESTAMPLTZ} else "TIMESTAMP"
            return f"{name}({precision})"
        if kind in {exp.DType.TIMESTAMP_S, exp.DType.TIMESTAMP_MS, exp.DType.TIMESTAMP_NS}:
            precision = {exp.DType.TIMESTAMP_S: 0, exp.DType.TIMESTAMP_MS: 3}.get(kind, 9)
            return f"TIMESTAMP({precision})"
        return super().datatype_sql(expression)

    def filter_sql(self, expression: exp.Filter) -> str:
        where = self.sql(expression, "expression").strip()
        return f"{self.sql(expression, 'this')} FILTER ({where})"

    def format_time(
        self,
        expression: exp.Expr,
        inverse_time_mapping: dict[str, str] | None = None,
        inverse_time_trie: dict[str, Any] | None = None,
    ) -> str | None:
        """The expression's strftime format as a quoted Java pattern (DATE_FORMAT, TO_DATE...)."""
        fmt = expression.args.get("format")
        if fmt is None:
            return None
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            self.unsupported("a date format that is not a literal cannot be converted to a Java pattern")
            return self.sql(fmt)
        pattern, unknown = strftime_to_java(fmt.name)
        if unknown:
            self.unsupported(f"date format {', '.join(unknown)} has no Java pattern equivalent in Flink")
        return self.sql(exp.Literal.string(pattern))

    def bracket_sql(self, expression: exp.Bracket) -> str:
        """Subscripts: Flink arrays count from 1 and take an INT index.

        sqlglot shifts literal and integer-typed indexes itself. BigQuery's `[OFFSET(i)]` and
        `[ORDINAL(i)]` say the subscript is an array's, so a column index is shifted too; a bare
        `[column]` could be a map key, so it is only reported.
        """
        index = seq_get(expression.expressions, 0)
        offset = expression.args.get("offset")
        shift = self.dialect.INDEX_OFFSET - (offset or 0)
        if (
            len(expression.expressions) != 1
            or index is None
            or not shift
            or expression.args.get("json_access")
            or _literal_int(index) is not None
            or index.is_string
        ):
            return super().bracket_sql(expression)
        if offset is None:
            if not index.type:
                annotate_types(index, dialect=self.dialect)
            if not index.is_type(*exp.DataType.INTEGER_TYPES):
                self.unsupported(f"subscript [{self.sql(index)}]: Flink arrays count from 1; add {shift} for an array")
            return super().bracket_sql(expression)
        # an array index must be an INT in Flink (a BIGINT is rejected)
        shifted = exp.Add(this=exp.cast(index, exp.DType.INT), expression=_number(shift))
        return f"{self.sql(expression, 'this')}[{self.sql(shifted)}]"

    def cast_sql(self, expression: exp.Cast, safe_prefix: str | None = None) -> str:
        """A JSON extraction cast to a scalar reads the scalar: JSON_QUERY would return NULL."""
        this = expression.this
        if isinstance(this, exp.JSONExtract) and not expression.to.is_type(
            exp.DType.ARRAY, exp.DType.MAP, exp.DType.STRUCT, exp.DType.JSON
        ):
            scalar = exp.JSONExtractScalar(this=this.this, expression=this.expression)
            if expression.to.is_type(*exp.DataType.TEXT_TYPES):
                return self.sql(scalar)
            expression = expression.copy()
            expression.set("this", scalar)
        return super().cast_sql(expression, safe_prefix=safe_prefix)

    def div_sql(self, expression: exp.Div) -> str:
        """`a / b`: a fraction where the source divides to one (typed division), NULL on zero
        where the source gives NULL (safe division), unless the divisor already says so."""
        divisor = expression.expression
        if expression.args.get("safe") and isinstance(divisor, exp.Nullif) and _literal_int(divisor.expression) == 0:
            expression = expression.copy()
            expression.set("safe", False)
        return super().div_sql(expression)

    def onconflict_sql(self, expression: exp.OnConflict) -> str:
        """Postgres ON CONFLICT -> Flink 2.3's ON CONFLICT, keyed by the sink's primary key.

        `DO NOTHING` keeps the first row in both; `DO UPDATE SET c = EXCLUDED.c, ...` (every
        column taken from the new row) is Flink's `DO DEDUPLICATE`, the last row wins. An update
        that computes its values has no Flink form.
        """
        action = expression.args.get("action")
        action_name = action.name.upper() if action is not None else ""
        simple = not expression.args.get("duplicate") and not expression.args.get("where")
        if simple and action_name in {"DO NOTHING", "DO DEDUPLICATE", "DO ERROR"}:
            return f"ON CONFLICT {action_name}"
        if (
            simple
            and action_name == "DO UPDATE"
            and expression.expressions
            and all(_takes_excluded(assignment) for assignment in expression.expressions)
        ):
            return "ON CONFLICT DO DEDUPLICATE"
        self.unsupported(
            "ON CONFLICT / ON DUPLICATE KEY with computed updates has no Flink equivalent "
            "(Flink has DO NOTHING, DO DEDUPLICATE and DO ERROR)"
        )
        return super().onconflict_sql(expression)

    def merge_sql(self, expression: exp.Merge) -> str:
        self.unsupported("MERGE INTO is not supported by Flink; write the rows to a primary-keyed sink")
        return super().merge_sql(expression)

    def set_sql(self, expression: exp.Set) -> str:
        """SET 'key' = 'value' is Flink's form; another engine's setting has no meaning in Flink."""
        items = []
        for item in expression.expressions:
            assignment = item.this if isinstance(item, exp.SetItem) else None
            if not isinstance(assignment, exp.EQ):
                self.unsupported(f"SET {self.sql(item)} has no Flink equivalent")
                return super().set_sql(expression)
            key, value = assignment.this, assignment.expression
            if not (isinstance(key, exp.Literal) and key.is_string):
                self.unsupported(f"engine setting {key.sql()} has no Flink equivalent")
            key_text = key.name if isinstance(key, exp.Literal) else key.sql()
            value_text = value.name if isinstance(value, exp.Literal) else value.sql().lower()
            items.append(f"{self.sql(exp.Literal.string(key_text))} = {self.sql(exp.Literal.string(value_text))}")
        return f"SET {', '.join(items)}"

    def statementset_sql(self, expression: StatementSet) -> str:
        sep = self.sep()
        body = "".join(f"{self.sql(statement)};{sep}" for statement in expression.expressions)
        return f"EXECUTE STATEMENT SET{sep}BEGIN{sep}{body}END"

    def property_sql(self, expression: exp.Property) -> str:
        """A table option, `'connector' = 'kafka'`: Flink's WITH (...) takes string keys and values."""
        if type(expression) is not exp.Property:
            return super().property_sql(expression)
        this, value = expression.this, expression.args.get("value")
        key = this.sql() if isinstance(this, exp.Dot) else expression.name
        if isinstance(value, exp.Boolean):
            value = exp.Literal.string(self.sql(value).lower())
        elif isinstance(value, (exp.Literal, exp.Var, exp.Identifier)):
            value = exp.Literal.string(value.name)
        else:
            self.unsupported(f"table option {key}: Flink option values are string literals")
        return f"{self.sql(exp.Literal.string(key))} = {self.sql(value)}"

    def properties_sql(self, expression: exp.Properties) -> str:
        """Flink writes `LIKE source (options)` after WITH (...), the other way round from sqlglot."""
        likes = [p for p in expression.expressions if isinstance(p, exp.LikeProperty)]
        if not likes:
            return super().properties_sql(expression)
        others = exp.Properties(expressions=[p for p in expression.expressions if not isinstance(p, exp.LikeProperty)])
        others.parent = expression.parent
        head = super().properties_sql(others) if others.expressions else ""
        like = " ".join(self.sql(p) for p in likes)
        return f"{head}{self.sep()}{like}" if head else like

    def likeproperty_sql(self, expression: exp.LikeProperty) -> str:
        options = " ".join(f"{option.name} {self.sql(option, 'value')}" for option in expression.expressions)
        return f"LIKE {self.sql(expression, 'this')}" + (f" ({options})" if options else "")

    def version_sql(self, expression: exp.Version) -> str:
        """`FOR SYSTEM_TIME AS OF ts` (sqlglot calls it TIMESTAMP): a temporal join or time travel."""
        if expression.name.upper() in {"TIMESTAMP", "SYSTEM_TIME"} and expression.text("kind") == "AS OF":
            return f"FOR SYSTEM_TIME AS OF {self.sql(expression, 'expression')}"
        self.unsupported(f"FOR {expression.name} {expression.text('kind')} has no Flink equivalent")
        return super().version_sql(expression)

    def anonymous_sql(self, expression: exp.Anonymous) -> str:
        transform = ANONYMOUS.get(expression.name.upper())
        return transform(self, expression) if transform else super().anonymous_sql(expression)

    def pivot_sql(self, expression: exp.Pivot) -> str:
        self.unsupported("PIVOT / UNPIVOT is not supported by Flink; write the CASE aggregates out")
        return super().pivot_sql(expression)

    def attimezone_sql(self, expression: exp.AtTimeZone) -> str:
        self.unsupported("AT TIME ZONE has no Flink equivalent (CONVERT_TZ works on strings)")
        return super().attimezone_sql(expression)

    def unnest_sql(self, expression: exp.Unnest) -> str:
        if not isinstance(expression.parent, (exp.Join, exp.From, exp.Lateral)):
            self.unsupported("UNNEST outside FROM/JOIN is not supported by Flink; use CROSS JOIN UNNEST")
        return super().unnest_sql(expression)

    def bytestring_sql(self, expression: exp.ByteString) -> str:
        """Postgres E'...' is text (its escapes already decoded); bytes are X'hex' literals."""
        text = expression.name
        if expression.args.get("is_bytes"):
            return f"X'{text.encode('latin-1').hex().upper()}'"
        return self.sql(exp.Literal.string(text))

    def array_sql(self, expression: exp.Array) -> str:
        return f"ARRAY[{self.expressions(expression, flat=True)}]"

    def struct_sql(self, expression: exp.Struct) -> str:
        """STRUCT(...) -> ROW(...); Flink's row constructor cannot name its fields."""
        values = []
        for field in expression.expressions:
            value = field
            if isinstance(field, (exp.PropertyEQ, exp.Alias, exp.Slice)):
                self.unsupported("STRUCT field names are lost in Flink's ROW(...); cast it to a named ROW")
                value = field.expression if isinstance(field, (exp.PropertyEQ, exp.Slice)) else field.this
            values.append(value)
        return self.func("ROW", *values)

    def _decimal_sql(self, numbers: list[int | None]) -> str:
        if not numbers or numbers[0] is None:
            precision, scale = _DEFAULT_DECIMAL
        else:
            precision = numbers[0]
            scale = numbers[1] if len(numbers) > 1 and numbers[1] is not None else 0
        precision = min(precision, _MAX_DECIMAL_PRECISION)
        return f"DECIMAL({precision}, {min(scale, precision)})"


class Flink(Dialect):
    """Apache Flink 2.3 SQL (streaming and batch share the syntax)."""

    NORMALIZATION_STRATEGY = NormalizationStrategy.CASE_SENSITIVE
    # Flink's `/` on two integers is integer division (7 / 2 = 3), and dividing by zero fails
    TYPED_DIVISION = True
    SAFE_DIVISION = False
    CONCAT_COALESCE = False
    # GREATEST / LEAST return NULL when any argument is NULL
    LEAST_GREATEST_IGNORES_NULLS = False
    # CONCAT_WS skips NULL arguments
    CONCAT_WS_COALESCE = True
    INDEX_OFFSET = 1
    # REGEXP_EXTRACT(s, re) without a group returns the whole match
    REGEXP_EXTRACT_DEFAULT_GROUP = 0
    TIME_MAPPING = _JAVA_TO_STRFTIME
    DATE_FORMAT = "'yyyy-MM-dd'"
    TIME_FORMAT = "'yyyy-MM-dd HH:mm:ss'"

    @classmethod
    def format_time(cls, expression: str | exp.Expr | None) -> exp.Expr | None:
        """Flink's Java date patterns as sqlglot's strftime, keeping quoted literal text."""
        if isinstance(expression, str):
            return exp.Literal.string(java_to_strftime(expression[1:-1]))
        if expression is not None and expression.is_string:
            return exp.Literal.string(java_to_strftime(expression.name))
        return expression

    class Tokenizer(tokens.Tokenizer):
        QUOTES: ClassVar[list[str | tuple[str, str]]] = ["'"]
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ["`"]
        # Flink string literals know no backslash escapes: a quote is written twice
        STRING_ESCAPES: ClassVar[list[str]] = ["'"]
        HEX_STRINGS: ClassVar[list[str | tuple[str, str]]] = [("x'", "'"), ("X'", "'")]
        KEYWORDS: ClassVar[dict[str, TokenType]] = {
            **tokens.Tokenizer.KEYWORDS,
            "BYTES": TokenType.VARBINARY,
            # ROW<a INT, b STRING> is Flink's STRUCT (the ROW(...) constructor parses as a struct)
            "ROW": TokenType.STRUCT,
            "STRING": TokenType.TEXT,
            "TIMESTAMP_LTZ": TokenType.TIMESTAMPLTZ,
        }
        # EXECUTE STATEMENT SET BEGIN ... END is parsed, not swallowed as a command's text
        COMMANDS: ClassVar[set[TokenType]] = tokens.Tokenizer.COMMANDS - {TokenType.EXECUTE}

    class Parser(parser.Parser):
        # Flink 2.3: INSERT ... ON CONFLICT DO NOTHING | DO DEDUPLICATE | DO ERROR
        CONFLICT_ACTIONS: ClassVar[dict[str, Any]] = {
            **parser.Parser.CONFLICT_ACTIONS,
            "DO": ("NOTHING", "UPDATE", "DEDUPLICATE", "ERROR"),
        }
        FUNCTIONS: ClassVar[dict[str, Callable[..., exp.Expr]]] = {
            **parser.Parser.FUNCTIONS,
            "DATE_FORMAT": build_formatted_time(exp.TimeToStr, "flink"),
            "REGEXP": exp.RegexpLike.from_arg_list,
            "REGEXP_EXTRACT": lambda args: exp.RegexpExtract(
                this=seq_get(args, 0), expression=seq_get(args, 1), group=seq_get(args, 2)
            ),
            "TIMESTAMPADD": _build_timestampadd,
            "TIMESTAMPDIFF": _build_timestampdiff,
            "TO_DATE": _build_to_date,
            "TO_TIMESTAMP": build_formatted_time(exp.StrToTime, "flink"),
            **{name: _user_function(name) for name in _NOT_FLINK_FUNCTIONS},
        }
        STATEMENT_PARSERS: ClassVar[dict[TokenType, Callable[..., exp.Expr]]] = {
            **parser.Parser.STATEMENT_PARSERS,
            TokenType.BEGIN: lambda self: self._parse_begin(),
            TokenType.EXECUTE: lambda self: self._parse_execute(),
        }
        # WATERMARK FOR ts AS ts - INTERVAL '5' SECOND, among the columns of CREATE TABLE
        CONSTRAINT_PARSERS: ClassVar[dict[str, Callable[..., exp.Expr]]] = {
            **parser.Parser.CONSTRAINT_PARSERS,
            "WATERMARK": lambda self: self.expression(
                exp.WatermarkColumnConstraint(
                    this=self._match(TokenType.FOR) and self._parse_column(),
                    expression=self._match(TokenType.ALIAS) and self._parse_disjunction(),
                )
            ),
        }
        SCHEMA_UNNAMED_CONSTRAINTS: ClassVar[set[str]] = {*parser.Parser.SCHEMA_UNNAMED_CONSTRAINTS, "WATERMARK"}
        # Flink's defaults for a type written without its parameters, kept when written back
        TYPE_CONVERTERS: ClassVar[dict[exp.DType, Callable[[exp.DataType], exp.DataType]]] = {
            exp.DType.DECIMAL: build_default_decimal_type(precision=10, scale=0),
            exp.DType.TIMESTAMP: _default_precision(6),
            exp.DType.TIMESTAMPLTZ: _default_precision(6),
        }

        def _parse_execute(self) -> exp.Expr:
            start = self._prev
            if self._match_text_seq("STATEMENT", "SET", "BEGIN"):
                return self._parse_statement_set()
            if self._curr.token_type == TokenType.INSERT:
                # EXECUTE INSERT INTO ... runs the INSERT, as INSERT INTO ... alone does
                insert = self._parse_statement()
                if insert is not None:
                    return insert
            # EXECUTE PLAN '...'
            return self._parse_as_command(start)

        def _parse_begin(self) -> exp.Expr:
            if self._match_text_seq("STATEMENT", "SET"):
                return self._parse_statement_set()
            return self._parse_transaction()

        def _parse_statement_set(self) -> StatementSet:
            """The INSERTs up to END. sqlglot splits the text at every `;` before parsing, so
            the INSERTs are the chunks that follow (the first shares the EXECUTE ... BEGIN one)."""
            statements: list[exp.Expr] = []
            while not self._match(TokenType.END):
                while self._match(TokenType.SEMICOLON):  # a `;` that carried a comment
                    pass
                if self._curr:
                    statement = self._parse_statement()
                    if not isinstance(statement, exp.Insert):
                        self.raise_error("A statement set holds only INSERT statements")
                    if statement is not None:
                        statements.append(statement)
                    if self._curr:
                        self.raise_error("Invalid expression / Unexpected token")
                        break
                if self._chunk_index >= len(self._chunks):
                    self.raise_error("Expecting END to close the statement set")
                    break
                self._advance_chunk()
            return self.expression(StatementSet(expressions=statements))

        def _parse_create_like(self) -> exp.LikeProperty | None:
            """`LIKE source [(EXCLUDING OPTIONS INCLUDING WATERMARKS ...)]`."""
            table = self._parse_table_parts(schema=True)
            options: list[exp.Expr] = []
            if self._match(TokenType.L_PAREN):
                while self._match_texts(("INCLUDING", "EXCLUDING", "OVERWRITING")):
                    kind = self._prev.text.upper()
                    option = self._parse_var(any_token=True)
                    options.append(exp.Property(this=kind, value=exp.var(option.name.upper() if option else "")))
                self._match_r_paren()
            return self.expression(exp.LikeProperty(this=table, expressions=options))

    Generator = FlinkGenerator


# --- source rewrites: meanings sqlglot's tree does not keep, settled from the source dialect ---


def _bigquery_offsets(expression: exp.Expr) -> exp.Expr:
    """BigQuery `UNNEST(a) WITH OFFSET AS o` counts from 0; Flink's WITH ORDINALITY from 1."""
    for unnest in list(expression.find_all(exp.Unnest)):
        offset = unnest.args.get("offset")
        select = unnest.find_ancestor(exp.Select)
        if isinstance(offset, exp.Identifier) and select is not None:
            _shift_to_zero_based(select, unnest.alias, offset.name)
    return expression


def _dow_from_sunday_one(expression: exp.Expr) -> exp.Expr:
    """Spark's EXTRACT(DOW ...) is 1 for Sunday (like dayofweek), not Postgres's 0."""
    for extract in list(expression.find_all(exp.Extract)):
        if extract.this.name.upper() == "DOW":
            extract.replace(exp.DayOfWeek(this=extract.expression))
    return expression


def _dow_from_sunday_zero(expression: exp.Expr) -> exp.Expr:
    """Snowflake's and Redshift's DAYOFWEEK (function or date part) is 0 for Sunday, as DOW is."""
    for node in list(expression.find_all(exp.DayOfWeek, exp.Extract)):
        if isinstance(node, exp.DayOfWeek):
            node.replace(exp.Extract(this=exp.var("DOW"), expression=node.this))
        elif node.this.name.upper() in {"DAYOFWEEK", "WEEKDAY", "DW"}:
            node.set("this", exp.var("DOW"))
    return expression


def _dow_iso(expression: exp.Expr) -> exp.Expr:
    """Trino's EXTRACT(DOW ...) is ISO: 1 for Monday to 7 for Sunday."""
    for extract in list(expression.find_all(exp.Extract)):
        if extract.this.name.upper() == "DOW":
            extract.replace(exp.DayOfWeekIso(this=extract.expression))
    return expression


def _quote_format_letters(expression: exp.Expr) -> exp.Expr:
    """Letters left in a strftime-dialect format are literal text (`%Y-%m-%dT%H`): quote them.

    sqlglot leaves a Java-pattern dialect's unmapped letters (Spark's `SSS`) in the same place,
    where they are pattern letters, so only strftime-style sources get this rewrite.
    """
    for node in expression.find_all(exp.TimeToStr, exp.StrToTime, exp.StrToDate, exp.TsOrDsToDate):
        fmt = node.args.get("format")
        if isinstance(fmt, exp.Literal) and fmt.is_string:
            tokens_ = _STRFTIME_TOKEN.findall(fmt.name)
            text = "".join(f"'{token}'" if token.isalpha() else token for token in tokens_)
            node.set("format", exp.Literal.string(text))
    return expression


def _snowflake_to_char(expression: exp.Expr) -> exp.Expr:
    """Snowflake TO_CHAR(x, 'YYYY-MM-DD') formats a date when its format has date parts."""
    snowflake = Dialect.get_or_raise("snowflake")
    for node in list(expression.find_all(exp.ToChar)):
        fmt = node.args.get("format")
        converted = snowflake.format_time(fmt) if isinstance(fmt, exp.Literal) and fmt.is_string else None
        if converted is not None and "%" in converted.name:
            node.replace(exp.TimeToStr(this=node.this, format=converted))
    return expression


# source dialect -> rewrites applied (in order) before generating Flink SQL
SOURCE_REWRITES: dict[str, tuple[Callable[[exp.Expr], exp.Expr], ...]] = {
    "bigquery": (_bigquery_offsets, _quote_format_letters),
    "databricks": (_dow_from_sunday_one,),
    "hive": (_dow_from_sunday_one,),
    "spark": (_dow_from_sunday_one,),
    "spark2": (_dow_from_sunday_one,),
    "athena": (_dow_iso, _quote_format_letters),
    "presto": (_dow_iso, _quote_format_letters),
    "trino": (_dow_iso, _quote_format_letters),
    "duckdb": (_quote_format_letters,),
    "mysql": (_quote_format_letters,),
    "postgres": (_quote_format_letters,),
    "redshift": (_dow_from_sunday_zero, _quote_format_letters),
    "snowflake": (_dow_from_sunday_zero, _snowflake_to_char, _quote_format_letters),
}


class CompiledSqlglot(KappaError):
    """sqlglot's compiled build (the `sqlglotc` package) is installed, and its classes refuse
    the Python subclasses the Flink dialect is made of (tobymao/sqlglot#7923: by design)."""


@cache
def _subclassing_refused() -> str:
    """Why this sqlglot refuses the Flink dialect's classes ("" when it accepts them): mypyc lets
    a Python class subclass a compiled one, then refuses to instantiate it."""
    try:
        Flink().tokenizer()
        Flink().parser()
        Flink().generator()
    except TypeError as error:
        return str(error)
    return ""


def require_flink_dialect() -> None:
    """Raise `CompiledSqlglot` (one line for the user, not a traceback) when the Flink dialect
    cannot run here: a process that imported the compiled sqlglot (the `kappa` command avoids it,
    `analyzer.launch`); the scan itself runs on the compiled sqlglot, and faster."""
    refusal = _subclassing_refused()
    if refusal:
        raise CompiledSqlglot(
            f"kappa's Flink dialect cannot run on the compiled sqlglot ({refusal}): the `kappa` command "
            "imports sqlglot's Python sources for generate, verify and migrate, which this process did not; "
            "call analyzer.sqlglot_build.prefer_sqlglot_sources() before anything imports sqlglot, "
            "or `pip uninstall sqlglotc`"
        )


def to_flink(sql_or_expression: str | exp.Expr, read: str) -> tuple[str, tuple[str, ...]]:
    """Translate one statement from the `read` dialect to Flink SQL.

    Returns the Flink SQL and the messages for constructs Flink has no equivalent for (empty
    when the translation is complete); the caller turns each message into a G501 finding. A
    string is parsed with sqlglot (`sqlglot.errors.ParseError` when it does not parse); an
    expression is not modified.

        >>> to_flink("SELECT COUNTIF(ok), MEDIAN(amount) FROM orders", read="bigquery")
        ('SELECT COUNT(*) FILTER (WHERE ok), MEDIAN(amount) FROM orders', ('MEDIAN has no Flink equivalent',))
    """
    require_flink_dialect()
    if isinstance(sql_or_expression, exp.Expr):
        expression = sql_or_expression.copy()
    else:
        expression = sqlglot.parse_one(sql_or_expression, read=read)
    # "bigquery" or sqlglot's settings form "bigquery, version=..."
    for rewrite in SOURCE_REWRITES.get(read.split(",", maxsplit=1)[0].strip().lower(), ()):
        expression = rewrite(expression)
    writer = Flink().generator(unsupported_level=ErrorLevel.IGNORE)
    sql = writer.generate(expression, copy=False)
    return sql, tuple(dict.fromkeys(writer.unsupported_messages))
