"""Tests for `analyzer.sql`, driven by the YAML cases in `tests/data/sql/*.yml`.

A case is one of three shapes:

- analysis (the default): `dialect`, `sql`, optional `markers` and `statement` (which statement of
  `sql` to analyze, 0 by default), and `expect`: fields of `StatementAnalysis`. Lists of joins and
  predicates are compared element by element; a dict inside compares only the keys it names.
- parsing: `dialect`, `sql`, optional `line` (file line of the text's first line, 1 by default) and
  `start_index`, and `expect` with `statements` (list of Statement fields) and/or `findings`
  (list of Finding fields); both lists are compared in full length, each item on the keys given.
- dialect guessing: `sql`, `candidates`, and `expect: {dialect, confidence}`.
"""

from __future__ import annotations

import dataclasses
import doctest
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer import sql as sql_module
from analyzer.models import Statement
from analyzer.sql import KINDS, analyze_statement, guess_dialect, parse_statements

DATA = Path(__file__).parent / "data" / "sql"
FILE = "dags/sql/job.sql"
PROJECT = Path(__file__).resolve().parent.parent


def _load_cases() -> list[Any]:
    cases = []
    for path in sorted(DATA.glob("*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return cases


CASES = _load_cases()


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and mappings as the plain dicts and lists YAML gives."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _matches(actual: Any, expected: Any) -> bool:
    """Equality, where an expected dict only constrains the keys it names."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _matches(actual[key], item) for key, item in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(_matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _analysis_of(case: dict[str, Any]) -> Any:
    statements, findings = parse_statements(case["sql"], case["dialect"], file=FILE, line=1)
    assert not findings, [finding.format() for finding in findings]
    statement = statements[case.get("statement", 0)]
    return analyze_statement(statement, case.get("markers") or {})


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "candidates" in case:
        dialect, confidence = guess_dialect(case["sql"], case["candidates"])
        assert {"dialect": dialect, "confidence": pytest.approx(confidence)} == expect
    elif "statements" in expect or "findings" in expect:
        statements, findings = parse_statements(
            case["sql"],
            case["dialect"],
            file=FILE,
            line=case.get("line", 1),
            start_index=case.get("start_index", 0),
        )
        for key, actual in (("statements", statements), ("findings", findings)):
            if key in expect:
                assert _matches(_plain(actual), expect[key]), _plain(actual)
    else:
        analysis = _plain(_analysis_of(case))
        mismatched = {
            key: analysis.get(key, "<no such field>")
            for key, expected in expect.items()
            if not _matches(analysis.get(key), expected)
        }
        assert not mismatched, f"{mismatched}\nfull analysis: {analysis}"


def test_cases_cover_every_kind_and_dialect() -> None:
    kinds = {p.values[0]["expect"].get("kind") for p in CASES if isinstance(p.values[0]["expect"], dict)}
    assert set(KINDS) <= kinds
    dialects = {p.values[0].get("dialect") for p in CASES}
    assert {
        "bigquery",
        "snowflake",
        "hive",
        "spark",
        "databricks",
        "postgres",
        "trino",
        "redshift",
    } <= dialects
    assert len(CASES) >= 60


def test_kinds_are_from_the_catalogue() -> None:
    for param in CASES:
        case = param.values[0]
        if "dialect" not in case or "candidates" in case:
            continue
        statements, _ = parse_statements(case["sql"], case["dialect"], file=FILE, line=1)
        for statement in statements:
            assert analyze_statement(statement).kind in KINDS, statement.sql


def test_unparsed_statement_keeps_only_its_kind() -> None:
    statement = Statement(0, "SELECT FROM", FILE, 3, "hive", parsed=False, kind="select", error="x")
    assert analyze_statement(statement) == sql_module.StatementAnalysis(kind="select")


def test_analysis_falls_back_to_a_walk_when_scopes_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(_expression: object) -> list[object]:
        raise RuntimeError("scope failure")

    monkeypatch.setattr(sql_module, "traverse_scope", broken)
    sql_module._analyze_text.cache_clear()
    statements, _ = parse_statements(
        "INSERT INTO db.t WITH c AS (SELECT k FROM db.s) SELECT c.k FROM c JOIN db.u ON c.k = db.u.k",
        "spark",
        file=FILE,
        line=1,
    )
    analysis = analyze_statement(statements[0])
    sql_module._analyze_text.cache_clear()
    assert (analysis.kind, analysis.target, analysis.reads) == ("insert", "db.t", ("db.s", "db.u"))


def test_analysis_survives_an_unforeseen_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> object:
        raise AttributeError("unforeseen shape")

    monkeypatch.setattr(sql_module, "_analyze", broken)
    sql_module._analyze_text.cache_clear()
    statements, _ = parse_statements(
        "WITH c AS (SELECT * FROM db.s) INSERT OVERWRITE TABLE db.t SELECT * FROM c",
        "hive",
        file=FILE,
        line=1,
    )
    analysis = analyze_statement(statements[0])
    sql_module._analyze_text.cache_clear()
    assert analysis == sql_module.StatementAnalysis(
        kind="insert_overwrite", target="db.t", reads=("db.s",), writes=("db.t",)
    )


def _sqlglot_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("sqlglot") and r.levelno >= logging.WARNING]


def test_command_fallback_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sqlglot")
    sql, dialect = "VACUUM t RETAIN 168 HOURS", "databricks"
    # sqlglot itself warns on this statement; the module keeps that off the user's terminal
    sqlglot.parse_one(sql, read=dialect)
    assert any("Falling back to parsing as a 'Command'" in m for m in _sqlglot_warnings(caplog))
    caplog.clear()

    sql_module._analyze_text.cache_clear()
    statements, findings = parse_statements(sql, dialect, file=FILE, line=1)
    analysis = analyze_statement(statements[0])
    guess = guess_dialect("OPTIMIZE db.t ZORDER BY (k); CALL cat.system.rewrite_data_files('db.t')", [dialect])
    sql_module._analyze_text.cache_clear()

    assert (statements[0].kind, analysis.kind, analysis.target, findings) == ("vacuum", "vacuum", "t", ())
    assert guess == (None, 0.0)
    assert _sqlglot_warnings(caplog) == []
    assert logging.getLogger("sqlglot").level == logging.WARNING  # restored after parsing


def test_quieting_nests_and_keeps_a_higher_level() -> None:
    logger = logging.getLogger("sqlglot")
    level = logger.level
    try:
        logger.setLevel(logging.CRITICAL)
        with sql_module._quiet_sqlglot:
            with sql_module._quiet_sqlglot:
                assert logger.level == logging.CRITICAL
            assert logger.level == logging.CRITICAL
        logger.setLevel(logging.NOTSET)
        with sql_module._quiet_sqlglot:
            with sql_module._quiet_sqlglot:
                assert logger.level == logging.ERROR
            assert logger.level == logging.ERROR  # the inner exit does not restore too early
        assert logger.level == logging.NOTSET
    finally:
        logger.setLevel(level)


def test_docstring_examples() -> None:
    failures, _ = doctest.testmod(sql_module)
    assert failures == 0


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="SELECT FROMWHERE;'\"`-/*\n ()=,.1abt", max_size=80))
def test_parsing_never_raises(text: str) -> None:
    statements, findings = parse_statements(text, "hive", file=FILE, line=5)
    line_count = text.count("\n") + 1
    for statement in statements:
        assert 5 <= statement.line <= 5 + line_count
        assert statement.parsed or any(f.code == "E010" for f in findings)
        analyze_statement(statement)
    for finding in findings:
        assert finding.code == "E010"
        assert finding.line >= 5


# ------------------------------------------------------------------------------ one parse, one walk

_TREES = [
    ("INSERT INTO db.t SELECT o.k, SUM(p.v) AS v FROM db.o AS o JOIN db.p AS p ON o.k = p.k GROUP BY o.k", "spark"),
    (
        "WITH c AS (SELECT k, v FROM db.s) INSERT OVERWRITE TABLE db.t SELECT c.k, u.v FROM c JOIN db.u u ON c.k = u.k",
        "hive",
    ),
    # the first attempt cannot resolve `k` (no schema), nor can the second
    ("DELETE FROM db.t WHERE EXISTS (SELECT 1 FROM db.s WHERE k = t.k)", "postgres"),
    ("SELECT a FROM db.s JOIN db.u ON s.k = u.k WHERE x IN (SELECT x FROM db.v WHERE y = s.y)", "duckdb"),
    # the first attempt fails on the HAVING alias, the second succeeds: every column is qualified
    ("SELECT t.a AS x, SUM(t.b) AS y FROM db.t AS t JOIN db.u AS u ON t.k = u.k GROUP BY t.a HAVING x > 1", "spark"),
    ("SELECT t.a AS x FROM db.t AS t JOIN db.u AS u ON t.k = u.k QUALIFY x > 1", "snowflake"),
    ("MERGE INTO db.t USING (SELECT k, v FROM db.s) s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v", "databricks"),
    ("SELECT k, ROW_NUMBER() OVER (PARTITION BY k ORDER BY ts DESC) AS rn FROM `p.d.s` QUALIFY rn = 1", "bigquery"),
    ("WITH Foo AS (SELECT 1 AS x) INSERT INTO db.t SELECT * FROM foo UNION ALL SELECT * FROM db.s", "postgres"),
]


@pytest.mark.parametrize(("sql", "dialect"), _TREES)
def test_qualified_as_the_attempts(sql: str, dialect: str) -> None:
    """`_qualified` shares the steps of the two qualify attempts: the same tree as trying them in turn."""
    tree = sqlglot.parse_one(sql, read=dialect)
    fast, reference = sql_module._qualified(tree, dialect), sql_module._qualified_by_attempts(tree, dialect)
    assert (fast is tree, fast.sql(dialect=dialect), fast) == (
        reference is tree,
        reference.sql(dialect=dialect),
        reference,
    )
    assert tree == sqlglot.parse_one(sql, read=dialect)  # the written tree is left alone


# Statements whose facts depend on qualifying (join keys through USING or unqualified columns, CTEs
# referenced in another case or quoted), and some that only look as if they did
_QUALIFY_CASES = [
    ("SELECT * FROM a LEFT JOIN b ON a.k = b.k FULL OUTER JOIN d USING (k3)", "postgres"),
    (
        "WITH x AS (SELECT id, v FROM db.s), y AS (SELECT rid, w FROM db.u) SELECT v, w FROM x JOIN y ON id = rid",
        "spark",
    ),
    ("WITH x AS (SELECT id, v FROM db.s), y AS (SELECT rid FROM db.u) SELECT v FROM x, y WHERE id = rid", "trino"),
    (
        "SELECT o.v FROM db.o AS o JOIN db.c AS c ON o.k = c.k "
        "WHERE v > 1 AND EXISTS (SELECT 1 FROM db.r WHERE r.k = o.k)",
        "hive",
    ),
    (
        "SELECT o.v FROM db.o AS o WHERE o.k IN (SELECT k FROM db.r WHERE flag) AND o.d IN (SELECT d FROM db.s)",
        "bigquery",
    ),
    ("SELECT o.v FROM db.o AS O WHERE EXISTS (SELECT 1 FROM db.r WHERE R.k = o.k)", "hive"),
    ("WITH Foo AS (SELECT 1 AS k) SELECT f.k FROM foo AS f JOIN db.t AS t ON f.k = t.k", "snowflake"),
    ("WITH foo AS (SELECT 1 AS k) SELECT * FROM FOO JOIN db.t ON FOO.k = t.k", "snowflake"),
    ('WITH "Foo" AS (SELECT 1 AS k) SELECT f.k FROM "Foo" AS f JOIN db.t AS t ON f.k = t.k', "postgres"),
    ('WITH Foo AS (SELECT 1 AS k) SELECT * FROM "Foo" UNION ALL SELECT * FROM foo', "postgres"),
    ("WITH a AS (SELECT * FROM db.x), b AS (SELECT * FROM a) SELECT * FROM b JOIN A ON b.k = A.k", "trino"),
    (
        "MERGE INTO db.t USING (WITH c AS (SELECT * FROM db.s) SELECT * FROM C) s ON t.k = s.k "
        "WHEN MATCHED THEN DELETE",
        "databricks",
    ),
    ("SELECT * FROM db.t t1 JOIN db.t t2 ON t1.k = t2.k JOIN (SELECT * FROM db.u) ON t2.k = u.k", "duckdb"),
    ("UPDATE db.t SET v = s.v FROM db.s AS s JOIN db.u AS u ON s.k = u.k WHERE t.k = s.k", "postgres"),
]


@pytest.mark.parametrize(("sql", "dialect"), [*_TREES, *_QUALIFY_CASES])
def test_facts_as_when_every_statement_is_qualified(sql: str, dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement is qualified only as far as its facts can depend on it (names, then columns);
    every fact is the same as when all of `qualify` runs on every statement."""
    statement = parse_statements(sql, dialect, file=FILE, line=1)[0][0]
    sql_module._analyze_text.cache_clear()
    analysis = analyze_statement(statement)
    monkeypatch.setattr(sql_module, "_join_keys_need_columns", lambda _nodes: True)
    sql_module._analyze_text.cache_clear()
    assert analysis == analyze_statement(statement)
    sql_module._analyze_text.cache_clear()


_SQL_CASES = [
    (case["sql"], case["dialect"])
    for case in (param.values[0] for param in CASES)
    if "dialect" in case and "candidates" not in case and "statements" not in case["expect"]
]


@pytest.mark.parametrize(("sql", "dialect"), [*_TREES, *_QUALIFY_CASES, *_SQL_CASES])
def test_facts_as_when_scopes_are_always_built(sql: str, dialect: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A statement whose scopes cannot change its facts is analysed without them; every fact is
    the same as when sqlglot's scopes are built for every statement."""
    statements, _ = parse_statements(sql, dialect, file=FILE, line=1)
    sql_module._analyze_text.cache_clear()
    analyses = [analyze_statement(statement) for statement in statements]
    monkeypatch.setattr(sql_module, "_scopes_can_change_facts", lambda *_args: True)
    sql_module._analyze_text.cache_clear()
    assert analyses == [analyze_statement(statement) for statement in statements]
    sql_module._analyze_text.cache_clear()


@pytest.mark.parametrize(
    "case",
    [param for param in CASES if "scopes" in param.values[0]],
)
def test_scopes_are_built_only_where_they_can_change_a_fact(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[bool] = []
    decide = sql_module._scopes_can_change_facts

    def recorded(*args: Any) -> bool:
        built.append(decide(*args))
        return built[-1]

    monkeypatch.setattr(sql_module, "_scopes_can_change_facts", recorded)
    sql_module._analyze_text.cache_clear()
    _analysis_of(case)
    sql_module._analyze_text.cache_clear()
    assert built == [case["scopes"]]


@pytest.mark.parametrize(("sql", "dialect"), _TREES)
def test_nodes_find_as_sqlglot(sql: str, dialect: str) -> None:
    """One walk answers each find / find_all with sqlglot's nodes, in sqlglot's order."""
    tree = sqlglot.parse_one(sql, read=dialect)
    nodes = sql_module._Nodes(tree)
    questions = [(kind,) for kind in sql_module._INDEXED_TYPES] + [(sqlglot.exp.Unnest, sqlglot.exp.Explode)]
    questions.append((sqlglot.exp.Where, sqlglot.exp.Join, sqlglot.exp.Merge, sqlglot.exp.Insert))
    for types in questions:
        for bfs in (True, False):
            assert [id(n) for n in nodes.find_all(*types, bfs=bfs)] == [id(n) for n in tree.find_all(*types, bfs=bfs)]
            assert nodes.find(*types, bfs=bfs) is tree.find(*types, bfs=bfs)


_PROJECTION_CASES = [
    ('SELECT o.k, k AS k2, (o.v), "K", UPPER(o.s) AS u, o.* FROM db.o AS o GROUP BY 1', "postgres"),
    ("SELECT a.x(+) AS j, x, b.x, SUM(y) FROM a, b WHERE x(+) = b.x GROUP BY x, b.x", "oracle"),
    ("SELECT `K`, t.k, DATE(t.ts) AS d, t.k + 1 FROM p.d.t AS t GROUP BY `K`, DATE(ts)", "bigquery"),
    ("SELECT c.db.t.k, t.k, k, (k), COUNT(*) FROM c.db.t GROUP BY k", "trino"),
    ("SELECT s.id, ROW_NUMBER() OVER (PARTITION BY s.id, s.ts ORDER BY s.ts) AS rn FROM s", "spark"),
]


@pytest.mark.parametrize(("sql", "dialect"), _PROJECTION_CASES)
def test_same_projection_as_comparing_unqualified_copies(sql: str, dialect: str) -> None:
    """Columns compared by name find what comparing unqualified copies finds, for every column,
    GROUP BY key and projection of the statement asked of every one of its SELECTs."""
    tree = sqlglot.parse_one(sql, read=dialect)
    items = [*tree.find_all(sqlglot.exp.Column), *tree.find_all(sqlglot.exp.Paren)]
    items.extend(key for group in tree.find_all(sqlglot.exp.Group) for key in group.expressions)
    for select in tree.find_all(sqlglot.exp.Select):
        projections = select.expressions
        items.extend(projection.unalias() for projection in projections)
        before = tree.sql(dialect)
        for item in items:
            wanted = sql_module._unqualified(item)
            expected = next((p for p in projections if sql_module._unqualified(p.unalias()) == wanted), None)
            assert sql_module._SameProjection(projections)(item) is expected, item.sql(dialect)
        assert tree.sql(dialect) == before  # nothing of the tree moved


def test_a_statement_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The analysis takes the tree the parse made; a single statement is tokenized once."""
    sql_module._analyze_text.cache_clear()
    real_tokenize = sqlglot.dialects.dialect.Dialect.tokenize
    tokenized: list[str] = []

    def tokenize(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        tokenized.append(sql)
        return real_tokenize(self, sql, *args, **kwargs)

    def no_second_parse(*_args: object) -> object:
        raise AssertionError("parsed twice")

    monkeypatch.setattr(sqlglot.dialects.dialect.Dialect, "tokenize", tokenize)
    monkeypatch.setattr(sql_module, "_parse", no_second_parse)
    text = "\n  INSERT INTO db.t SELECT k, COUNT(*) AS n FROM db.s GROUP BY k ;\n"
    statements, findings = parse_statements(text, "spark", file=FILE, line=1)
    analysis = analyze_statement(statements[0])
    sql_module._analyze_text.cache_clear()
    assert findings == ()
    assert (statements[0].sql, statements[0].line) == (
        "INSERT INTO db.t SELECT k, COUNT(*) AS n FROM db.s GROUP BY k",
        2,
    )
    assert (analysis.kind, analysis.reads, analysis.group_by) == ("insert", ("db.s",), ("k",))
    assert tokenized == [text.strip()]


def test_statements_of_one_text_are_tokenized_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text of several statements is tokenized whole, and each statement parsed from its slice."""
    real_tokenize = sqlglot.dialects.dialect.Dialect.tokenize
    tokenized: list[str] = []

    def tokenize(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        tokenized.append(sql)
        return real_tokenize(self, sql, *args, **kwargs)

    monkeypatch.setattr(sqlglot.dialects.dialect.Dialect, "tokenize", tokenize)
    text = "DELETE FROM db.t WHERE dt = '2024-01-01';\n-- reload\nINSERT INTO db.t\n  SELECT * FROM db.s;\n"
    statements, findings = parse_statements(text, "spark", file=FILE, line=1)
    assert findings == ()
    assert [(s.kind, s.line) for s in statements] == [("delete", 1), ("insert", 2)]
    assert tokenized == [text]


def _token_facts(tokens: Any) -> list[tuple[object, ...]]:
    return [(t.token_type, t.text, t.line, t.col, t.start, t.end, tuple(t.comments)) for t in tokens]


def _assert_split_tokens_are_their_own(text: str, dialect: str) -> None:
    sql_dialect = sql_module._dialect(dialect)
    assert sql_dialect is not None
    try:
        chunks = sql_module._split_statements(text, sql_dialect)
    except sqlglot.errors.SqlglotError:
        return
    for chunk in chunks:
        if chunk.tokens is None:
            continue
        assert _token_facts(chunk.tokens) == _token_facts(sql_dialect.tokenize(chunk.sql)), chunk.sql


SPLIT_CASES = [
    "SELECT 1; SELECT 2; -- two\nSELECT 3",
    "SELECT 1 -- one\n; SELECT 2 /* two */;\n/* three */ SELECT 3;",
    "SELECT 'a;b';\n\n   INSERT INTO t SELECT 'x\ny' AS s,\n  2 AS n FROM u;  ",
    "SELECT 1;\r\nSELECT 2;\r\n",
    "SELECT 1;\rSELECT 2;\r",
    "SELECT 1;\u00a0SELECT 2\u00a0;\x0bSELECT 3",
    "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql; SELECT f();",
    'SELECT `a;b` FROM `p.d.t`; SELECT "c" FROM d;',
    ";;  ; SELECT 1 ;; SELECT 2 ;",
    "SELECT 1; SELECT 2 -- note  \n\n",
    "SELECT 1;SELECT 2 # note \u00a0",
    "SELECT $1 FROM @stage;\nSELECT 2\n",
]


@pytest.mark.parametrize("dialect", ["spark", "postgres", "bigquery", "snowflake", "trino", "redshift", "hive"])
@pytest.mark.parametrize("text", SPLIT_CASES)
def test_split_tokens_are_what_tokenizing_the_statement_gives(text: str, dialect: str) -> None:
    _assert_split_tokens_are_their_own(text, dialect)


def test_split_tokens_of_every_sample_sql_file() -> None:
    files = sorted({*PROJECT.glob("samples/**/*.sql"), *PROJECT.glob("tests/data/**/*.sql")})
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        for dialect in ("spark", "postgres", "bigquery", "snowflake"):
            _assert_split_tokens_are_their_own(text, dialect)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="SELECT FROMWHERE;'\"`-/*\n\r\t ()=,.1e5abt$#@:?[]{}\\\u00a0", max_size=100))
def test_split_tokens_hold_for_any_text(text: str) -> None:
    """Statements parsed from the whole text's tokens are those parsed from their own text."""
    _assert_split_tokens_are_their_own(text, "postgres")
    reused = parse_statements(text, "postgres", file=FILE, line=3)
    original = sql_module._tokens_stand_alone
    try:
        sql_module._tokens_stand_alone = lambda *_args: False  # type: ignore[assignment]
        fresh = parse_statements(text, "postgres", file=FILE, line=3)
    finally:
        sql_module._tokens_stand_alone = original
    assert reused == fresh


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="SELECT FROMWHERE;'\"`-/*\n\t ()=,.1abt", max_size=80))
def test_one_statement_shortcut_splits_as_the_general_split(text: str) -> None:
    """Texts of one statement skip the general split; statements and findings are the same."""
    shortcut = parse_statements(text, "hive", file=FILE, line=5)
    original = sql_module._single_statement
    try:
        sql_module._single_statement = lambda _text, _dialect: None  # type: ignore[assignment]
        general = parse_statements(text, "hive", file=FILE, line=5)
    finally:
        sql_module._single_statement = original
    assert shortcut == general
