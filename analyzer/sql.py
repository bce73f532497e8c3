"""SQL statements of a job: split and parse them, then describe what each one does.

Two layers, both on sqlglot and both pure:

- **Parsing** (used by the scan): `parse_statements` splits a rendered text into statements with
  the dialect's own tokenizer, so a `;` inside a string or a comment never splits, and parses
  each one; a statement that does not parse becomes an unparsed `Statement` plus an E010 finding.
  `guess_dialect` tries candidate dialects when the job does not say which one it speaks.
- **Analysis** (used by the pattern rules and the classifier): `analyze_statement` turns one
  parsed statement into a `StatementAnalysis`, a frozen summary of the facts the rules need: what
  kind of statement it is, which tables it reads and writes, whether it overwrites, which
  partition predicates tie it to the run's date, and its stateful constructs (aggregates, joins,
  windows, dedup, MERGE keys).

Kinds are decided by table dispatch on the sqlglot node type (`_KIND_BY_TYPE`); statements that
sqlglot keeps as a generic `exp.Command` (OPTIMIZE, VACUUM, MSCK, CALL, ALTER ... CONCATENATE)
are read with the dialect's tokenizer and dispatched on the command name (`_COMMAND_READERS`).

    >>> statements, findings = parse_statements(
    ...     "INSERT OVERWRITE TABLE db.t SELECT k, COUNT(*) AS n FROM db.s GROUP BY k",
    ...     "hive", file="dags/x.sql", line=1)
    >>> analysis = analyze_statement(statements[0])
    >>> analysis.kind, analysis.target, analysis.reads, analysis.group_by
    ('insert_overwrite', 'db.t', ('db.s',), ('k',))
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ContextDecorator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from types import MappingProxyType, TracebackType
from typing import TypeVar

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.qualify_columns import qualify_columns, validate_qualify_columns
from sqlglot.optimizer.qualify_tables import qualify_tables
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import ensure_schema

from .errors import scan_error
from .models import Finding, Statement, fast_pickling

__all__ = [
    "KINDS",
    "SUBQUERY",
    "UNNEST",
    "DedupShape",
    "JoinInfo",
    "PartitionPredicate",
    "StatementAnalysis",
    "analyze_statement",
    "guess_dialect",
    "parse_statements",
    "parsed_tree",
    "statement_kind",
]

# Labels for join sides that are not a physical table.
#: A statement longer than this is not parsed (E008): sqlglot reads about 150 KB a second, and a
#: statement is parsed several times (dialect guess, parse, analysis), so one huge statement
#: would hold the scan for minutes.
MAX_STATEMENT_CHARS = 200_000
SUBQUERY = "<subquery>"  # a derived table, a CTE reference or a table function
UNNEST = "<unnest>"  # UNNEST / explode / FLATTEN / LATERAL VIEW

_T = TypeVar("_T")

_NO_MARKERS: Mapping[str, str] = MappingProxyType({})


class _QuietSqlglot(ContextDecorator):
    """Raise the `sqlglot` logger to ERROR while this module asks sqlglot for something.

    sqlglot logs a warning for every statement it keeps as a generic `Command` ("contains
    unsupported syntax. Falling back to parsing as a 'Command'"). OPTIMIZE, VACUUM, MSCK and CALL
    are exactly the statements a scan is looking for, and each becomes a finding of its own, so
    the warning would only clutter the user's terminal. Re-entrant (a depth count: the public
    functions call each other) and guarded by a lock; the level is restored on the way out.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._depth = 0
        self._saved_level = logging.NOTSET

    def __enter__(self) -> _QuietSqlglot:
        with self._lock:
            if self._depth == 0:
                self._saved_level = self._logger.level
                # never lower a level the user raised further (CRITICAL stays CRITICAL)
                self._logger.setLevel(max(self._saved_level, logging.ERROR))
            self._depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._logger.setLevel(self._saved_level)


_quiet_sqlglot = _QuietSqlglot(logging.getLogger("sqlglot"))


# --------------------------------------------------------------------------------------- models


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """One join of a query block.

    `left` / `right` are qualified table names, or `SUBQUERY` / `UNNEST`. `keys` are the equi-join
    column pairs, `(left column, right column)`. `has_time_bound` is set when the ON condition
    also bounds the two sides against each other with a range (an interval join).
    """

    kind: str  # inner | left | right | full | cross | semi | anti | lateral
    left: str
    right: str
    keys: tuple[tuple[str, str], ...] = ()
    has_time_bound: bool = False


@dataclass(frozen=True, slots=True)
class PartitionPredicate:
    """A WHERE / ON predicate that pins a column to the run's time (or to a rendered template).

    `values` are literal texts (`'2024-01-15'` -> `2024-01-15`) or, for computed values such as
    `CURRENT_DATE - INTERVAL '3' DAY`, the expression's SQL. `template_origins` are the template
    expressions (from the renderer's markers) that produced those literals.
    """

    column: str
    op: str  # = | between | >= | <= | > | < | in
    values: tuple[str, ...]
    template_origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DedupShape:
    """`ROW_NUMBER() OVER (PARTITION BY k ORDER BY t) ... = 1`: keep one row per key.

    `partition_by` names each key as written (a column by its name, an expression by its SQL);
    `partition_by_outputs` names it as the numbered query block outputs it: the alias of the
    projection that is the same expression (`LOWER(email) AS email` -> `email`), else the same
    as `partition_by`.
    """

    partition_by: tuple[str, ...]
    order_by: tuple[str, ...]
    descending: bool  # the first ORDER BY key is DESC: keep the latest row
    keep: str  # "rn=1" (filtered in an outer WHERE) | "qualify"
    partition_by_outputs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatementAnalysis:
    """What one statement does, as far as migration is concerned.

    Table names are as written, lower-cased and dot-joined (`db.t`, `project.dataset.t`).
    Name sets (`reads`, `writes`, `aggregates`, `window_functions`, `set_operations`,
    `merge_actions`) are sorted; sequences taken from the SQL keep their written order.
    Analyses are cached and shared: treat `spans` as read-only, like every model mapping.
    """

    kind: str
    target: str | None = None  # the table the statement writes or maintains
    reads: tuple[str, ...] = ()  # physical tables read, through CTEs and subqueries
    writes: tuple[str, ...] = ()
    # the statement replaces existing rows: INSERT OVERWRITE, REPLACE WHERE, CREATE OR REPLACE AS
    overwrite: bool = False
    # PARTITION (dt='x', h) -> (("dt", "x"), ("h", None)); None marks a dynamic partition column
    partition_spec: tuple[tuple[str, str | None], ...] = ()
    predicates: tuple[PartitionPredicate, ...] = ()
    aggregates: tuple[str, ...] = ()  # aggregate functions outside windows
    group_by: tuple[str, ...] = ()  # GROUP BY of the outermost aggregating query block
    # the same keys as output column names: the projection's alias for an expression or an
    # ordinal (GROUP BY DATE(ts) with DATE(ts) AS day -> day), the name for a column, else the SQL
    group_by_outputs: tuple[str, ...] = ()
    distinct: bool = False  # SELECT DISTINCT somewhere
    count_distinct: bool = False
    joins: tuple[JoinInfo, ...] = ()
    window_functions: tuple[str, ...] = ()
    window_partition_by: tuple[tuple[str, ...], ...] = ()  # one entry per distinct window
    dedup: DedupShape | None = None
    qualify: bool = False
    set_operations: tuple[str, ...] = ()  # union_all | union | intersect | except
    order_by: bool = False  # a query block sorts (window ORDER BY does not count)
    limit: bool = False  # a query block is limited (LIMIT / FETCH)
    unnest: bool = False  # UNNEST, explode, FLATTEN
    lateral: bool = False  # LATERAL VIEW, LATERAL subquery or function
    correlated_subquery: bool = False
    merge_keys: tuple[str, ...] = ()  # MERGE ON target.k = source.k (target side); ON CONFLICT keys
    merge_actions: tuple[str, ...] = ()  # update | delete | insert
    # the write puts the target's own rows back unchanged (self-compaction): INSERT OVERWRITE t
    # SELECT * FROM t, or SELECT of plain columns of t, restricted at most to the partitions it
    # overwrites (see `_copies_target`)
    select_star_from_target: bool = False
    # the top query block's WHERE drops rows by more than time / partition predicates
    filters_rows: bool = False
    # a DELETE with no condition (or `WHERE true`, `WHERE 1 = 1`): a TRUNCATE spelled as a DELETE
    empties_table: bool = False
    reads_target: bool = False
    # names of the top SELECT; the columns a MERGE sets or inserts; the SET columns of an UPDATE.
    # Empty when a star or an unnamed expression hides them.
    output_columns: tuple[str, ...] = ()
    procedure: str | None = None  # CALL cat.system.rewrite_data_files(...) -> rewrite_data_files
    command: str | None = None  # OPTIMIZE, VACUUM, ANALYZE, MSCK REPAIR, CONCATENATE, CALL, ...
    # feature name -> (line, col), 1-based, inside the statement text: evidence for findings
    spans: Mapping[str, tuple[int, int]] = field(default_factory=dict)


for _model in (JoinInfo, PartitionPredicate, DedupShape, StatementAnalysis):
    fast_pickling(_model)


# -------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Chunk:
    """One statement's text and where it starts in the text it was split from.

    `tokens` are the statement's own tokens when splitting already read them (`_single_statement`,
    or a slice of the whole text's tokens, `_tokens_stand_alone`), so that parsing does not
    tokenize the same text again.
    """

    sql: str
    line: int  # 1-based
    col: int  # 1-based
    tokens: tuple[Token, ...] | None = field(default=None, compare=False, repr=False)


def parse_statements(
    text: str, dialect: str, *, file: str, line: int, start_index: int = 0, deadline: float | None = None
) -> tuple[tuple[Statement, ...], tuple[Finding, ...]]:
    """Split `text` into statements and parse each one in `dialect`.

    Line 1 of `text` is line `line` of `file`. Statements holding only comments are dropped.
    A statement that does not parse is kept with `parsed=False` and reported as E010 at the
    place sqlglot stopped; statements sqlglot keeps as a generic `Command` count as parsed.
    A statement over `MAX_STATEMENT_CHARS`, and every statement once `deadline` (a
    `time.monotonic()` value) has passed, is kept unparsed with an E008 finding.
    """
    sql_dialect = _dialect(dialect)
    if sql_dialect is None:
        unknown = tuple(
            _statement(start_index + i, chunk, file, line, dialect, error=f"unknown dialect {dialect!r}")
            for i, chunk in enumerate(_split_or_whole(text, Dialect()))
        )
        return unknown, (scan_error("E032", f"unknown SQL dialect {dialect!r}", file, line),)

    try:
        chunks = _split_statements(text, sql_dialect)
    except SqlglotError as error:
        # The tokenizer gives up on the whole text (an unterminated string or comment), so there
        # are no statement boundaries to trust: keep the text as one unparsed statement.
        whole = tuple(
            _statement(start_index + i, chunk, file, line, dialect, error=str(error))
            for i, chunk in enumerate(_whole(text))
        )
        message = f"SQL does not tokenize as {dialect}: {_first_line(str(error))}"
        return whole, (scan_error("E010", message, file, line),)

    statements: list[Statement] = []
    findings: list[Finding] = []
    for offset, chunk in enumerate(chunks):
        index = start_index + offset
        too_big = len(chunk.sql) > MAX_STATEMENT_CHARS
        if too_big or (deadline is not None and time.monotonic() > deadline):
            reason = (
                f"is {len(chunk.sql):,} characters, over the {MAX_STATEMENT_CHARS:,} the scan parses"
                if too_big
                else "comes after the file's scan budget was spent"
            )
            statements.append(_statement(index, chunk, file, line, dialect, error=f"not parsed: it {reason}"))
            message = f"statement {offset + 1} {reason}; not parsed"
            findings.append(scan_error("E008", message, file, line + chunk.line - 1, chunk.col))
            continue
        try:
            expression = _parse_chunk(chunk, dialect)
        except ParseError as error:
            statements.append(_statement(index, chunk, file, line, dialect, error=_describe(error)))
            error_line, error_col = _error_position(error, chunk, line)
            message = f"statement {offset + 1} does not parse as {dialect}: {_describe(error)}"
            findings.append(scan_error("E010", message, file, error_line, error_col))
        except Exception as error:  # sqlglot can fail in other ways on odd input; the scan goes on
            statements.append(_statement(index, chunk, file, line, dialect, error=str(error)))
            message = f"statement {offset + 1} does not parse as {dialect}: {error}"
            findings.append(scan_error("E010", message, file, line + chunk.line - 1, chunk.col))
        else:
            kind = statement_kind(expression, dialect)
            statements.append(_statement(index, chunk, file, line, dialect, kind=kind))
            _PARSED_TREES.put(chunk.sql, dialect, expression)
    return tuple(statements), tuple(findings)


