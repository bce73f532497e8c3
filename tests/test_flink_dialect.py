"""Tests for `generators.flink_dialect`, driven by the YAML cases in `tests/data/flink_dialect/`.

A case (one file per source dialect) has `name`, `read`, `sql` and `flink`, the exact Flink SQL
`to_flink` must write; `unsupported: true` when the translation must also report a construct
Flink has no equivalent for. Each expected output must re-parse as Flink and come out the same,
and (slow tests, with pyflink installed) plan in a real Flink 2.3 streaming TableEnvironment
against `SCHEMA`, so every case reads only these tables.

The dialect also reads whole job files (`kappa generate`'s output, `tests/golden/generated`):
SET, CREATE TABLE with its watermark and options, INSERT and statement sets each parse into
sqlglot's nodes and are written back to SQL that parses to the same tree.
"""

from __future__ import annotations

import datetime
import doctest
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError

from generators import flink_dialect
from generators.flink_dialect import Flink, StatementSet, java_to_strftime, strftime_to_java, to_flink

DATA = Path(__file__).parent / "data" / "flink_dialect"
GOLDEN = Path(__file__).parent / "golden" / "generated"
GOLDEN_JOBS = sorted(GOLDEN.glob("**/*.sql"))
# Statements of the job files the Flink dialect may leave as exp.Command (no sqlglot node), by
# their first words. None today; `EXECUTE PLAN '...'` would be one.
COMMANDS_IN_JOBS: frozenset[str] = frozenset()
# What a job file holds: settings, tables, then one INSERT or a statement set
JOB_STATEMENTS = (exp.Set, exp.Create, exp.Insert, StatementSet)

# The tables every case reads (and the sink one writes), as Flink DDL.
SCHEMA = (
    """CREATE TABLE orders (
        order_id BIGINT, customer_id BIGINT, amount DECIMAL(12, 2), status STRING, country STRING,
        order_ts TIMESTAMP(3), order_date DATE, tags ARRAY<STRING>, payload STRING,
        attrs MAP<STRING, STRING>, quantity INT, created_at TIMESTAMP_LTZ(3),
        WATERMARK FOR order_ts AS order_ts - INTERVAL '5' SECOND
    ) WITH ('connector' = 'datagen')""",
    """CREATE TABLE customers (
        customer_id BIGINT, name STRING, email STRING, signup_date DATE, tier STRING
    ) WITH ('connector' = 'datagen')""",
    """CREATE TABLE daily_totals (
        customer_id BIGINT, total DECIMAL(38, 2), PRIMARY KEY (customer_id) NOT ENFORCED
    ) WITH ('connector' = 'blackhole')""",
)

# source dialect (as the files group them) -> the fewest cases it must keep
MINIMUM_CASES = {"bigquery": 10, "snowflake": 10, "spark/hive": 10, "postgres": 10, "trino": 10}