def guess_dialect(text: str, candidates: Sequence[str], deadline: float | None = None) -> tuple[str | None, float]:
    """The first candidate under which every statement parses without a Command fallback.

    The confidence is 1 / (number of candidates that parse the text): 1.0 when only one
    dialect fits, lower when several do and the order of `candidates` decided. No guess for a
    text over `MAX_STATEMENT_CHARS`, nor past `deadline`.

        >>> guess_dialect("SELECT * FROM `p.d.t` WHERE x = 1", ["postgres", "bigquery"])
        ('bigquery', 1.0)
    """
    if len(text) > MAX_STATEMENT_CHARS:
        return None, 0.0
    fitting = [
        name
        for name in dict.fromkeys(candidates)
        if (deadline is None or time.monotonic() <= deadline) and _parses_cleanly(text, name)
    ]
    if not fitting:
        return None, 0.0
    return fitting[0], 1.0 / len(fitting)


def _parses_cleanly(text: str, dialect: str) -> bool:
    sql_dialect = _dialect(dialect)
    if sql_dialect is None:
        return False
    try:
        chunks = _split_statements(text, sql_dialect)
        expressions = [_parse_chunk(chunk, dialect) for chunk in chunks]
    except Exception:  # any failure means "not this dialect"
        return False
    return bool(expressions) and not any(isinstance(e, exp.Command) for e in expressions)


@lru_cache(maxsize=64)
def _dialect(name: str) -> Dialect | None:
    """The dialect named `name` (settings included, `"mysql, normalization_strategy=..."`), built
    once per name: every statement asks for its dialect several times."""
    try:
        return Dialect.get_or_raise(name)
    except ValueError:
        return None


def _parse(sql: str, dialect: str) -> exp.Expr:
    with _quiet_sqlglot:
        return sqlglot.parse_one(sql, read=dialect, error_level=ErrorLevel.RAISE)


def _parse_chunk(chunk: _Chunk, dialect: str) -> exp.Expr:
    """`_parse(chunk.sql, dialect)`, from the chunk's tokens when splitting already read them."""
    sql_dialect = _dialect(dialect)
    if chunk.tokens is None or sql_dialect is None:
        return _parse(chunk.sql, dialect)
    with _quiet_sqlglot:  # what sqlglot.parse_one does after tokenizing
        result = sql_dialect.parser(error_level=ErrorLevel.RAISE).parse(list(chunk.tokens), chunk.sql)
    if not result or result[0] is None:
        raise ParseError(f"No expression was parsed from '{chunk.sql}'")
    return exp.Block(expressions=result) if len(result) > 1 else result[0]


class _ParsedTrees:
    """Trees `parse_statements` parsed, handed over to `analyze_statement`.

    A `Statement` carries its text, not its tree; without this handover the analysis would parse
    every statement a second time. Keyed by (text, dialect), so a statement whose text changed
    in between (a redacted secret) is parsed afresh. A tree is taken once; the oldest are dropped
    past `limit`, so memory stays bounded when no analysis follows a parse (DDL files). The trees
    are never changed: the analysis copies before it qualifies.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._trees: dict[tuple[str, str], exp.Expr] = {}
        self._lock = threading.Lock()

    def put(self, sql: str, dialect: str, tree: exp.Expr) -> None:
        with self._lock:
            self._trees.pop((sql, dialect), None)
            self._trees[(sql, dialect)] = tree
            while len(self._trees) > self._limit:
                del self._trees[next(iter(self._trees))]

    def take(self, sql: str, dialect: str) -> exp.Expr | None:
        with self._lock:
            return self._trees.pop((sql, dialect), None)

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()


# A DAG file's statements are analyzed right after the file is parsed; a file with more
# statements than this only costs their second parse.
_PARSED_TREES = _ParsedTrees(limit=256)


def forget_parsed_trees() -> None:
    """Drop the trees no analysis took (statements only parsed, or whose analysis was remembered
    from an equal text): once a file's scan is over, nothing will take them, and a tree dropped
    after its scanning process froze its kept objects (`pipeline.freeze_kept`) would never be freed."""
    _PARSED_TREES.clear()


def parsed_tree(statement: Statement, *, parse_again: bool = True) -> exp.Expr | None:
    """The tree of a parsed statement: the one `parse_statements` built (handed over once, so
    the caller may keep it but must not change it), else parsed again unless `parse_again` is
    false; None if it no longer parses. A caller that uses only some statements' trees takes the
    others too (`parse_again=False`), or they stay in memory until 256 newer ones push them out."""
    if not statement.parsed:
        return None
    tree = _PARSED_TREES.take(statement.sql, statement.dialect)
    if tree is not None or not parse_again:
        return tree
    try:
        return _parse(statement.sql, statement.dialect)
    except Exception:  # parsed once already; a different outcome now means no tree
        return None


# What the tokenizers skip between tokens (str.strip() would also drop characters they read)
_TOKENIZER_WHITESPACE = " \t\n\r"


def _split_statements(text: str, dialect: Dialect) -> tuple[_Chunk, ...]:
    """The text between top-level `;` tokens, stripped; a part holding only comments is dropped.

    Comments before a statement stay with it (a `-- daily revenue` header is part of it), so
    the statement starts at its first non-blank character.
    """
    single = _single_statement(text, dialect)
    if single is not None:
        return (single,)
    chunks: list[_Chunk] = []
    start = 0
    tokens = dialect.tokenize(text)
    # a lone CR makes the tokenizer count lines unlike `_line_col`; sqlglot looks ahead for a
    # `$tag$` string after a `$` and does not take back the lines it crossed: slices would differ
    sliceable = "\r" not in text and "$" not in text
    first = 0  # the current part's first token
    for index, token in enumerate([*tokens, None]):
        if token is not None and token.token_type is not TokenType.SEMICOLON:
            continue
        end = len(text) if token is None else token.start
        part = text[start:end]
        if index > first and part.strip():
            offset = start + len(part) - len(part.lstrip())
            line, col = _line_col(text, offset)
            sql = part.strip()
            own: tuple[Token, ...] | None = None
            if sliceable and _tokens_stand_alone(part, tokens[first - 1] if first else None, tokens[index - 1], token):
                own = _rebased(tokens[first:index], offset, line, col)
            chunks.append(_Chunk(sql, line, col, own))
        start = end + 1
        first = index + 1
    return tuple(chunks)


def _tokens_stand_alone(part: str, before: Token | None, last: Token, after: Token | None) -> bool:
    """Whether a statement's slice of the whole text's tokens is what tokenizing it alone gives
    (in a text with no lone CR and no `$`, see `_split_statements`).

    Not when a comment sits on a `;` around it (alone, it would attach to the statement's first
    or last token), or when stripping took a character the tokenizer reads or the end of a
    comment after the statement's last token (`-- note  ` keeps its spaces in the text).
    """
    return (
        not (before is not None and before.comments)
        and not (after is not None and after.comments)
        and part.strip() == part.strip(_TOKENIZER_WHITESPACE)
        and (not last.comments or part[len(part.rstrip()) :][:1] in {"", "\n"})
    )


def _rebased(tokens: Sequence[Token], offset: int, line: int, col: int) -> tuple[Token, ...]:
    """The tokens, moved to where they are in the statement starting at `offset` (`line`, `col`)
    of the text: positions, lines, and columns on its first line. They belong to this split alone."""
    for token in tokens:
        if token.line == line:
            token.col -= col - 1
        token.line -= line - 1
        token.start -= offset
        token.end -= offset
    return tuple(tokens)


def _single_statement(text: str, dialect: Dialect) -> _Chunk | None:
    """The text as one statement with its tokens, when it holds one statement, ended or not by
    a `;` (most SQL sources).

    The tokens of the stripped text, less that `;`, are then exactly the tokens parsing the
    statement reads, so the text is tokenized once. A comment after the last token would attach
    to the `;` here and to the token before it in the statement alone, so it takes the general
    split, as do a text that does not tokenize (the split reports it on the whole text) and one
    holding a `$` (whose tokens' lines can depend on the `;` after them, see `_split_statements`).
    """
    stripped = text.strip(_TOKENIZER_WHITESPACE)
    if not stripped or stripped != stripped.strip() or ";" in stripped[:-1] or "$" in stripped:
        return None
    try:
        tokens = dialect.tokenize(stripped)
    except SqlglotError:
        return None
    sql = stripped
    if tokens and tokens[-1].token_type is TokenType.SEMICOLON:
        end = tokens.pop()
        sql = stripped[: end.start].rstrip(_TOKENIZER_WHITESPACE)
        if end.comments or sql != sql.strip():
            return None
    if not tokens or any(token.token_type is TokenType.SEMICOLON for token in tokens):
        return None
    line, col = _line_col(text, len(text) - len(text.lstrip(_TOKENIZER_WHITESPACE)))
    return _Chunk(sql, line, col, tuple(tokens))


def _split_or_whole(text: str, dialect: Dialect) -> tuple[_Chunk, ...]:
    try:
        return _split_statements(text, dialect)
    except SqlglotError:
        return _whole(text)


def _whole(text: str) -> tuple[_Chunk, ...]:
    stripped = text.strip()
    if not stripped:
        return ()
    line, col = _line_col(text, text.index(stripped[0]))
    return (_Chunk(stripped, line, col),)


def _statement(
    index: int, chunk: _Chunk, file: str, line: int, dialect: str, *, kind: str = "", error: str = ""
) -> Statement:
    return Statement(
        index=index,
        sql=chunk.sql,
        file=file,
        line=line + chunk.line - 1,
        dialect=dialect,
        parsed=not error,
        kind=kind,
        error=error,
    )


def _describe(error: ParseError) -> str:
    """sqlglot's description of the first error, with the offending token shown as text."""
    if not error.errors or not error.errors[0].get("description"):
        return _first_line(str(error))
    description = _first_line(str(error.errors[0]["description"]))
    highlight = str(error.errors[0].get("highlight") or "")
    if not highlight:
        return description
    if "<Token " in description:  # "Expected table name but got <Token token_type: ...>"
        return f"{description.split('<Token ', 1)[0].rstrip()} {highlight!r}"
    return f"{description} near {highlight!r}"


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"


def _error_position(error: ParseError, chunk: _Chunk, first_line: int) -> tuple[int, int]:
    """The file position where sqlglot stopped, from the error's position in the statement."""
    details = error.errors[0] if error.errors else {}
    error_line, error_col = details.get("line"), details.get("col")
    if not isinstance(error_line, int) or not isinstance(error_col, int):
        return first_line + chunk.line - 1, chunk.col
    # sqlglot reports the column of the offending token's last character; point at its first
    highlight = str(details.get("highlight") or "")
    if highlight and "\n" not in highlight:
        error_col = max(error_col - len(highlight) + 1, 1)
    if error_line == 1:
        error_col += chunk.col - 1
    return first_line + chunk.line - 1 + error_line - 1, error_col


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


# ---------------------------------------------------------------------------------------- kinds

# Every kind `statement_kind` returns
KINDS: tuple[str, ...] = (
    "select",
    "insert",
    "insert_overwrite",
    "merge",
    "update",
    "delete",
    "create_table_as",
    "create_or_replace_table_as",
    "create_table",
    "create_view",
    "drop",
    "truncate",
    "alter",
    "optimize",
    "vacuum",
    "zorder",
    "call",
    "analyze",
    "msck_repair",
    "concatenate",
    "copy",
    "use",
    "set",
    "other",
)

_KindOf = Callable[[exp.Expr, str], str]


def _constant(kind: str) -> _KindOf:
    return lambda _expression, _dialect: kind


def _insert_kind(insert: exp.Expr, _dialect: str) -> str:
    return "insert_overwrite" if _insert_overwrites(insert) else "insert"


def _multitable_insert_kind(inserts: exp.Expr, dialect: str) -> str:
    kinds = {_insert_kind(insert, dialect) for insert in inserts.expressions}
    return "insert_overwrite" if "insert_overwrite" in kinds else "insert"


# (OR REPLACE, AS query) -> kind, for CREATE TABLE
_CREATE_TABLE_KINDS: dict[tuple[bool, bool], str] = {
    (False, True): "create_table_as",
    (True, True): "create_or_replace_table_as",
}


def _create_kind(create: exp.Expr, _dialect: str) -> str:
    object_kind = str(create.args.get("kind") or "").upper()
    if object_kind == "VIEW":
        return "create_view"
    if object_kind != "TABLE":
        return "other"  # SCHEMA, FUNCTION, STAGE, ...
    as_query = isinstance(create.expression, exp.Query)
    return _CREATE_TABLE_KINDS.get((bool(create.args.get("replace")), as_query), "create_table")


def _command_kind(command: exp.Expr, dialect: str) -> str:
    return _read_command(_command_text(command), dialect).kind


_KIND_BY_TYPE: dict[type[exp.Expr], _KindOf] = {
    exp.Query: _constant("select"),  # Select, Subquery, Union / Intersect / Except
    exp.Values: _constant("select"),  # a bare VALUES (1), (2) returns rows too
    exp.Insert: _insert_kind,
    exp.MultitableInserts: _multitable_insert_kind,  # Hive FROM s INSERT ... INSERT ...
    exp.Merge: _constant("merge"),
    exp.Update: _constant("update"),
    exp.Delete: _constant("delete"),
    exp.Create: _create_kind,
    exp.Drop: _constant("drop"),
    exp.TruncateTable: _constant("truncate"),
    exp.Alter: _constant("alter"),
    exp.Analyze: _constant("analyze"),
    exp.Copy: _constant("copy"),
    exp.LoadData: _constant("copy"),  # Hive LOAD DATA INPATH ... INTO TABLE
    exp.Use: _constant("use"),
    exp.Set: _constant("set"),
    exp.Command: _command_kind,
}


def statement_kind(expression: exp.Expr, dialect: str | None = None) -> str:
    """The statement's kind, by its sqlglot node type (its command name for a `Command`).

    `dialect` is only needed to read a `Command`'s text (identifier quoting differs).

        >>> statement_kind(sqlglot.parse_one("OPTIMIZE t ZORDER BY (c)", read="databricks"))
        'zorder'
    """
    for cls in type(expression).__mro__:
        kind_of = _KIND_BY_TYPE.get(cls)
        if kind_of is not None:
            return kind_of(expression, dialect or "")
    return "other"


def _insert_overwrites(insert: exp.Expr) -> bool:
    # Databricks `INSERT INTO t REPLACE WHERE cond SELECT ...` is a selective overwrite
    return bool(insert.args.get("overwrite") or insert.args.get("where"))


# ------------------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class _CommandText:
    """A statement sqlglot kept as a `Command`: its keyword and the tokens of the text after it."""

    sql: str  # the text after the command keyword
    base: int  # offset of `sql` in the statement text
    dialect: str
    name: str  # the command keyword, upper-case: OPTIMIZE, VACUUM, MSCK, ALTER, ...
    tokens: tuple[Token, ...]  # tokens of `sql`


@dataclass(frozen=True)
class _CommandInfo:
    kind: str
    command: str
    table: str | None = None
    table_offset: int | None = None  # where the table name starts in the command text
    writes_table: bool = True  # False when the command only reads the table (ANALYZE)
    procedure: str | None = None
    partition_spec: tuple[tuple[str, str | None], ...] = ()
    condition: exp.Expr | None = None  # OPTIMIZE ... WHERE, EXECUTE ... WHERE, CALL where => '...'
    keyword_offset: int = 0  # where the command keyword starts in the statement text


def _command_text(command: exp.Expr) -> str:
    """The command's SQL rebuilt from the node: sqlglot keeps the text after the keyword."""
    body = command.expression
    body_text = body.name if isinstance(body, exp.Literal) else str(body or "")
    return f"{command.this} {body_text}"


def _read_command(sql: str, dialect: str) -> _CommandInfo:
    """Kind, table and options of a command, read token by token in the dialect."""
    try:
        sql_dialect = Dialect.get_or_raise(dialect)
        head = sql_dialect.tokenize(sql)
        if not head:
            return _CommandInfo(kind="other", command="")
        base = head[0].end + 1
        # A leading command keyword (OPTIMIZE, VACUUM, CALL) makes the tokenizer keep the rest of
        # the statement as one string token, so the rest is tokenized on its own.
        tokens = tuple(sql_dialect.tokenize(sql[base:]))
    except (SqlglotError, ValueError):
        return _CommandInfo(kind="other", command=sql.split(maxsplit=1)[0].upper() if sql.strip() else "")
    # some tokenizers read a multi-word command as one keyword ("MSCK REPAIR")
    name = " ".join(head[0].text.upper().split())
    command = _CommandText(sql[base:], base, dialect, name, tokens)
    return replace(_read_command_body(command), keyword_offset=head[0].start)


def _read_command_body(command: _CommandText) -> _CommandInfo:
    reader = _COMMAND_READERS.get(command.name.split()[0])
    if reader is not None:
        return reader(command)
    shape = _SIMPLE_COMMANDS.get(command.name.split()[0], _OTHER_COMMAND)
    if shape.skip_words is None:
        return _CommandInfo(kind=shape.kind, command=command.name)
    table, offset, _ = _table_after(command, 0, shape.skip_words)
    return _CommandInfo(
        kind=shape.kind,
        command=command.name,
        table=table,
        table_offset=offset,
        writes_table=shape.writes_table,
    )


def _optimize_command(command: _CommandText) -> _CommandInfo:
    """Delta `OPTIMIZE t [WHERE ...] [ZORDER BY (...)]`, ClickHouse `OPTIMIZE TABLE t`."""
    table, offset, after = _table_after(command, 0, frozenset({"TABLE"}))
    zorder = _find_word(command.tokens, "ZORDER", after)
    where = _find_word(command.tokens, "WHERE", after)
    condition = _condition_between(command, where, zorder) if where is not None else None
    return _CommandInfo(
        kind="zorder" if zorder is not None else "optimize",
        command=command.name,
        table=table,
        table_offset=offset,
        condition=condition,
    )


# Words that may precede the table name of a VACUUM (Postgres, Redshift, Databricks)
_VACUUM_OPTIONS = frozenset(
    {"FULL", "FREEZE", "VERBOSE", "ANALYZE", "SORT", "DELETE", "ONLY", "REINDEX", "RECLUSTER", "TABLE"}
)


def _vacuum_command(command: _CommandText) -> _CommandInfo:
    table, offset, _ = _table_after(command, 0, _VACUUM_OPTIONS)
    return _CommandInfo(kind="vacuum", command=command.name, table=table, table_offset=offset)


def _msck_command(command: _CommandText) -> _CommandInfo:
    table, offset, _ = _table_after(command, 0, frozenset({"REPAIR", "TABLE"}))
    return _CommandInfo(kind="msck_repair", command="MSCK REPAIR", table=table, table_offset=offset)


# ALTER TABLE t <word> ...: the word that makes an ALTER a maintenance command -> kind
_ALTER_ACTION_KINDS: dict[str, str] = {
    "CONCATENATE": "concatenate",  # Hive: merge small files of a table or partition
    "RECLUSTER": "optimize",  # Snowflake manual reclustering
    "EXECUTE": "alter",  # Trino table procedures; refined by _EXECUTE_KINDS
}

# Trino `ALTER TABLE t EXECUTE <procedure>` -> kind
_EXECUTE_KINDS: dict[str, str] = {
    "optimize": "optimize",
    "optimize_manifests": "optimize",
    "expire_snapshots": "vacuum",
    "remove_orphan_files": "vacuum",
}


def _alter_command(command: _CommandText) -> _CommandInfo:
    """ALTER forms sqlglot does not model: Hive CONCATENATE, Trino EXECUTE, Snowflake RECLUSTER."""
    table, offset, after = _table_after(command, 0, frozenset({"TABLE"}))
    tokens = command.tokens
    action_at = next((i for i in range(after, len(tokens)) if tokens[i].text.upper() in _ALTER_ACTION_KINDS), None)
    if action_at is None:
        return _CommandInfo(kind="alter", command="ALTER", table=table, table_offset=offset)
    action = tokens[action_at].text.upper()
    kind = _ALTER_ACTION_KINDS[action]
    procedure = None
    condition = None
    if action == "EXECUTE" and action_at + 1 < len(tokens):
        procedure = tokens[action_at + 1].text.lower()
        kind = _EXECUTE_KINDS.get(procedure, "alter")
        where = _find_word(tokens, "WHERE", action_at)
        condition = _condition_between(command, where, None) if where is not None else None
    partition_at = _find_word(tokens, "PARTITION", after, stop=action_at)
    spec = _partition_spec_at(command, partition_at + 1) if partition_at is not None else ()
    return _CommandInfo(
        kind=kind,
        command=action,
        table=table,
        table_offset=offset,
        procedure=procedure,
        partition_spec=spec,
        condition=condition,
    )


# Procedures known to take the table they maintain as a (positional) argument
_TABLE_PROCEDURES = frozenset(
    {
        "rewrite_data_files",
        "rewrite_manifests",
        "rewrite_position_delete_files",
        "expire_snapshots",
        "remove_orphan_files",
        "rollback_to_snapshot",
        "rollback_to_timestamp",
        "set_current_snapshot",
        "cherrypick_snapshot",
        "migrate",
        "add_files",
        "register_table",
        "unregister_table",
        "sync_partition_metadata",
        "drop_stats",
        "compact",
    }
)

# How many leading string arguments name the table: Trino procedures take (schema, table),
# Spark / Iceberg ones take 'db.table'
_POSITIONAL_TABLE_ARGUMENTS: dict[str, int] = {"trino": 2, "presto": 2}

_TABLE_KEYWORDS = ("table", "table_name")
_SCHEMA_KEYWORDS = ("schema", "schema_name")


def _call_command(command: _CommandText) -> _CommandInfo:
    """`CALL cat.system.rewrite_data_files(table => 'db.t')`: the procedure and its table."""
    if not command.tokens:
        return _CommandInfo(kind="call", command="CALL")
    body = command.sql[command.tokens[0].start :]
    try:
        with _quiet_sqlglot:
            call: exp.Expr = exp.maybe_parse(body, dialect=command.dialect)
    except SqlglotError:
        return _CommandInfo(kind="call", command="CALL")
    function = call.expression if isinstance(call, exp.Dot) else call
    if not isinstance(function, exp.Func):
        return _CommandInfo(kind="call", command="CALL")
    # BigQuery keeps `p.d.proc` as one quoted name; the procedure is its last part
    procedure = _function_name(function).rsplit(".", 1)[-1]
    arguments = list(function.iter_expressions())
    keywords = {
        argument.this.name.lower(): argument.expression for argument in arguments if isinstance(argument, exp.Kwarg)
    }
    table = _procedure_table(procedure, arguments, keywords, command.dialect)
    where = keywords.get("where")
    condition = _parse_condition(where.name, command.dialect) if isinstance(where, exp.Literal) else None
    return _CommandInfo(
        kind="call",
        command="CALL",
        table=table,
        table_offset=None,
        writes_table=table is not None,
        procedure=procedure,
        condition=condition,
    )


def _procedure_table(
    procedure: str, arguments: Sequence[exp.Expr], keywords: Mapping[str, exp.Expr], dialect: str
) -> str | None:
    def text(node: exp.Expr | None) -> str | None:
        return node.name if isinstance(node, exp.Literal) and node.is_string else None

    table = next((text(keywords.get(key)) for key in _TABLE_KEYWORDS if text(keywords.get(key))), None)
    schema = next((text(keywords.get(key)) for key in _SCHEMA_KEYWORDS if text(keywords.get(key))), None)
    if table is None and procedure in _TABLE_PROCEDURES:
        count = _POSITIONAL_TABLE_ARGUMENTS.get(dialect, 1)
        leading = [text(argument) for argument in arguments[:count]]
        if leading and all(leading):
            table = ".".join(name for name in leading if name)
    if table is None:
        return None
    return _name_from_text(f"{schema}.{table}" if schema else table, dialect)


# Command name -> reader, for commands whose shape decides the kind
_COMMAND_READERS: dict[str, Callable[[_CommandText], _CommandInfo]] = {
    "OPTIMIZE": _optimize_command,
    "VACUUM": _vacuum_command,
    "MSCK": _msck_command,
    "CALL": _call_command,
    "ALTER": _alter_command,
}


@dataclass(frozen=True)
class _SimpleCommand:
    kind: str
    skip_words: frozenset[str] | None  # words that may precede the table name; None: no table
    writes_table: bool = True


# Command name -> shape, for statements most dialects model but some keep as a Command
_SIMPLE_COMMANDS: dict[str, _SimpleCommand] = {
    "ANALYZE": _SimpleCommand("analyze", frozenset({"TABLE", "VERBOSE", "COMPRESSION"}), writes_table=False),
    "TRUNCATE": _SimpleCommand("truncate", frozenset({"TABLE"})),
    "DROP": _SimpleCommand("drop", frozenset({"TABLE", "VIEW", "MATERIALIZED", "IF", "EXISTS"})),
    "REFRESH": _SimpleCommand("other", frozenset({"TABLE", "MATERIALIZED", "VIEW"})),
    "COPY": _SimpleCommand("copy", frozenset({"INTO"})),
    "USE": _SimpleCommand("use", None),
    "SET": _SimpleCommand("set", None),
}
_OTHER_COMMAND = _SimpleCommand("other", None)

# Token types that can never start a table name
_NOT_A_NAME = frozenset(
    {
        TokenType.L_PAREN,
        TokenType.R_PAREN,
        TokenType.COMMA,
        TokenType.DOT,
        TokenType.STRING,
        TokenType.NUMBER,
        TokenType.EQ,
        TokenType.SEMICOLON,
    }
)


def _table_after(command: _CommandText, start: int, skip_words: frozenset[str]) -> tuple[str | None, int | None, int]:
    """Read `[options] name(.name)*` from token `start`: (table, its offset, next token index).

    Option words and parenthesized option lists (`VACUUM (VERBOSE) t`) are skipped.
    """
    tokens = command.tokens
    i = start
    while i < len(tokens):
        if tokens[i].token_type is TokenType.L_PAREN:
            i = _after_parens(tokens, i)
        elif tokens[i].text.upper() in skip_words:
            i += 1
        else:
            break
    if i >= len(tokens) or tokens[i].token_type in _NOT_A_NAME:
        return None, None, i
    first = last = i
    while last + 2 < len(tokens) and tokens[last + 1].token_type is TokenType.DOT:
        last += 2
    text = command.sql[tokens[first].start : tokens[last].end + 1]
    return _name_from_text(text, command.dialect), command.base + tokens[first].start, last + 1


def _after_parens(tokens: Sequence[Token], open_at: int) -> int:
    """Index of the token after the parenthesis group opened at `open_at`."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].token_type is TokenType.L_PAREN:
            depth += 1
        elif tokens[i].token_type is TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return i + 1
    return len(tokens)


def _find_word(tokens: Sequence[Token], word: str, start: int, stop: int | None = None) -> int | None:
    """Index of the first top-level (not parenthesized) token spelled `word`."""
    depth = 0
    for i in range(start, len(tokens) if stop is None else stop):
        token_type = tokens[i].token_type
        depth += (token_type is TokenType.L_PAREN) - (token_type is TokenType.R_PAREN)
        if depth == 0 and tokens[i].text.upper() == word:
            return i
    return None


def _condition_between(command: _CommandText, where_at: int, stop_at: int | None) -> exp.Expr | None:
    tokens = command.tokens
    if where_at + 1 >= len(tokens):
        return None
    end = tokens[stop_at].start if stop_at is not None else len(command.sql)
    return _parse_condition(command.sql[tokens[where_at + 1].start : end], command.dialect)


def _parse_condition(text: str, dialect: str) -> exp.Expr | None:
    try:
        with _quiet_sqlglot:
            return sqlglot.parse_one(text, read=dialect, into=exp.Condition)
    except Exception:  # a condition we cannot read only costs us its predicates
        return None


def _partition_spec_at(command: _CommandText, open_at: int) -> tuple[tuple[str, str | None], ...]:
    """`PARTITION (dt='x', h)` read from the tokens, parsed as an SQL tuple."""
    tokens = command.tokens
    if open_at >= len(tokens) or tokens[open_at].token_type is not TokenType.L_PAREN:
        return ()
    close_at = _after_parens(tokens, open_at) - 1
    text = command.sql[tokens[open_at].start : tokens[close_at].end + 1]
    try:
        with _quiet_sqlglot:
            group: exp.Expr = exp.maybe_parse(text, dialect=command.dialect)
    except SqlglotError:
        return ()
    items = group.expressions if isinstance(group, exp.Tuple) else [group.unnest()]
    return _partition_pairs(items)


def _name_from_text(text: str, dialect: str) -> str | None:
    """A table name written in SQL (`db.t`, `` `p.d.t` ``) in its normal form."""
    try:
        with _quiet_sqlglot:
            return _table_name(exp.to_table(text, dialect=dialect))
    except SqlglotError:
        return text.strip().lower() or None


# ------------------------------------------------------------------------------------- analysis


def analyze_statement(statement: Statement, markers: Mapping[str, str] = _NO_MARKERS) -> StatementAnalysis:
    """Describe one statement for the rules; an unparsed statement yields only its kind.

    `markers` map a rendered value to the template expression that produced it
    (`{"2024-01-12": "macros.ds_add(ds, -3)"}`), so predicates can be tied to the template.
    Never raises: a part sqlglot cannot resolve is left empty.
    """
    if not statement.parsed:
        return StatementAnalysis(kind=statement.kind or "other")
    return _analyze_text(statement.sql, statement.dialect, tuple(sorted(markers.items())))


# The same statement in several jobs (a DAG factory's copies) is analyzed once while recent. Kept
# small: each entry holds the statement's text, and 4,096 of them grew each scan worker by ~45 MB.
@lru_cache(maxsize=256)
def _analyze_text(sql: str, dialect: str, marker_items: tuple[tuple[str, str], ...]) -> StatementAnalysis:
    expression = _PARSED_TREES.take(sql, dialect)
    if expression is None:
        try:
            expression = _parse(sql, dialect)
        except Exception:  # the statement was parsed once; a different outcome now means no facts
            return StatementAnalysis(kind="other")
    markers = dict(marker_items)
    try:
        return _analyze(expression, sql, dialect, markers)
    except Exception:  # an AST shape nobody foresaw must not stop the scan: keep the basic facts
        return _basic_analysis(expression, dialect)


@dataclass(frozen=True)
class _Context:
    """What the feature extractors share about one statement."""

    sql: str
    dialect: str
    markers: Mapping[str, str]
    cte_names: frozenset[str]


# The node types the analysis looks for in a whole tree; `_Nodes` finds them in one walk
_INDEXED_TYPES: tuple[type[exp.Expr], ...] = (
    exp.CTE,
    exp.Query,  # Select, Subquery, SetOperation
    exp.Select,
    exp.SetOperation,
    exp.AggFunc,
    exp.Count,
    exp.Window,
    exp.Where,
    exp.Qualify,
    exp.Join,
    exp.Merge,
    exp.Insert,
    exp.Unnest,
    exp.Explode,
    exp.Lateral,
    exp.Table,
    exp.TableAlias,
)
# node class -> the indexed types it is an instance of (filled as classes show up)
_INDEXED_AS: dict[type[exp.Expr], tuple[type[exp.Expr], ...]] = {}

_E = TypeVar("_E", bound=exp.Expr)


class _Nodes:
    """The nodes of one tree by type, from a single walk: `find_all` and `find` of sqlglot
    without walking the whole tree for every question.

    They answer as sqlglot's methods do, same nodes in the same order (breadth-first by
    default, depth-first with `bfs=False`), for the types of `_INDEXED_TYPES`. The walk is
    depth-first and records each node's depth: the breadth-first order is the depth-first
    order sorted (stably) by depth, as both visit the children of a node in argument order.
    """

    def __init__(self, root: exp.Expr) -> None:
        self.root = root
        found: dict[type[exp.Expr], list[tuple[int, int, exp.Expr]]] = {kind: [] for kind in _INDEXED_TYPES}
        stack: list[tuple[exp.Expr, int]] = [(root, 0)]
        push = stack.append
        visited = 0
        while stack:
            node, depth = stack.pop()
            indexed_as = _INDEXED_AS.get(type(node))
            if indexed_as is None:
                indexed_as = _INDEXED_AS[type(node)] = tuple(k for k in _INDEXED_TYPES if isinstance(node, k))
            for kind in indexed_as:
                found[kind].append((depth, visited, node))
            visited += 1
            depth += 1
            # the children in reverse, so that they pop in order (`iter_expressions(reverse=True)`,
            # inlined: this loop runs for every node of every statement)
            for value in reversed(node.args.values()):
                if isinstance(value, list):
                    for child in reversed(value):
                        if isinstance(child, exp.Expr):
                            push((child, depth))
                elif isinstance(value, exp.Expr):
                    push((value, depth))
        self._found = found
        self._answers: dict[tuple[tuple[type[exp.Expr], ...], bool], list[exp.Expr]] = {}

    def find_all(self, *types: type[_E], bfs: bool = True) -> list[_E]:
        """`root.find_all(*types, bfs=bfs)` as a list."""
        answer = self._answers.get((types, bfs))
        if answer is None:
            entries = {visited: (depth, visited, node) for kind in types for depth, visited, node in self._found[kind]}
            order = sorted(entries.values(), key=_breadth_first if bfs else _depth_first)
            answer = self._answers[(types, bfs)] = [node for _, _, node in order]
        return answer  # type: ignore[return-value]  # every node is an instance of one of `types`

    def find(self, *types: type[_E], bfs: bool = True) -> _E | None:
        """`root.find(*types, bfs=bfs)`."""
        found = self.find_all(*types, bfs=bfs)
        return found[0] if found else None


def _breadth_first(entry: tuple[int, int, exp.Expr]) -> tuple[int, int]:
    return entry[0], entry[1]


def _depth_first(entry: tuple[int, int, exp.Expr]) -> int:
    return entry[1]


def _analyze(expression: exp.Expr, sql: str, dialect: str, markers: Mapping[str, str]) -> StatementAnalysis:
    if isinstance(expression, exp.Command):
        return _analyze_command(_read_command(sql, dialect), sql, dialect, markers)

    kind = statement_kind(expression, dialect)
    nodes = _Nodes(expression)
    context = _Context(sql, dialect, markers, _cte_names(nodes.find_all(exp.CTE)))
    # Tables and scopes are resolved on a qualified copy; the written tree keeps the names,
    # aliases and positions that the other facts report.
    resolved = nodes
    if _join_keys_need_columns(nodes):
        resolved = _Nodes(_qualified(expression, dialect))
    elif _names_need_normalizing(nodes):
        resolved = _Nodes(_qualified(expression, dialect, columns=False))
    targets = _targets(resolved.root)
    target_names = _unique(name for name in map(_table_name, targets) if name)
    if _scopes_can_change_facts(resolved, targets, kind):
        scopes = _scopes(resolved, kind)
        reads = () if kind in _NO_READ_KINDS else _reads(resolved, targets, scopes, context, kind=kind)
        correlated_subquery = _has_correlated_subquery(scopes)
    else:
        reads = () if kind in _NO_READ_KINDS else _reads_without_scopes(resolved, targets)
        correlated_subquery = False
    target = target_names[0] if target_names else None
    query = _top_query(expression)
    partition_spec = _statement_partition_spec(expression)
    predicates, first_predicate = _predicates(nodes, context)
    dedup, dedup_node = _dedup(nodes, context)
    merge_keys, merge_actions = _upsert(expression)
    windows = _windows(nodes)

    analysis = StatementAnalysis(
        kind=kind,
        target=target,
        reads=reads,
        writes=tuple(sorted(target_names)) if kind in _WRITING_KINDS else (),
        overwrite=_overwrites(expression),
        partition_spec=partition_spec,
        predicates=predicates,
        aggregates=_sorted_names(_function_name(node) for node in _aggregates(nodes)),
        group_by=_group_by(nodes, context),
        group_by_outputs=_group_by_outputs(nodes, context),
        distinct=any(select.args.get("distinct") for select in nodes.find_all(exp.Select)),
        count_distinct=any(isinstance(c.this, exp.Distinct) for c in nodes.find_all(exp.Count)),
        joins=_joins(resolved, context),
        window_functions=_sorted_names(_function_name(w.this) for w in windows),
        window_partition_by=_unique(
            tuple(_expression_name(e, context) for e in w.args.get("partition_by") or ()) for w in windows
        ),
        dedup=dedup,
        qualify=nodes.find(exp.Qualify) is not None,
        set_operations=_sorted_names(_set_operation_name(node) for node in nodes.find_all(exp.SetOperation)),
        order_by=any(q.args.get("order") for q in nodes.find_all(exp.Query)),
        limit=any(q.args.get("limit") or q.args.get("fetch") for q in nodes.find_all(exp.Query)),
        unnest=nodes.find(exp.Unnest, exp.Explode) is not None,
        lateral=nodes.find(exp.Lateral) is not None,
        correlated_subquery=correlated_subquery,
        merge_keys=merge_keys,
        merge_actions=merge_actions,
        select_star_from_target=_copies_target(
            expression, query, target=target, reads=reads, partition_spec=partition_spec, context=context
        ),
        filters_rows=_filters_rows(query, context),
        empties_table=_deletes_every_row(expression),
        reads_target=target is not None and target in reads,
        output_columns=_outputs(expression, query),
        command="ANALYZE" if isinstance(expression, exp.Analyze) else None,
    )
    spans = _spans(nodes, analysis, context, first_predicate, dedup_node)
    return _with_spans(analysis, spans)


def _analyze_command(info: _CommandInfo, sql: str, dialect: str, markers: Mapping[str, str]) -> StatementAnalysis:
    context = _Context(sql, dialect, markers, frozenset())
    predicates: tuple[PartitionPredicate, ...] = ()
    if info.condition is not None:
        predicates, _ = _predicates_in((info.condition,), context)
    table = (info.table,) if info.table else ()
    writes = table if info.writes_table else ()
    spans: dict[str, tuple[int, int]] = {"command": _line_col(sql, info.keyword_offset)}
    if info.table_offset is not None:
        spans["target"] = _line_col(sql, info.table_offset)
    return StatementAnalysis(
        kind=info.kind,
        target=info.table if info.writes_table else None,
        reads=() if info.writes_table else table,
        writes=writes,
        partition_spec=info.partition_spec,
        predicates=predicates,
        procedure=info.procedure,
        command=info.command,
        spans=spans,
    )


def _basic_analysis(expression: exp.Expr, dialect: str) -> StatementAnalysis:
    """Kind and tables only, from a plain walk: the fallback when the full analysis fails."""
    kind = statement_kind(expression, dialect)
    targets = _targets(expression)
    target_names = _unique(name for name in map(_table_name, targets) if name)
    target_ids = {id(table) for table in targets}
    cte_names = _cte_names(expression.find_all(exp.CTE))
    reads = _sorted_names(
        name
        for table in expression.find_all(exp.Table)
        if id(table) not in target_ids and not _is_cte_reference(table, cte_names)
        for name in [_table_name(table)]
        if name
    )
    return StatementAnalysis(
        kind=kind,
        target=target_names[0] if target_names else None,
        reads=() if kind in _NO_READ_KINDS else reads,
        writes=tuple(sorted(target_names)) if kind in _WRITING_KINDS else (),
    )


_WRITING_KINDS = frozenset(
    {
        "insert",
        "insert_overwrite",
        "merge",
        "update",
        "delete",
        "create_table_as",
        "create_or_replace_table_as",
        "create_table",
        "create_view",
        "drop",
        "truncate",
        "alter",
        "optimize",
        "zorder",
        "vacuum",
        "call",
        "msck_repair",
        "concatenate",
        "copy",
    }
)

# Kinds whose other table references are not reads (a USE names a database, an ALTER may name
# the new name of the table, a DDL may name a LIKE template).
_NO_READ_KINDS = frozenset({"use", "set", "drop", "truncate", "alter", "create_table"})


# ---------------------------------------------------------------------------- tables and scopes

# qualify() needs schemas to resolve every column; without them it may refuse, so we retry with
# less ambition before falling back to the tree as written.
_QUALIFY_ATTEMPTS: tuple[dict[str, bool], ...] = (
    {
        "validate_qualify_columns": False,
        "allow_partial_qualification": True,
        "expand_stars": False,
        "quote_identifiers": False,
        "identify": False,
    },
    {"qualify_columns": False, "expand_stars": False, "quote_identifiers": False, "identify": False},
)


def _names_need_normalizing(nodes: _Nodes) -> bool:
    """Whether normalizing identifiers and qualifying tables (a copy and several walks, which cost
    more than parsing the statement) can change a fact read from the qualified tree: the tables
    read, the joins, correlated subqueries.

    The facts compare table, alias and qualifier names ignoring case, except one: whether a
    table reference names a CTE, which sqlglot's scopes decide by the exact name. Normalizing
    changes that only for a reference that matches a CTE once case is ignored but not as written
    (`WITH Foo ... FROM foo`), or where a quoted name keeps its case (`FROM "Foo"`). Checked
    against qualifying every statement: the same facts for the 2,229 statements of the 1k-DAG
    synthetic repository and every test case.
    """
    aliases = [cte.args.get("alias") for cte in nodes.find_all(exp.CTE)]
    ctes = [alias.this for alias in aliases if isinstance(alias, exp.TableAlias) and alias.this is not None]
    if not ctes:
        return False
    names = {cte.name for cte in ctes}
    folded = _cte_names(nodes.find_all(exp.CTE))
    quoted = {cte.name.lower() for cte in ctes if cte.args.get("quoted")}
    for table in nodes.find_all(exp.Table):
        if not _is_cte_reference(table, folded):
            continue  # it names no CTE, normalized or not: equal names are equal ignoring case
        quoted_table = table.this is not None and table.this.args.get("quoted")
        if table.name not in names or table.name.lower() in quoted or quoted_table:
            return True
    return False


def _join_keys_need_columns(nodes: _Nodes) -> bool:
    """Whether qualifying the columns (`qualify_columns` and its check: a fifth of the scan when
    always run) can change a fact read from the qualified tree.

    Of those facts (tables read, joins, correlated subqueries) only the join keys read qualifiers
    that `qualify_columns` adds: it expands `USING (k)` into an ON condition naming the sources
    that hold `k`, and qualifies a column written without one when the sources' columns are known
    (CTEs, subqueries). The tables read do not depend on columns, and a subquery counts as
    correlated only through a column its author qualified with an outer source, which qualifying
    leaves as written. So columns matter only for a join with USING, or with an unqualified
    column in its ON condition, or, for a join without one (`FROM a, b WHERE ...`), in the WHERE
    of its query block.
    """
    for join in nodes.find_all(exp.Join):
        if join.args.get("using"):
            return True
        condition = join.args.get("on")
        if condition is None:
            select = join.parent
            condition = select.args.get("where") if isinstance(select, exp.Select) else None
        if condition is not None and any(not column.table for column in condition.find_all(exp.Column)):
            return True
    return False


def _qualified(expression: exp.Expr, dialect: str, *, columns: bool = True) -> exp.Expr:
    """A qualified copy of the tree, by the first of `_QUALIFY_ATTEMPTS` that succeeds; the tree
    itself when none does. Without `columns` (see `_join_keys_need_columns`), the copy with
    identifiers normalized and tables qualified, the steps every attempt begins with: the
    second attempt's tree, whether or not its check that every column is qualified would pass.

    The same result as calling `qualify` with each attempt's options in turn (see
    `_qualified_by_attempts`), for less: both attempts begin with the same two steps
    (normalize identifiers, qualify tables), and the second one then only checks that every
    column is qualified already. So the two steps run once, on one copy, and the second
    attempt's check runs on that copy before the first attempt qualifies its columns. The first
    attempt fails for about one statement in five (columns no schema resolves), and its check
    nearly always fails too; only when it passes is the second attempt run in full.
    """
    sql_dialect = _dialect(dialect)
    if sql_dialect is None:
        return _qualified_by_attempts(expression, dialect)
    try:  # qualify()'s first steps, with the options both attempts give them
        tree = normalize_identifiers(expression.copy(), dialect=sql_dialect, store_original_column_identifiers=True)
        tree = qualify_tables(tree, dialect=sql_dialect)
    except Exception:  # the same steps of the second attempt would fail the same way
        return expression
    if not columns:
        return tree
    try:
        validate_qualify_columns(tree)  # all the second attempt does after these steps
        second_attempt_succeeds = True
    except Exception:
        second_attempt_succeeds = False
    try:  # the first attempt's last step
        schema = ensure_schema(None, dialect=sql_dialect)
        return qualify_columns(tree, schema, expand_stars=False, allow_partial_qualification=True)
    except Exception:  # qualify raises OptimizeError and, on odd trees, anything else
        pass
    return _qualified_by_attempts(expression, dialect, _QUALIFY_ATTEMPTS[1:]) if second_attempt_succeeds else expression


def _qualified_by_attempts(
    expression: exp.Expr, dialect: str, attempts: Sequence[Mapping[str, bool]] = _QUALIFY_ATTEMPTS
) -> exp.Expr:
    """`qualify` a copy with each attempt's options in turn; the tree itself if none succeeds."""
    for options in attempts:
        try:
            return qualify(expression.copy(), dialect=dialect, **options)  # type: ignore[arg-type]
        except Exception:  # qualify raises OptimizeError and, on odd trees, anything else
            continue
    return expression