def _load_cases() -> list[Any]:
    cases = []
    for path in sorted(DATA.glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


CASES = _load_cases()
PLANNABLE = [
    param
    for param in CASES
    if not param.values[0].get("unsupported")
    and param.values[0]["flink"].split()[0].upper() in {"SELECT", "WITH", "INSERT"}
    and not param.values[0]["flink"].upper().startswith("INSERT OVERWRITE")
]


@pytest.fixture(autouse=True)
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs every unsupported construct as a warning; here they are the point
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("case", CASES)
def test_translation(case: dict[str, Any]) -> None:
    sql, messages = to_flink(case["sql"], read=case["read"])
    assert sql == case["flink"]
    if case.get("unsupported"):
        assert messages, "expected an unsupported-construct message"
    else:
        assert messages == ()


@pytest.mark.parametrize("case", CASES)
def test_round_trip(case: dict[str, Any]) -> None:
    """The expected Flink SQL parses as Flink and is written back unchanged."""
    flink = case["flink"]
    assert sqlglot.transpile(flink, read="flink", write="flink", unsupported_level=ErrorLevel.IGNORE) == [flink]


def test_every_source_dialect_has_its_share_of_cases() -> None:
    counts = Counter(case.values[0]["read"] for case in CASES)
    counts["spark/hive"] = counts.pop("spark", 0) + counts.pop("hive", 0)
    assert len(CASES) >= 60
    for dialect, minimum in MINIMUM_CASES.items():
        assert counts[dialect] >= minimum, dialect


def test_cases_name_their_dialect_file() -> None:
    for path in sorted(DATA.glob("*.yml")):
        reads = {case["read"] for case in yaml.safe_load(path.read_text(encoding="utf-8"))}
        assert reads == {path.stem}


def test_dialect_is_registered_by_name() -> None:
    assert Dialect.get("flink") is Flink
    assert sqlglot.transpile("SELECT NVL(a, b) FROM t", read="snowflake", write="flink") == [
        "SELECT COALESCE(a, b) FROM t"
    ]


def test_to_flink_accepts_an_expression_and_leaves_it_alone() -> None:
    tree = sqlglot.parse_one("SELECT x FROM t QUALIFY ROW_NUMBER() OVER (ORDER BY y) = 1", read="bigquery")
    before = tree.sql("bigquery")
    sql, messages = to_flink(tree, read="bigquery")
    assert sql.startswith("SELECT x FROM (SELECT x, ROW_NUMBER() OVER (ORDER BY y) AS _w FROM t)")
    assert messages == ()
    assert tree.sql("bigquery") == before


def test_unsupported_messages_are_listed_once_in_order() -> None:
    _, messages = to_flink("SELECT MEDIAN(a), LAST_DAY(d), MEDIAN(b) FROM t", read="snowflake")
    assert messages == ("MEDIAN has no Flink equivalent", "LAST_DAY has no Flink equivalent")


@pytest.mark.parametrize(
    ("sql", "read", "expected"),
    [
        # string literals: quotes are doubled, backslashes are plain characters
        ("SELECT 'it\\'s', 'a\\\\b'", "bigquery", "SELECT 'it''s', 'a\\b'"),
        ("SELECT E'tab\\there'", "postgres", "SELECT 'tab\there'"),
        # identifiers that are Flink keywords are quoted
        ("SELECT value, `timestamp`, user FROM t", "spark", "SELECT `value`, `timestamp`, `user` FROM t"),
        # types
        ("SELECT CAST(x AS NUMERIC(76, 38))", "bigquery", "SELECT CAST(x AS DECIMAL(38, 38))"),
        ("SELECT CAST(x AS TIMESTAMP(12))", "postgres", "SELECT CAST(x AS TIMESTAMP(9))"),
        ("SELECT CAST(x AS VARCHAR(MAX))", "tsql", "SELECT CAST(x AS STRING)"),
        # Spark casts return NULL on failure: TRY_CAST (but a cast to STRING cannot fail)
        (
            "SELECT CAST(x AS MAP<STRING, ARRAY<INT>>), CAST(y AS STRING)",
            "spark",
            "SELECT TRY_CAST(x AS MAP<STRING, ARRAY<INT>>), CAST(y AS STRING)",
        ),
        (
            "SELECT CAST(x AS STRUCT<a INT64, b STRING>)",
            "bigquery",
            "SELECT CAST(x AS ROW<a BIGINT, b STRING>)",
        ),
        # intervals keep one singular unit and a quoted amount
        ("SELECT INTERVAL 3 DAY", "bigquery", "SELECT INTERVAL '3' DAY"),
        (
            "SELECT DATE_TRUNC(d, WEEK(WEDNESDAY))",
            "bigquery",
            "SELECT TIMESTAMPADD(DAY, 3, FLOOR(TIMESTAMPADD(DAY, -3, d) TO WEEK))",
        ),
        ("SELECT arr[ORDINAL(i)], arr[OFFSET(i)]", "bigquery", "SELECT arr[i], arr[CAST(i AS INT) + 1]"),
    ],
)
def test_small_translations(sql: str, read: str, expected: str) -> None:
    assert to_flink(sql, read=read)[0] == expected


@pytest.mark.parametrize(
    ("strftime", "java", "unknown"),
    [
        ("%Y-%m-%d %H:%M:%S", "yyyy-MM-dd HH:mm:ss", []),
        ("%Y-%m-%dT%H:%M:%S.%f", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS", []),
        ('%Y-%m-%d"T"%H', "yyyy-MM-dd'T'HH", []),
        ("%d/%m/%Y %I:%M %p", "dd/MM/yyyy hh:mm a", []),
        ("%a %b %-d", "EEE MMM d", []),
        ("%Y [%m]", "yyyy' ['MM']'", []),
        ("T%U", "'T'%U", ["%U"]),
        ("%H:%M %Z", "HH:mm %Z", ["%Z"]),
    ],
)
def test_strftime_to_java(strftime: str, java: str, unknown: list[str]) -> None:
    assert strftime_to_java(strftime) == (java, unknown)


@pytest.mark.parametrize("java", ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.SSS", "yyyyMMdd", "EEEE, d MMMM"])
def test_java_patterns_round_trip(java: str) -> None:
    assert strftime_to_java(java_to_strftime(java)) == (java, [])


def test_a_format_that_is_not_a_literal_is_reported() -> None:
    sql, messages = to_flink("SELECT FORMAT_DATE(fmt, d) FROM t", read="bigquery")
    assert sql == "SELECT DATE_FORMAT(CAST(d AS TIMESTAMP(3)), fmt) FROM t"
    assert messages == ("a date format that is not a literal cannot be converted to a Java pattern",)


def test_reserved_keywords_are_lower_case_words() -> None:
    assert all(word.islower() and word.replace("_", "").isalnum() for word in flink_dialect.RESERVED_KEYWORDS)
    assert {"value", "timestamp", "count", "year"} <= flink_dialect.RESERVED_KEYWORDS


def test_docstring_examples() -> None:
    failures, _ = doctest.testmod(flink_dialect)
    assert failures == 0


# --- job files: Flink SQL read back -------------------------------------------------------------


def _round_trip(statement: exp.Expr) -> None:
    """Written as Flink, `statement` parses back to an equal tree (comments aside)."""
    flink = statement.sql("flink", unsupported_level=ErrorLevel.IGNORE)
    assert sqlglot.parse(flink, read="flink") == [statement], flink


def test_golden_jobs_exist() -> None:
    assert len(GOLDEN_JOBS) >= 20


@pytest.mark.parametrize("path", GOLDEN_JOBS, ids=lambda path: str(path.relative_to(GOLDEN)))
def test_golden_jobs_reparse(path: Path) -> None:
    """Every statement of a generated job parses as Flink into sqlglot's own nodes (no Command
    fallback), and the Flink SQL written from it parses to the same tree."""
    statements = [s for s in sqlglot.parse(path.read_text(encoding="utf-8"), read="flink") if s is not None]
    assert statements
    for statement in statements:
        assert isinstance(statement, JOB_STATEMENTS), type(statement).__name__
        for command in statement.find_all(exp.Command):
            assert " ".join(command.sql("flink").split()[:2]).upper() in COMMANDS_IN_JOBS, command.sql("flink")
        if isinstance(statement, exp.Create):
            options = {p.name: p.text("value") for p in statement.find_all(exp.Property) if type(p) is exp.Property}
            assert "connector" in options, statement.sql("flink")
        if isinstance(statement, StatementSet):
            assert statement.expressions
            assert all(isinstance(insert, exp.Insert) for insert in statement.expressions)
        _round_trip(statement)
    assert isinstance(statements[-1], (exp.Insert, StatementSet))


# the template's statement set (templates/flink_job.sql.j2), as no golden job has one yet
STATEMENT_SET_JOB = """-- Generated by kappa-migrate
SET 'execution.runtime-mode' = 'streaming';

CREATE TABLE `src` (
  `id` BIGINT,
  `ts` TIMESTAMP(3),
  WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = 'src'
);

EXECUTE STATEMENT SET
BEGIN
INSERT INTO `a`
SELECT id FROM src
ON CONFLICT DO DEDUPLICATE;
INSERT INTO `b`
SELECT id, ts FROM src;
END;
"""


def test_statement_set_holds_parsed_inserts() -> None:
    statements = [s for s in sqlglot.parse(STATEMENT_SET_JOB, read="flink") if s is not None]
    assert [type(s) for s in statements] == [exp.Set, exp.Create, StatementSet]
    statement_set = statements[-1]
    assert isinstance(statement_set, StatementSet)
    first, second = statement_set.expressions
    assert isinstance(first, exp.Insert) and first.this.name == "a"
    assert first.args["conflict"].text("action") == "DO DEDUPLICATE"
    assert isinstance(second, exp.Insert) and second.this.name == "b"
    assert statement_set.sql("flink") == (
        "EXECUTE STATEMENT SET BEGIN INSERT INTO `a` SELECT id FROM src ON CONFLICT DO DEDUPLICATE; "
        "INSERT INTO `b` SELECT id, ts FROM src; END"
    )
    for statement in statements:
        _round_trip(statement)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # the SQL client's older spelling of a statement set
        (
            "BEGIN STATEMENT SET; INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END;",
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; INSERT INTO b SELECT 2; END",
        ),
        ("EXECUTE INSERT INTO a SELECT 1", "INSERT INTO a SELECT 1"),
        ("SET 'table.exec.state.ttl' = '1 d'", "SET 'table.exec.state.ttl' = '1 d'"),
        (
            "CREATE TABLE t (a BIGINT, pt AS PROCTIME(), ts TIMESTAMP_LTZ(3), "
            "WATERMARK FOR ts AS ts - INTERVAL '3' DAY, PRIMARY KEY (a) NOT ENFORCED) "
            "WITH ('connector' = 'upsert-kafka', 'key.format' = 'json')",
            "CREATE TABLE t (a BIGINT, pt AS PROCTIME(), ts TIMESTAMP_LTZ(3), "
            "WATERMARK FOR ts AS ts - INTERVAL '3' DAY, PRIMARY KEY (a) NOT ENFORCED) "
            "WITH ('connector' = 'upsert-kafka', 'key.format' = 'json')",
        ),
        (
            "CREATE TABLE t (d DECIMAL(12, 2), m MAP<STRING, ARRAY<INT>>, r ROW<x INT, y STRING>) WITH ('a' = 'b')",
            "CREATE TABLE t (d DECIMAL(12, 2), m MAP<STRING, ARRAY<INT>>, r ROW<x INT, y STRING>) WITH ('a' = 'b')",
        ),
        # the validator's stand-ins
        (
            "CREATE TEMPORARY TABLE `k` WITH ('connector' = 'blackhole') LIKE `k` (EXCLUDING OPTIONS)",
            "CREATE TEMPORARY TABLE `k` WITH ('connector' = 'blackhole') LIKE `k` (EXCLUDING OPTIONS)",
        ),
        (
            "CREATE TEMPORARY TABLE k (a INT) WITH ('connector' = 'print') LIKE s (EXCLUDING ALL INCLUDING WATERMARKS)",
            "CREATE TEMPORARY TABLE k (a INT) WITH ('connector' = 'print') LIKE s (EXCLUDING ALL INCLUDING WATERMARKS)",
        ),
        ("CREATE TEMPORARY TABLE k LIKE s", "CREATE TEMPORARY TABLE k LIKE s"),
        (
            "SELECT o.a, d.b FROM o LEFT JOIN dim FOR SYSTEM_TIME AS OF o.ts AS d ON o.k = d.k",
            "SELECT o.a, d.b FROM o LEFT JOIN dim FOR SYSTEM_TIME AS OF o.ts AS d ON o.k = d.k",
        ),
        ("INSERT INTO t SELECT a FROM s ON CONFLICT DO ERROR", "INSERT INTO t SELECT a FROM s ON CONFLICT DO ERROR"),
        # Flink's own defaults for bare types (TIMESTAMP is TIMESTAMP(6), DECIMAL is DECIMAL(10, 0))
        (
            "SELECT CAST(a AS TIMESTAMP), CAST(b AS TIMESTAMP_LTZ), CAST(c AS DECIMAL)",
            "SELECT CAST(a AS TIMESTAMP(6)), CAST(b AS TIMESTAMP_LTZ(6)), CAST(c AS DECIMAL(10, 0))",
        ),
        # not Flink functions: in Flink SQL only user-defined functions can have these names
        ("SELECT LOGICAL_OR(a), BOOL_AND(b) FROM t", "SELECT LOGICAL_OR(a), BOOL_AND(b) FROM t"),
    ],
)
def test_flink_statements_read_and_written(sql: str, expected: str) -> None:
    (statement,) = sqlglot.parse(sql, read="flink")
    assert statement is not None and not isinstance(statement, exp.Command)
    assert statement.sql("flink") == expected
    _round_trip(statement)


def test_watermark_and_options_are_nodes() -> None:
    create = sqlglot.parse_one(
        "CREATE TABLE t (ts TIMESTAMP(3), WATERMARK FOR ts AS ts - INTERVAL '5' SECOND) WITH ('connector' = 'kafka')",
        read="flink",
    )
    watermark = create.find(exp.WatermarkColumnConstraint)
    assert watermark is not None and watermark.this.name == "ts"
    assert isinstance(watermark.expression, exp.Sub)
    (option,) = create.args["properties"].expressions
    assert (option.name, option.text("value")) == ("connector", "kafka")


@pytest.mark.parametrize(
    "sql",
    [
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1; SELECT 2; END",
        "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;",
    ],
)
def test_a_statement_set_takes_inserts_up_to_end(sql: str) -> None:
    with pytest.raises(ParseError):
        sqlglot.parse(sql, read="flink")


# --- the real planner ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def table_env(flink_jvm: None) -> Any:
    """One streaming TableEnvironment (one JVM) for the whole module, with `SCHEMA` created."""
    pyflink_table = pytest.importorskip("pyflink.table")
    env = pyflink_table.TableEnvironment.create(pyflink_table.EnvironmentSettings.in_streaming_mode())
    for ddl in SCHEMA:
        env.execute_sql(ddl)
    return env


def _root_cause(error: Exception) -> str:
    """The innermost Java message of a planner error (the Python one is a long stack)."""
    cause = getattr(error, "java_exception", None)
    if cause is None:
        return str(error)
    while cause.getCause() is not None:
        cause = cause.getCause()
    return str(cause.getMessage())


@pytest.mark.slow
@pytest.mark.parametrize("case", PLANNABLE)
def test_flink_plans_the_translation(table_env: Any, case: dict[str, Any]) -> None:
    try:
        table_env.explain_sql(case["flink"])
    except Exception as error:  # py4j wraps every planner error; report its root cause
        pytest.fail(f"Flink rejected {case['flink']!r}: {_root_cause(error)}", pytrace=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("read", "sql", "expected"),
    [
        # the value each source engine returns; Flink must compute the same from the translation
        ("postgres", "SELECT DATE_TRUNC('week', DATE '2024-06-05')", datetime.date(2024, 6, 3)),
        ("bigquery", "SELECT DATE_TRUNC(DATE '2024-06-05', WEEK)", datetime.date(2024, 6, 2)),
        ("bigquery", "SELECT DATE_TRUNC(DATE '2024-06-09', WEEK(MONDAY))", datetime.date(2024, 6, 3)),
        ("postgres", "SELECT EXTRACT(DOW FROM DATE '2024-06-09')", 0),
        ("snowflake", "SELECT DAYOFWEEK(DATE '2024-06-09')", 0),
        ("spark", "SELECT dayofweek(DATE '2024-06-09')", 1),
        ("trino", "SELECT day_of_week(DATE '2024-06-09')", 7),
        ("snowflake", "SELECT SPLIT_PART('a,b,c', ',', 2)", "b"),
        ("bigquery", "SELECT REGEXP_EXTRACT('id=42;', r'id=(\\d+)')", "42"),
        ("trino", "SELECT regexp_extract('id=42;', 'id=[0-9]+')", "id=42"),
        ("bigquery", "SELECT DATE_DIFF(DATE '2024-02-01', DATE '2024-01-31', MONTH)", 1),
        (
            "snowflake",
            "SELECT DATEDIFF(day, '2024-01-01 23:00:00'::timestamp, '2024-01-02 01:00:00'::timestamp)",
            1,
        ),
        ("bigquery", "SELECT 7 / 2", 3.5),
        ("postgres", "SELECT concat('a', CAST(NULL AS TEXT), 'b')", "ab"),
        ("bigquery", "SELECT ['a', 'b', 'c'][OFFSET(1)]", "b"),
        ("bigquery", "SELECT pos FROM UNNEST(['a', 'b', 'c']) AS x WITH OFFSET AS pos WHERE x = 'c'", 2),
        (
            "bigquery",
            "SELECT FORMAT_DATETIME('%Y-%m-%dT%H:%M:%S', DATETIME '2024-06-09 10:11:12')",
            "2024-06-09T10:11:12",
        ),
        ("snowflake", "SELECT REGEXP_LIKE('paid', 'pa')", False),
        ("postgres", "SELECT 'Open' ILIKE 'open%'", True),
    ],
)
def test_flink_computes_what_the_source_computes(table_env: Any, read: str, sql: str, expected: Any) -> None:
    flink, messages = to_flink(sql, read=read)
    assert messages == ()
    try:
        with table_env.execute_sql(flink).collect() as rows:
            (row,) = list(rows)
    except Exception as error:  # py4j wraps every Flink error; report its root cause
        pytest.fail(f"Flink failed on {flink!r}: {_root_cause(error)}", pytrace=False)
    assert row[0] == expected, flink


@pytest.fixture(scope="module")
def batch_env(flink_jvm: None) -> Any:
    """A batch TableEnvironment: an aggregate over VALUES gives one final row, not a changelog."""
    pyflink_table = pytest.importorskip("pyflink.table")
    return pyflink_table.TableEnvironment.create(pyflink_table.EnvironmentSettings.in_batch_mode())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("read", "sql", "expected"),
    [
        # what Postgres and Trino return: NULLs are skipped, a group of only NULLs gives NULL
        ("postgres", "SELECT BOOL_AND(x) FROM (VALUES (TRUE), (CAST(NULL AS BOOLEAN))) AS t(x)", True),
        ("postgres", "SELECT BOOL_AND(x) FROM (VALUES (TRUE), (FALSE), (CAST(NULL AS BOOLEAN))) AS t(x)", False),
        ("postgres", "SELECT BOOL_OR(x) FROM (VALUES (FALSE), (CAST(NULL AS BOOLEAN))) AS t(x)", False),
        ("postgres", "SELECT BOOL_OR(x) FROM (VALUES (FALSE), (TRUE)) AS t(x)", True),
        ("postgres", "SELECT BOOL_OR(x) FROM (VALUES (CAST(NULL AS BOOLEAN)), (CAST(NULL AS BOOLEAN))) AS t(x)", None),
        ("trino", "SELECT bool_and(x) FROM (VALUES CAST(NULL AS BOOLEAN)) AS t(x)", None),
    ],
)
def test_flink_bool_aggregates_keep_the_source_null_semantics(
    batch_env: Any, read: str, sql: str, expected: bool | None
) -> None:
    flink, messages = to_flink(sql, read=read)
    assert messages == ()
    try:
        with batch_env.execute_sql(flink).collect() as rows:
            (row,) = list(rows)
    except Exception as error:  # py4j wraps every Flink error; report its root cause
        pytest.fail(f"Flink failed on {flink!r}: {_root_cause(error)}", pytrace=False)
    assert row[0] is expected, flink


@pytest.mark.slow
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT MEDIAN(amount) FROM orders",
        "SELECT ANY_VALUE(status) FROM orders",
        "SELECT LAST_DAY(order_date) FROM orders",
        "SELECT status ILIKE 'a%' FROM orders",
        "SELECT customer_id, BOOL_OR(amount > 0) FROM orders GROUP BY customer_id",
        "SELECT customer_id, LOGICAL_AND(amount > 0) FROM orders GROUP BY customer_id",
    ],
)
def test_flink_rejects_what_the_dialect_rewrites_or_reports(table_env: Any, sql: str) -> None:
    """Why the translations exist: Flink 2.3 has none of these (ILIKE parses, but has no implementation)."""
    with pytest.raises(Exception, match=r".") as raised:
        table_env.explain_sql(sql)
    assert "No match found for function signature" in _root_cause(raised.value)