def _scopes(nodes: _Nodes, kind: str) -> list[Scope] | None:
    """Query scopes of the statement; for an `other` statement (DECLARE x DEFAULT (SELECT ...),
    CACHE TABLE x AS SELECT ...), sqlglot builds none from the root, so each outermost query
    is traversed on its own."""
    try:
        if kind != "other":
            return traverse_scope(nodes.root)
        queries = [q for q in nodes.find_all(exp.Query) if q.find_ancestor(exp.Query) is None]
        return [scope for query in queries for scope in traverse_scope(query)]
    except Exception:  # scope building fails on some statements; callers fall back to a walk
        return None


# Where a query may sit without opening a subquery scope: its own statement, a CTE, FROM / JOIN
# (a derived table), a set operation's branch, the query of an INSERT or CREATE ... AS.
_PLAIN_QUERY_PARENTS = (exp.CTE, exp.From, exp.Join, exp.SetOperation, exp.Insert, exp.Create)


def _scopes_can_change_facts(nodes: _Nodes, targets: tuple[exp.Table, ...], kind: str) -> bool:
    """Whether building sqlglot's scopes (a sixth of analysing a statement with compiled sqlglot,
    a third with pure sqlglot) can give other facts than reading the tree: the tables read, and
    correlated subqueries.

    Not for a statement whose queries are all plainly placed (no subquery, no lateral subquery:
    nothing to correlate), whose CTEs are not recursive, whose table names and aliases meet no
    alias of a derived table, lateral, unnest or pivot, and which has no join hint naming a
    table: then a table names a CTE exactly when a CTE of that name is visible where it stands
    (`_visible_cte_references`), which is how scopes resolve it.
    Checked against scopes on every statement of the 1k-DAG synthetic repository (1,774 of its
    2,229 statements need no scopes), of the SQL files under samples/ and tests/, and of every
    test case (`tests/test_sql.py`).
    """
    if kind == "other":
        return True
    for query in nodes.find_all(exp.Select, exp.SetOperation):
        parent = query.parent
        while isinstance(parent, exp.Subquery):
            parent = parent.parent
        if parent is not None and not isinstance(parent, _PLAIN_QUERY_PARENTS):
            return True
    ctes = nodes.find_all(exp.CTE)
    if any(isinstance(cte.parent, exp.With) and cte.parent.args.get("recursive") for cte in ctes):
        return True
    exact_cte_names = {cte.alias for cte in ctes}
    cte_names = {name.lower() for name in exact_cte_names}
    other_aliases = {
        alias.name.lower()
        for alias in nodes.find_all(exp.TableAlias, bfs=False)
        if not isinstance(alias.parent, exp.Table | exp.CTE)
    }
    target_ids = {id(table) for table in targets}
    for table in nodes.find_all(exp.Table):
        if id(table) in target_ids:
            continue
        name = table.name.lower()
        alias = table.alias.lower()
        if (
            name in other_aliases
            or (alias and alias != name and (alias in cte_names or alias in other_aliases))
            or (name in cte_names and table.name not in exact_cte_names)
            or isinstance(table.parent, exp.JoinHint)  # scopes leave hints to `_reads`'s name check
        ):
            return True
    return False


def _visible_cte_references(nodes: _Nodes) -> set[int]:
    """The ids of the table references that name a CTE visible where they stand: one of an
    enclosing WITH, or an earlier one of the WITH whose CTE they are in (no recursive WITH)."""
    references: set[int] = set()
    if not nodes.find_all(exp.CTE):
        return references
    for table in nodes.find_all(exp.Table):
        if table.args.get("db"):
            continue
        name = table.name
        child: exp.Expr = table
        parent = table.parent
        inside: exp.CTE | None = None
        while parent is not None:
            if isinstance(parent, exp.CTE):
                inside = parent
            with_ = parent.args.get("with_")
            if isinstance(with_, exp.With):
                visible = with_.expressions
                if child is with_ and inside is not None:  # in one of its CTEs: the earlier ones
                    visible = visible[: next(i for i, cte in enumerate(visible) if cte is inside)]
                if any(cte.alias == name for cte in visible):
                    references.add(id(table))
                    break
            child, parent = parent, parent.parent
    return references


def _table_name(table: exp.Expr) -> str | None:
    """`db.t` for a physical table; None for a table function, a stage or a variable."""
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        return None
    return ".".join(part.name for part in table.parts).lower()


def _cte_names(ctes: Iterable[exp.CTE]) -> frozenset[str]:
    return frozenset(cte.alias_or_name.lower() for cte in ctes)


def _is_cte_reference(table: exp.Table, cte_names: frozenset[str]) -> bool:
    return not table.args.get("db") and table.name.lower() in cte_names


def _as_tables(node: exp.Expr | None) -> tuple[exp.Table, ...]:
    if isinstance(node, exp.Schema):  # INSERT INTO t (a, b) / CREATE TABLE t (a INT)
        node = node.this
    return (node,) if isinstance(node, exp.Table) else ()


def _this_tables(expression: exp.Expr) -> tuple[exp.Table, ...]:
    return _as_tables(expression.this)


def _multitable_targets(inserts: exp.Expr) -> tuple[exp.Table, ...]:
    return tuple(table for insert in inserts.expressions for table in _as_tables(insert.this))


def _object_targets(statement: exp.Expr) -> tuple[exp.Table, ...]:
    """CREATE / DROP of a table or a view (not of a schema, a function, ...)."""
    if str(statement.args.get("kind") or "").upper() not in {"TABLE", "VIEW"}:
        return ()
    tables = statement.args.get("tables") or [statement.this]
    return tuple(table for node in tables for table in _as_tables(node))


def _truncate_targets(truncate: exp.Expr) -> tuple[exp.Table, ...]:
    if truncate.args.get("is_database"):
        return ()
    return tuple(table for node in truncate.expressions for table in _as_tables(node))


# Node type -> the tables the statement writes
_TARGETS_BY_TYPE: dict[type[exp.Expr], Callable[[exp.Expr], tuple[exp.Table, ...]]] = {
    exp.Insert: _this_tables,
    exp.MultitableInserts: _multitable_targets,
    exp.Merge: _this_tables,
    exp.Update: _this_tables,
    exp.Delete: _this_tables,
    exp.Create: _object_targets,
    exp.Drop: _object_targets,
    exp.TruncateTable: _truncate_targets,
    exp.Alter: _this_tables,
    exp.Copy: _this_tables,
    exp.LoadData: _this_tables,
}


def _targets(expression: exp.Expr) -> tuple[exp.Table, ...]:
    targets_of = _TARGETS_BY_TYPE.get(type(expression))
    return targets_of(expression) if targets_of is not None else ()


def _reads(
    nodes: _Nodes,
    targets: tuple[exp.Table, ...],
    scopes: list[Scope] | None,
    context: _Context,
    *,
    kind: str,
) -> tuple[str, ...]:
    """Physical tables read: from every scope (CTE references resolved), then from the parts of
    DML statements scopes do not cover (UPDATE ... FROM, MERGE USING t, DELETE USING).

    Other statements (GRANT, CREATE FUNCTION, CACHE TABLE) name objects outside any query: for
    them only the tables of their queries count, unless scopes are unavailable.
    """
    target_ids = {id(table) for table in targets}
    seen: set[int] = set(target_ids)
    tables: list[exp.Table] = []
    for scope in scopes or ():
        for table in scope.tables:
            seen.add(id(table))
            if id(table) not in target_ids and not isinstance(scope.sources.get(table.alias_or_name), Scope):
                tables.append(table)
    if kind != "other" or scopes is None:
        tables.extend(
            table
            for table in nodes.find_all(exp.Table)
            if id(table) not in seen and not _is_cte_reference(table, context.cte_names)
        )
    return _sorted_names(name for name in map(_table_name, tables) if name)


def _reads_without_scopes(nodes: _Nodes, targets: tuple[exp.Table, ...]) -> tuple[str, ...]:
    """`_reads` of a statement whose scopes cannot change it (`_scopes_can_change_facts`)."""
    skipped = {id(table) for table in targets} | _visible_cte_references(nodes)
    tables = (table for table in nodes.find_all(exp.Table) if id(table) not in skipped)
    return _sorted_names(name for name in map(_table_name, tables) if name)


def _top_query(expression: exp.Expr) -> exp.Query | None:
    """The query whose rows the statement returns or writes."""
    if isinstance(expression, exp.Query):
        return expression
    if isinstance(expression, (exp.Insert, exp.Create)) and isinstance(expression.expression, exp.Query):
        return expression.expression
    return None


# Node type -> does the statement replace the target's existing rows?
_OVERWRITES: dict[type[exp.Expr], Callable[[exp.Expr], bool]] = {
    exp.Insert: _insert_overwrites,
    exp.MultitableInserts: lambda inserts: any(_insert_overwrites(i) for i in inserts.expressions),
    exp.Create: lambda create: _create_kind(create, "") == "create_or_replace_table_as",
    exp.LoadData: lambda load: bool(load.args.get("overwrite")),
}


def _overwrites(expression: exp.Expr) -> bool:
    overwrites = _OVERWRITES.get(type(expression))
    return overwrites(expression) if overwrites is not None else False


def _statement_partition_spec(expression: exp.Expr) -> tuple[tuple[str, str | None], ...]:
    """PARTITION (...) of the written table (INSERT, LOAD) or of the statement (TRUNCATE, ANALYZE)."""
    holders = [*_targets(expression), expression]
    for holder in holders:
        partition = holder.args.get("partition")
        if isinstance(partition, exp.Partition):
            return _partition_pairs(partition.expressions)
    return ()


def _partition_pairs(items: Iterable[exp.Expr]) -> tuple[tuple[str, str | None], ...]:
    pairs: list[tuple[str, str | None]] = []
    for item in items:
        if isinstance(item, exp.EQ) and isinstance(item.this, exp.Column):
            value = item.expression
            pairs.append((item.this.name.lower(), value.name if isinstance(value, exp.Literal) else value.sql()))
        elif isinstance(item, exp.Column):
            pairs.append((item.name.lower(), None))  # dynamic partition column
    return tuple(pairs)


# ------------------------------------------------------------------------------------ predicates

_COMPARISON_OPS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_MIRRORED_OPS = {"=": "=", ">": "<", ">=": "<=", "<": ">", "<=": ">="}
_NOW_FUNCTIONS = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentDatetime)


def _predicates(nodes: _Nodes, context: _Context) -> tuple[tuple[PartitionPredicate, ...], exp.Expr | None]:
    roots: list[exp.Expr] = []
    for node in nodes.find_all(exp.Where, exp.Join, exp.Merge, exp.Insert, bfs=False):
        if isinstance(node, exp.Where):
            roots.append(node.this)
        elif isinstance(node, (exp.Join, exp.Merge)) and node.args.get("on") is not None:
            roots.append(node.args["on"])
        elif isinstance(node, exp.Insert) and node.args.get("where") is not None:
            roots.append(node.args["where"])  # REPLACE WHERE
    return _predicates_in(roots, context)


def _predicates_in(
    roots: Iterable[exp.Expr], context: _Context
) -> tuple[tuple[PartitionPredicate, ...], exp.Expr | None]:
    """Time predicates in conditions; nested queries are left to their own WHERE."""
    found: list[PartitionPredicate] = []
    first: exp.Expr | None = None
    for root in roots:
        for node in root.dfs(prune=lambda n: isinstance(n, exp.Query)):
            predicate = _time_predicate(node, context)
            if predicate is not None and predicate not in found:
                found.append(predicate)
                if first is None:
                    first = node
    return tuple(found), first


def _time_predicate(node: exp.Expr, context: _Context) -> PartitionPredicate | None:
    if isinstance(node, exp.Between):
        return _predicate(node.this, "between", [node.args.get("low"), node.args.get("high")], context)
    if isinstance(node, exp.In):
        if node.args.get("query") is not None or not node.expressions:
            return None
        return _predicate(node.this, "in", node.expressions, context)
    op = _COMPARISON_OPS.get(type(node))
    if op is None:
        return None
    return _predicate(node.this, op, [node.expression], context) or _predicate(
        node.expression, _MIRRORED_OPS[op], [node.this], context
    )


def _predicate(
    column_side: exp.Expr | None, op: str, value_sides: Sequence[exp.Expr | None], context: _Context
) -> PartitionPredicate | None:
    column = _predicate_column(column_side)
    if column is None:
        return None
    values: list[str] = []
    origins: list[str] = []
    for side in value_sides:
        value = _time_value(side, context)
        if value is None:
            return None
        values.append(value[0])
        origins.extend(value[1])
    return PartitionPredicate(column, op, tuple(values), _unique(origins))


def _predicate_column(node: exp.Expr | None) -> str | None:
    """The column a predicate constrains: `dt`, or `ts` in `DATE(ts)` / `CAST(dt AS DATE)`."""
    if isinstance(node, exp.Column):
        return node.name.lower()
    if not isinstance(node, (exp.Func, exp.Cast)) or node.find(exp.Query) is not None:
        return None
    columns = {column.name.lower() for column in node.find_all(exp.Column)}
    return columns.pop() if len(columns) == 1 else None


def _time_value(node: exp.Expr | None, context: _Context) -> tuple[str, tuple[str, ...]] | None:
    """(text, template origins) of a value tied to the run's time, else None.

    A value qualifies when it holds a literal the renderer marked, a date-like string, or
    CURRENT_DATE / CURRENT_TIMESTAMP; it must not depend on a column.
    """
    if node is None or node.find(exp.Column, exp.Query) is not None:
        return None
    literals = list(node.find_all(exp.Literal))
    origins = tuple(context.markers[lit.name] for lit in literals if lit.name in context.markers)
    date_like = any(lit.is_string and _looks_like_date(lit.name) for lit in literals)
    relative = node.find(*_NOW_FUNCTIONS) is not None
    if not (origins or date_like or relative):
        return None
    literal = node.this if isinstance(node, (exp.Cast, exp.TryCast)) else node  # DATE '2024-01-15'
    text = literal.name if isinstance(literal, exp.Literal) else node.sql(dialect=context.dialect)
    return text, origins


def _looks_like_date(text: str) -> bool:
    """ISO dates and timestamps (2024-01-15, 20240115, 2024-01-15 10:00:00)."""
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            parse(text.strip())
        except ValueError:
            continue
        return True
    return False


# --------------------------------------------------------------------------------------- shapes


def _aggregates(nodes: _Nodes) -> Iterator[exp.Expr]:
    return (node for node in nodes.find_all(exp.AggFunc) if not _is_windowed(node))


def _is_windowed(node: exp.Expr) -> bool:
    """True for `SUM(x)` in `SUM(x) OVER (...)`, not for an aggregate inside the window spec."""
    child, parent = node, node.parent
    while parent is not None and not isinstance(parent, exp.Query):
        if isinstance(parent, exp.Window):
            return child.arg_key == "this"
        child, parent = parent, parent.parent
    return False


def _windows(nodes: _Nodes) -> list[exp.Window]:
    # `WINDOW w AS (...)` definitions are Windows too, without a function
    return [
        w
        for w in nodes.find_all(exp.Window, bfs=False)
        if w.this is not None and not isinstance(w.this, exp.Identifier)
    ]


def _function_name(node: exp.Expr) -> str:
    while isinstance(node, (exp.IgnoreNulls, exp.RespectNulls, exp.Filter)):
        node = node.this
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key


def _expression_name(node: exp.Expr, context: _Context) -> str:
    if isinstance(node, exp.Ordered):
        node = node.this
    if isinstance(node, exp.Column):
        return node.name.lower()
    return node.sql(dialect=context.dialect)


def _grouping_select(nodes: _Nodes) -> exp.Select | None:
    """The outermost query block with a GROUP BY."""
    return next((s for s in nodes.find_all(exp.Select) if s.args.get("group")), None)


def _group_by(nodes: _Nodes, context: _Context) -> tuple[str, ...]:
    """GROUP BY of the outermost grouping query block; ordinals name their projection."""
    select = _grouping_select(nodes)
    if select is None:
        return ()
    projections = select.expressions
    names: list[str] = []
    for item in select.args["group"].expressions:
        projection = _ordinal_projection(item, projections)
        if projection is not None:
            names.append(projection.alias or _expression_name(projection, context))
        else:
            names.append(_expression_name(item, context))
    return _unique(names)


def _group_by_outputs(nodes: _Nodes, context: _Context) -> tuple[str, ...]:
    """The GROUP BY keys as the output columns that carry them: for `SELECT DATE(ts) AS day,
    c.k, COUNT(*) AS n FROM s c GROUP BY DATE(c.ts), 2` they are `day, k` (GROUP BY says
    `DATE(c.ts), k`). A key no projection computes keeps its name or SQL."""
    select = _grouping_select(nodes)
    if select is None:
        return ()
    expression = nodes.root
    projections = select.expressions
    # `INSERT INTO t (a, b) SELECT x, y ...` names the outputs by position, not by alias
    listed = _insert_columns(expression) if select is expression.expression else ()
    names: list[str] = []
    same_projection = _SameProjection(projections)
    for item in select.args["group"].expressions:
        projection = _ordinal_projection(item, projections) or same_projection(item)
        if projection is not None and len(listed) == len(projections):
            names.append(listed[next(i for i, p in enumerate(projections) if p is projection)])
        elif projection is not None:
            names.append(_output_name(projection, context))
        else:
            names.append(_expression_name(item, context))
    return _unique(names)


def _insert_columns(expression: exp.Expr) -> tuple[str, ...]:
    """The column list of `INSERT INTO t (a, b) ...`, lower-cased; empty without one."""
    target = expression.this if isinstance(expression, exp.Insert) else None
    if not isinstance(target, exp.Schema):
        return ()
    return tuple(
        column.name.lower() for column in target.expressions if isinstance(column, exp.Identifier | exp.Column)
    )


def _ordinal_projection(item: exp.Expr, projections: Sequence[exp.Expr]) -> exp.Expr | None:
    """The projection `GROUP BY 2` refers to."""
    if isinstance(item, exp.Literal) and item.is_int and 0 < int(item.name) <= len(projections):
        return projections[int(item.name) - 1]
    return None


class _SameProjection:
    """The first projection that computes an expression: structurally equal, table qualifiers
    ignored. Each projection's unqualified copy is made once, and only as far as a search goes."""

    def __init__(self, projections: Sequence[exp.Expr]) -> None:
        self._projections = projections
        self._keys: list[exp.Expr] = []

    def __call__(self, item: exp.Expr) -> exp.Expr | None:
        name = _column_name(item.unnest())
        if name is not None:  # most keys are columns: compared by name, nothing copied
            found = (p for i, p in enumerate(self._projections) if self._same_column(i, p, name))
            return next(found, None)
        wanted = _unqualified(item)
        for index, projection in enumerate(self._projections):
            if self._key(index) == wanted:
                return projection
        return None

    def _key(self, index: int) -> exp.Expr:
        while len(self._keys) <= index:
            self._keys.append(_unqualified(self._projections[len(self._keys)].unalias()))
        return self._keys[index]

    def _same_column(self, index: int, projection: exp.Expr, name: exp.Expr) -> bool:
        target = projection.unalias().unnest()
        if not isinstance(target, exp.Column):
            return False  # an unqualified copy keeps its root's type: only a column equals a column
        own = _column_name(target)
        if own is None:
            return bool(self._key(index) == exp.Column(this=name.copy()))
        return bool(own == name)


def _column_name(node: exp.Expr) -> exp.Expr | None:
    """What `_unqualified(node)` keeps of a column, when that is its name alone: a qualified
    column loses every other part, an unqualified one must have none. None for anything else."""
    if not isinstance(node, exp.Column):
        return None
    if node.table:
        return node.this  # type: ignore[no-any-return]
    if any(value is not None and value is not False for key, value in node.args.items() if key != "this"):
        return None
    return node.this  # type: ignore[no-any-return]


def _output_name(projection: exp.Expr, context: _Context) -> str:
    """The column name a projection produces: its alias, a column's name, else its SQL."""
    if projection.alias:
        return projection.alias.lower()
    return _expression_name(projection, context)


def _unqualified(node: exp.Expr) -> exp.Expr:
    """A copy without table qualifiers, so that `o.k` and `k` compare equal."""

    def strip(part: exp.Expr) -> exp.Expr:
        if isinstance(part, exp.Column) and part.table:
            return exp.Column(this=part.this.copy())
        return part

    return node.unnest().transform(strip)


def _set_operation_name(node: exp.SetOperation) -> str:
    if isinstance(node, exp.Union):
        return "union" if node.args.get("distinct") else "union_all"
    return "intersect" if isinstance(node, exp.Intersect) else "except"


def _dedup(nodes: _Nodes, context: _Context) -> tuple[DedupShape | None, exp.Expr | None]:
    """ROW_NUMBER() OVER (...) kept at 1, through an outer WHERE or a QUALIFY."""
    numbered = {
        projection.alias.lower(): projection.this
        for select in nodes.find_all(exp.Select)
        for projection in select.expressions
        if isinstance(projection, exp.Alias)
        and isinstance(projection.this, exp.Window)
        and isinstance(projection.this.this, exp.RowNumber)
    }
    clauses: tuple[tuple[type[exp.Qualify | exp.Where], str], ...] = ((exp.Qualify, "qualify"), (exp.Where, "rn=1"))
    for clause_type, keep in clauses:
        for clause in nodes.find_all(clause_type):
            for condition in _conjuncts(clause.this):
                window = _kept_first_row(condition, numbered)
                if window is not None:
                    return _dedup_shape(window, keep, context), window
    return None, None


# (op, literal) pairs that keep only row number 1
_FIRST_ROW_BOUNDS = frozenset({("=", 1), ("<=", 1), ("<", 2)})


def _kept_first_row(condition: exp.Expr, numbered: Mapping[str, exp.Window]) -> exp.Window | None:
    """The ROW_NUMBER window if `condition` is `rn = 1`, `rn <= 1`, `rn < 2` (either way round)."""
    op = _COMPARISON_OPS.get(type(condition))
    if op is None or not isinstance(condition, exp.Binary):
        return None
    sides = (
        (condition.this, condition.expression, op),
        (condition.expression, condition.this, _MIRRORED_OPS[op]),
    )
    for number_side, bound, side_op in sides:
        window = _row_number_of(number_side, numbered)
        if (
            window is not None
            and isinstance(bound, exp.Literal)
            and bound.is_int
            and (side_op, int(bound.name)) in _FIRST_ROW_BOUNDS
        ):
            return window
    return None


def _row_number_of(node: exp.Expr, numbered: Mapping[str, exp.Window]) -> exp.Window | None:
    if isinstance(node, exp.Window) and isinstance(node.this, exp.RowNumber):
        return node
    if isinstance(node, exp.Column):
        return numbered.get(node.name.lower())
    return None


def _dedup_shape(window: exp.Window, keep: str, context: _Context) -> DedupShape:
    order = window.args.get("order")
    ordered = list(order.expressions) if isinstance(order, exp.Order) else []
    keys = list(window.args.get("partition_by") or ())
    numbered = window.find_ancestor(exp.Select)
    projections = numbered.expressions if numbered is not None else []
    same_projection = _SameProjection(projections)
    outputs = [same_projection(key) for key in keys]
    return DedupShape(
        partition_by=tuple(_expression_name(e, context) for e in keys),
        order_by=tuple(_expression_name(e, context) for e in ordered),
        descending=bool(ordered and ordered[0].args.get("desc")),
        keep=keep,
        partition_by_outputs=tuple(
            _output_name(projection, context) if projection is not None else _expression_name(key, context)
            for key, projection in zip(keys, outputs, strict=True)
        ),
    )


def _conjuncts(condition: exp.Expr | None) -> list[exp.Expr]:
    if condition is None:
        return []
    condition = condition.unnest()
    if isinstance(condition, exp.And):
        return [part.unnest() for part in condition.flatten()]
    return [condition]


def _has_correlated_subquery(scopes: list[Scope] | None) -> bool:
    """A subquery uses a column qualified with a source of an enclosing query block."""
    for scope in scopes or ():
        if not scope.is_subquery:
            continue
        outer_sources: set[str] = set()
        parent = scope.parent
        while parent is not None:
            outer_sources.update(name.lower() for name in parent.sources)
            parent = parent.parent
        own_sources = {name.lower() for name in scope.sources}
        for column in scope.external_columns:
            qualifier = column.table.lower()
            if qualifier and qualifier in outer_sources and qualifier not in own_sources:
                return True
    return False


def _upsert(expression: exp.Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, actions) of a MERGE, or of an INSERT ... ON CONFLICT / ON DUPLICATE KEY."""
    if isinstance(expression, exp.Merge):
        return _merge_keys(expression), _merge_actions(expression)
    conflict = expression.args.get("conflict") if isinstance(expression, exp.Insert) else None
    if not isinstance(conflict, exp.OnConflict):
        return (), ()
    keys = _unique(
        column.name.lower() for key in conflict.args.get("conflict_keys") or () for column in key.find_all(exp.Column)
    )
    action = str(conflict.args.get("action") or "").upper()
    updates = bool(conflict.args.get("duplicate")) or "UPDATE" in action
    return keys, ("insert", "update") if updates else ("insert",)


def _merge_keys(merge: exp.Merge) -> tuple[str, ...]:
    target = merge.this
    target_names = {target.alias_or_name.lower(), target.name.lower()} if isinstance(target, exp.Table) else set()
    keys: list[str] = []
    for condition in _conjuncts(merge.args.get("on")):
        if not (isinstance(condition, exp.EQ) and _both_columns(condition)):
            continue
        left, right = condition.this, condition.expression
        target_side = right if right.table.lower() in target_names and left.table.lower() not in target_names else left
        keys.append(target_side.name.lower())
    return _unique(keys)


# MERGE WHEN ... THEN <node> -> action
_MERGE_ACTIONS: dict[type[exp.Expr], str] = {exp.Update: "update", exp.Insert: "insert", exp.Delete: "delete"}


def _merge_actions(merge: exp.Merge) -> tuple[str, ...]:
    whens = merge.args.get("whens")
    actions = set()
    for when in whens.expressions if isinstance(whens, exp.Whens) else ():
        then = when.args.get("then")
        action = _MERGE_ACTIONS.get(type(then))
        if action is None and isinstance(then, exp.Var):  # THEN DELETE is kept as a keyword
            action = then.name.lower() if then.name.lower() in {"delete", "update", "insert"} else None
        if action:
            actions.add(action)
    return tuple(sorted(actions))


# SELECT clauses that leave the rows read as they are: sorting and distributing only change the
# layout of the files written (Hive DISTRIBUTE BY / SORT BY is how a compaction is written)
_LAYOUT_CLAUSES = frozenset({"expressions", "from_", "where", "order", "sort", "cluster", "distribute", "hint"})
# The parts of a table reference that name it (not TABLESAMPLE, VERSION AS OF, PARTITION (p1), ...)
_NAMING_PARTS = frozenset({"this", "db", "catalog", "alias"})


def _copies_target(
    expression: exp.Expr,
    query: exp.Query | None,
    *,
    target: str | None,
    reads: tuple[str, ...],
    partition_spec: tuple[tuple[str, str | None], ...],
    context: _Context,
) -> bool:
    """The statement overwrites its target with the target's own rows, unchanged: a compaction.

    The query is one block reading only the target: `SELECT *` or plain columns of it (no
    expression, no rename), no join, aggregate, window, subquery, DISTINCT or LIMIT; a star copy
    may be DISTINCT, the whole-row dedup F103 reports. Its WHERE may only pick the rows the
    statement replaces, so nothing else is lost: the partitions a PARTITION clause overwrites
    (a static `dt='x'` must be read as `dt = 'x'`), or exactly the REPLACE WHERE condition.
    """
    if target is None or reads != (target,) or not _overwrites(expression) or not isinstance(query, exp.Select):
        return False
    star = bool(query.expressions) and all(projection.is_star for projection in query.expressions)
    allowed = _LAYOUT_CLAUSES | {"distinct"} if star else _LAYOUT_CLAUSES
    source = query.args.get("from_")
    if (
        any(value for key, value in query.args.items() if key not in allowed)
        or not isinstance(source, exp.From)
        or _table_name(source.this) != target
        or any(value for key, value in source.this.args.items() if key not in _NAMING_PARTS)
        or any(node is not query for node in query.find_all(exp.Query))
        or query.find(exp.AggFunc, exp.Window) is not None
    ):
        return False
    written = _written_columns(expression)
    if star:
        copied_columns = not written
    else:
        columns = _copied_columns(query)
        copied_columns = columns is not None and (not written or written == columns)
    return (
        copied_columns
        and not _filters_rows(query, context)
        and _reads_what_it_replaces(expression, query, partition_spec, context)
    )


def _copied_columns(query: exp.Select) -> tuple[str, ...] | None:
    """The names of a projection list of plain columns, each kept under its own name; else None."""
    names: list[str] = []
    for projection in query.expressions:
        column = projection.unalias()
        if not isinstance(column, exp.Column) or column.is_star:
            return None
        if projection.alias and projection.alias.lower() != column.name.lower():
            return None  # `a AS b` moves a column's values into another column
        names.append(column.name.lower())
    return tuple(names) if len(set(names)) == len(names) else None


def _written_columns(expression: exp.Expr) -> tuple[str, ...]:
    """The column list of `INSERT INTO t (a, b) ...`; empty when the statement has none."""
    schema = expression.this if isinstance(expression, exp.Insert) else None
    if not isinstance(schema, exp.Schema):
        return ()
    return tuple(column.name.lower() for column in schema.expressions)


def _reads_what_it_replaces(
    expression: exp.Expr,
    query: exp.Select,
    partition_spec: tuple[tuple[str, str | None], ...],
    context: _Context,
) -> bool:
    """The rows the query reads are the rows the overwrite replaces (given a WHERE of time
    predicates only).

    Without a PARTITION clause or REPLACE WHERE, an overwrite replaces the whole table
    (Snowflake INSERT OVERWRITE, CREATE OR REPLACE, Hive and Spark in their default mode), so
    any WHERE loses the rows it leaves out.
    """
    where = _top_block_where(query)
    replace_where = expression.args.get("where") if isinstance(expression, exp.Insert) else None
    if replace_where is not None:
        return where is not None and _unqualified(where) == _unqualified(replace_where)
    static = {(column, value) for column, value in partition_spec if value is not None}
    if where is None:
        return not static  # a static partition filled from every partition is no copy
    if not partition_spec:
        return False
    partition_columns = {column for column, _ in partition_spec}
    predicates, _ = _predicates_in((where,), context)
    if any(predicate.column not in partition_columns for predicate in predicates):
        return False  # e.g. `event_time < '...'` inside the partition: some of its rows go
    pinned = {
        (predicate.column, predicate.values[0])
        for condition in _conjuncts(where)
        for predicate in [_time_predicate(condition, context)]
        if predicate is not None and predicate.op == "="
    }
    return static <= pinned


def _top_block_where(query: exp.Query | None) -> exp.Expr | None:
    where = query.args.get("where") if isinstance(query, exp.Select) else None
    return where.this if isinstance(where, exp.Where) else None


def _deletes_every_row(expression: exp.Expr) -> bool:
    if not isinstance(expression, exp.Delete):
        return False
    where = expression.args.get("where")
    if where is None:
        return True
    condition = where.this
    if isinstance(condition, exp.Boolean):
        return bool(condition.this)
    return isinstance(condition, exp.EQ) and condition.this == condition.expression and condition.this.is_number


def _filters_rows(query: exp.Query | None, context: _Context) -> bool:
    """The top query block's WHERE has a condition other than a time predicate (`status <>
    'test'`); equi-join conditions of an old-style comma join do not count."""
    return any(
        not _is_time_filter(condition, context) and not _is_join_condition(condition)
        for condition in _conjuncts(_top_block_where(query))
    )


def _is_time_filter(condition: exp.Expr, context: _Context) -> bool:
    """A predicate that `predicates` captures, or an AND / OR of them (`dt = 'a' OR dt = 'b'`)."""
    condition = condition.unnest()
    if isinstance(condition, (exp.And, exp.Or)):
        return all(_is_time_filter(part, context) for part in (condition.this, condition.expression))
    return _time_predicate(condition, context) is not None


def _is_join_condition(condition: exp.Expr) -> bool:
    """`a.k = b.k` between two differently qualified columns."""
    if not (isinstance(condition, exp.EQ) and _both_columns(condition)):
        return False
    left, right = condition.this.table.lower(), condition.expression.table.lower()
    return bool(left and right and left != right)


def _outputs(expression: exp.Expr, query: exp.Query | None) -> tuple[str, ...]:
    outputs_of = _OUTPUTS_BY_TYPE.get(type(expression))
    if outputs_of is not None:
        return outputs_of(expression)
    return _insert_columns(expression) or _output_columns(query)


def _output_columns(query: exp.Query | None) -> tuple[str, ...]:
    if query is None:
        return ()
    names: list[str] = []
    for projection in query.selects:
        if isinstance(projection, exp.Alias):
            names.append(projection.alias.lower())
        elif isinstance(projection, exp.Column) and not projection.is_star:
            names.append(projection.name.lower())
        else:
            return ()  # a star or an unnamed expression: the engine picks the name
    return tuple(names)


def _merge_outputs(merge: exp.Expr) -> tuple[str, ...]:
    """The target columns a MERGE sets or inserts, in written order; empty if one action is
    `UPDATE SET *`, `INSERT *`, `INSERT ROW` or an INSERT without a column list."""
    whens = merge.args.get("whens")
    names: list[str] = []
    for when in whens.expressions if isinstance(whens, exp.Whens) else ():
        then = when.args.get("then")
        if isinstance(then, exp.Update):
            columns = _set_columns(then)
        elif isinstance(then, exp.Insert):
            inserted = then.this
            columns = _column_names(inserted.expressions) if isinstance(inserted, exp.Tuple) else None
        else:
            continue  # DELETE
        if columns is None:
            return ()
        names.extend(columns)
    return _unique(names)


def _set_columns(update: exp.Expr) -> tuple[str, ...] | None:
    """The columns of `SET a = ..., t.b = ...`; None when a star or a tuple hides them."""
    return _column_names(assignment.this for assignment in update.expressions)


def _column_names(nodes: Iterable[exp.Expr]) -> tuple[str, ...] | None:
    names: list[str] = []
    for node in nodes:
        if not isinstance(node, exp.Column) or node.is_star:
            return None
        names.append(node.name.lower())
    return _unique(names)


def _update_outputs(update: exp.Expr) -> tuple[str, ...]:
    return _set_columns(update) or ()


# Node type -> output columns, for DML statements that have no SELECT list
_OUTPUTS_BY_TYPE: dict[type[exp.Expr], Callable[[exp.Expr], tuple[str, ...]]] = {
    exp.Merge: _merge_outputs,
    exp.Update: _update_outputs,
}


# ----------------------------------------------------------------------------------------- joins


def _joins(nodes: _Nodes, context: _Context) -> tuple[JoinInfo, ...]:
    joins: list[JoinInfo] = []
    for select in nodes.find_all(exp.Select, bfs=False):
        source = select.args.get("from_")
        if not isinstance(source, exp.From):
            continue
        labels = {source.this.alias_or_name.lower(): _source_label(source.this, context)}
        first_label = labels[source.this.alias_or_name.lower()]
        for join in select.args.get("joins") or ():
            right_alias = join.this.alias_or_name.lower()
            right_label = _source_label(join.this, context)
            right = (right_alias, right_label)
            joins.append(_join_info(join, select, labels=labels, first_label=first_label, right=right))
            labels[right_alias] = right_label
        joins.extend(JoinInfo("lateral", first_label, UNNEST) for _ in select.args.get("laterals") or ())
    return tuple(joins)


def _join_info(
    join: exp.Join,
    select: exp.Select,
    *,
    labels: Mapping[str, str],
    first_label: str,
    right: tuple[str, str],
) -> JoinInfo:
    """`labels` name the sources before this join by alias; `right` is (alias, label)."""
    right_alias, right_label = right
    kind = _join_kind(join)
    condition = join.args.get("on")
    using = join.args.get("using") or ()
    if using:
        keys = tuple((column.name.lower(), column.name.lower()) for column in using)
        return JoinInfo(kind, first_label, right_label, keys)
    if kind == "cross" and condition is None:
        # `FROM a, b WHERE a.k = b.k` is an inner join written the old way
        where = select.args.get("where")
        keys, left_alias = _equi_keys(where.this if where else None, right_alias, labels)
        if keys:
            return JoinInfo("inner", labels.get(left_alias, first_label), right_label, keys)
        return JoinInfo(kind, first_label, right_label)
    keys, left_alias = _equi_keys(condition, right_alias, labels)
    return JoinInfo(kind, labels.get(left_alias, first_label), right_label, keys, _has_time_bound(condition))


# JOIN keyword (kind first, then side) -> kind
_JOIN_KINDS: dict[str, str] = {
    "SEMI": "semi",
    "ANTI": "anti",
    "CROSS": "cross",
    "LEFT": "left",
    "RIGHT": "right",
    "FULL": "full",
}


def _join_kind(join: exp.Join) -> str:
    if isinstance(join.this, (exp.Unnest, exp.Lateral)):
        return "lateral"  # a row expanded from its own columns, not a second input
    for keyword in (join.kind, join.side):
        kind = _JOIN_KINDS.get(str(keyword or "").upper())
        if kind is not None:
            return kind
    plain = not (join.args.get("on") or join.args.get("using") or join.args.get("method"))
    return "cross" if plain else "inner"


def _source_label(source: exp.Expr, context: _Context) -> str:
    if isinstance(source, exp.Unnest) or (
        isinstance(source, exp.Lateral) and not isinstance(source.this, exp.Subquery)
    ):
        return UNNEST  # UNNEST(...), LATERAL FLATTEN(...), LATERAL explode(...)
    if isinstance(source, exp.Table) and not _is_cte_reference(source, context.cte_names):
        return _table_name(source) or SUBQUERY
    return SUBQUERY


def _equi_keys(
    condition: exp.Expr | None, right_alias: str, labels: Mapping[str, str]
) -> tuple[tuple[tuple[str, str], ...], str]:
    """Equality pairs between the right side and the sources before it, oriented (left, right)."""
    keys: list[tuple[str, str]] = []
    left_alias = ""
    for part in _conjuncts(condition):
        if not (isinstance(part, exp.EQ) and _both_columns(part)):
            continue
        left, right = part.this, part.expression
        if left.table.lower() == right_alias and right.table.lower() != right_alias:
            left, right = right, left
        if right.table and right.table.lower() != right_alias:
            continue  # relates two other sources of the block
        if left.table and left.table.lower() not in labels:
            continue
        keys.append((left.name.lower(), right.name.lower()))
        left_alias = left_alias or left.table.lower()
    return tuple(keys), left_alias


def _both_columns(condition: exp.Binary) -> bool:
    return isinstance(condition.this, exp.Column) and isinstance(condition.expression, exp.Column)


_RANGE_TYPES = (exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between)


def _has_time_bound(condition: exp.Expr | None) -> bool:
    """A range predicate relating the two sides (an interval join), e.g.
    `b.ts BETWEEN a.ts AND a.ts + INTERVAL '1' HOUR`."""
    for part in _conjuncts(condition):
        if isinstance(part, _RANGE_TYPES):
            qualifiers = {column.table.lower() for column in part.find_all(exp.Column)}
            if len(qualifiers - {""}) >= 2:
                return True
    return False


# ----------------------------------------------------------------------------------------- spans


def _spans(
    nodes: _Nodes,
    analysis: StatementAnalysis,
    context: _Context,
    first_predicate: exp.Expr | None,
    dedup_window: exp.Expr | None,
) -> dict[str, tuple[int, int]]:
    """Where each feature shows in the statement text, for findings to point at."""
    expression = nodes.root
    aggregate = next(_aggregates(nodes), None)
    window = next(iter(_windows(nodes)), None)
    grouped = next((s.args["group"] for s in nodes.find_all(exp.Select) if s.args.get("group")), None)
    sorted_query = next((q.args["order"] for q in nodes.find_all(exp.Query) if q.args.get("order")), None)
    targets = _targets(expression)
    candidates: dict[str, exp.Expr | None] = {
        "target": targets[0] if targets else None,
        "predicate": first_predicate,
        "aggregate": aggregate,
        "group_by": grouped,
        "window": window,
        "dedup": dedup_window,
        "join": nodes.find(exp.Join),
        "qualify": nodes.find(exp.Qualify),
        "set_operation": nodes.find(exp.SetOperation),
        "order_by": sorted_query,
        "unnest": nodes.find(exp.Unnest, exp.Explode),
        "lateral": nodes.find(exp.Lateral),
        "merge": expression.args.get("on") if analysis.kind == "merge" else None,
    }
    spans: dict[str, tuple[int, int]] = {}
    if analysis.command is not None:
        spans["command"] = _line_col(context.sql, _first_token_offset(context.sql, context.dialect))
    for feature, node in candidates.items():
        offset = _first_offset(node) if node is not None else None
        if offset is not None:
            spans[feature] = _line_col(context.sql, offset)
    return spans


def _first_token_offset(sql: str, dialect: str) -> int:
    """Where the statement's first keyword starts, past any leading comment."""
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(sql)
    except (SqlglotError, ValueError):
        return 0
    return tokens[0].start if tokens else 0


def _first_offset(node: exp.Expr) -> int | None:
    """The earliest source offset sqlglot recorded for the node or anything under it."""
    offsets = [n.meta_get("start") for n in node.walk()]
    known = [offset for offset in offsets if isinstance(offset, int)]
    return min(known) if known else None


def _with_spans(analysis: StatementAnalysis, spans: Mapping[str, tuple[int, int]]) -> StatementAnalysis:
    return replace(analysis, spans=dict(spans))


# --------------------------------------------------------------------------------------- helpers


def _unique(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))


def _sorted_names(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(names)))
