"""`validate_folder(out_dir) -> [Validation]`: plan every generated job in a real Flink 2.3 planner.

One JVM serves every job: a streaming `TableEnvironment` in pyflink's JVM, nothing submitted, no
broker or database reached (`PlannerPool`: several planners in it, one thread each). Each job runs
in its own Flink database, so two jobs may name the same table; its `SET` lines are applied with
`TableConfig.set` (the SQL client's `SET` is refused by a TableEnvironment) and undone after the
job.

Without the connectors' jars (the default: pyflink bundles only datagen, filesystem, print and
blackhole) every table is first created as written, its options checked against
`generators.connectors.CONNECTORS` (V604), then shadowed by a bundled stand-in of the same
changelog shape (flink_semantics.md §5):

    CREATE TEMPORARY TABLE t WITH ('connector' = 'blackhole') LIKE t (EXCLUDING OPTIONS)

| table                                        | stand-in                          | keeps         |
|----------------------------------------------|-----------------------------------|---------------|
| append source (kafka json, jdbc, ...)        | datagen                           | `[I]`         |
| CDC / upsert source (debezium-json, ...)     | filesystem + format debezium-json | `[I,UB,UA,D]` |
| upsert sink (upsert-kafka, jdbc + PK)        | blackhole                         | takes updates |
| append sink (kafka json, filesystem, no PK)  | filesystem + json                 | refuses them  |
| retract sink (kafka debezium, iceberg + PK)  | print                             | takes all     |

The shapes are the connector table's (`accepts`, `emits`, `upsert_needs_primary_key`).

Bundled tables (datagen, print, blackhole, filesystem with a bundled format) stay as written,
so their own factories check their options. Metadata columns become plain columns (no stand-in
reads metadata). With `connector_jars` (in the planner's own class loader) nothing is shadowed.

Every INSERT (or statement set) is explained with `ExplainDetail.CHANGELOG_MODE`; the optimized
physical plan gives the operators and the changelog reaching each sink. Findings:

- V601 planner-rejected: the planner refused a statement (the innermost cause, at the line of
  the statement in the job file, moved by Calcite's `line N, column M` when it gives one);
- V603 classification-mismatch: the plan disagrees with the `Class:` / `Sink:` header written by
  `kappa generate` (an append sink receiving updates fails; any other disagreement is a note);
- V604 connector-misconfigured: a required connector option or PRIMARY KEY is missing.

    >>> [s.line for s in split_statements("SET 'a' = 'x;y';\\n\\nINSERT INTO t\\nSELECT 1;")]
    [1, 3]
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from analyzer.errors import OUTPUT_FINDINGS, KappaError
from analyzer.models import Finding

from .connectors import CONNECTORS, ChangelogMode, Connector, check_options

__all__ = [
    "CODES",
    "STATE_OPERATORS",
    "FlinkPlanner",
    "Header",
    "Plan",
    "PlannerPool",
    "PlannerUnavailable",
    "Statement",
    "Validation",
    "classification_findings",
    "connector_jars_in",
    "job_files",
    "parse_plan",
    "read_header",
    "split_statements",
    "validate_folder",
]

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

# code -> name; codes never change meaning (V602 result-mismatch belongs to `verify`)
STAND_IN_CONFLICT = "ON CONFLICT clause is only allowed for upsert sinks"
_ON_CONFLICT = re.compile(r"\s+ON\s+CONFLICT\s+DO\s+\w+\s*$", re.IGNORECASE)

CODES: dict[str, str] = {code: OUTPUT_FINDINGS[code][0] for code in ("V601", "V603", "V604")}

# Operators whose state is the job's own logic, what `Class: stateful` promises. A temporal
# join's versioned table, ChangelogNormalize (a source artefact) and the sink's upsert
# materializer are not counted: the classifier calls dimension joins stateless (C403).
STATE_OPERATORS = frozenset(
    {
        "GroupAggregate",
        "GlobalGroupAggregate",
        "IncrementalGroupAggregate",
        "GroupTableAggregate",
        "GroupWindowAggregate",
        "GroupWindowTableAggregate",
        "WindowAggregate",
        "GlobalWindowAggregate",
        "PythonGroupAggregate",
        "PythonGroupWindowAggregate",
        "Join",
        "IntervalJoin",
        "WindowJoin",
        "MultiJoin",
        "Rank",
        "WindowRank",
        "Deduplicate",
        "WindowDeduplicate",
        "OverAggregate",
        "PythonOverAggregate",
        "SortLimit",
        "TemporalSort",
        "Match",
    }
)

_CDC_FORMATS = frozenset({"debezium-json", "canal-json", "maxwell-json", "ogg-json", "debezium-avro-confluent"})
_BUNDLED_FORMATS = frozenset({"json", "csv", "raw", "debezium-json", "canal-json", "maxwell-json", "ogg-json"})
_BUNDLED_CONNECTORS = frozenset({"datagen", "print", "blackhole"})  # filesystem: by its format
_UPDATES = ("UB", "UA", "D")


class PlannerUnavailable(KappaError):
    """pyflink is not installed, or its JVM does not start (no Java)."""


# ------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Statement:
    """One statement of a job file: its text (first token to before its `;`), where it starts,
    and the `--` comments between it and the previous statement (`-- source ...`)."""

    text: str
    line: int  # 1-based, in the file
    col: int = 1
    comments: tuple[str, ...] = ()
    parts: tuple[Statement, ...] = ()  # the INSERTs of a statement set

    @property
    def kind(self) -> str:
        """set | reset | create_table | insert | statement_set | ddl | query."""
        words = re.findall(r"[A-Za-z_]+", self.text[:80].upper())[:4]
        head = " ".join(words)
        if head.startswith(("EXECUTE STATEMENT SET", "STATEMENT SET", "BEGIN STATEMENT SET")):
            return "statement_set"
        if words[:1] == ["SET"]:
            return "set"
        if words[:1] == ["RESET"]:
            return "reset"
        if head.startswith(("CREATE TABLE", "CREATE TEMPORARY TABLE")):
            return "create_table"
        if words[:1] == ["INSERT"]:
            return "insert"
        if words[:1] and words[0] in _DDL_WORDS:
            return "ddl"
        return "query"  # SELECT, MERGE, UPDATE, DELETE, ...: explained, never executed


_DDL_WORDS = frozenset({"CREATE", "DROP", "ALTER", "USE", "SHOW", "DESC", "DESCRIBE", "LOAD", "UNLOAD"})


def split_statements(text: str) -> list[Statement]:
    """The statements of a Flink SQL script, split at top-level `;` (not inside '...', `...`,
    "...", comments, or an `EXECUTE STATEMENT SET BEGIN ... END` block), with their lines."""
    line_starts = [0, *(m.end() for m in re.finditer(r"\n", text))]

    def where(offset: int) -> tuple[int, int]:
        line = bisect_right(line_starts, offset)
        return line, offset - line_starts[line - 1] + 1

    statements: list[Statement] = []
    comments: list[str] = []
    start: int | None = None
    words: list[str] = []  # top-level words of the current statement, upper case
    case_depth = 0
    closing_end = False  # the last word was an END that closes a BEGIN block
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char == "-" and text.startswith("--", index):
            end = text.find("\n", index)
            end = size if end < 0 else end
            if start is None:
                comments.append(text[index + 2 : end].strip())
            index = end
            continue
        if char == "/" and text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = size if end < 0 else end + 2
            continue
        if char.isspace():
            index += 1
            continue
        if start is None:
            start = index
        if char in "'`\"":
            index = _skip_quoted(text, index)
            closing_end = False
            continue
        if char.isalpha() or char == "_":
            match = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*").match(text, index)
            assert match is not None
            word = match.group().upper()
            words.append(word)
            closing_end = False
            if _in_block(words):
                if word == "CASE":
                    case_depth += 1
                elif word == "END":
                    if case_depth:
                        case_depth -= 1
                    else:
                        closing_end = True
            index = match.end()
            continue
        if char == ";":
            if not _in_block(words) or closing_end:
                if text[start:index].strip():  # `;;` is no statement
                    statements.append(_statement(text, start, index, comments, where))
                start, comments, words, case_depth, closing_end = None, [], [], 0, False
            index += 1
            continue
        closing_end = False
        index += 1
    if start is not None and text[start:].strip():
        statements.append(_statement(text, start, size, comments, where))
    return statements


def _in_block(words: Sequence[str]) -> bool:
    return words[:3] in (["EXECUTE", "STATEMENT", "SET"], ["BEGIN", "STATEMENT", "SET"]) or words[:2] == [
        "STATEMENT",
        "SET",
    ]


def _skip_quoted(text: str, index: int) -> int:
    """The offset after the quoted string or identifier at `index` (a doubled quote escapes)."""
    quote = text[index]
    index += 1
    while index < len(text):
        if text[index] == quote:
            if text.startswith(quote * 2, index):
                index += 2
                continue
            return index + 1
        index += 1
    return index


def _statement(
    text: str, start: int, end: int, comments: Sequence[str], where: Callable[[int], tuple[int, int]]
) -> Statement:
    body = text[start:end].rstrip()
    line, col = where(start)
    statement = Statement(body, line, col, tuple(comments))
    if statement.kind != "statement_set":
        return statement
    # the INSERTs inside BEGIN ... END (or `BEGIN STATEMENT SET; ... END`), each with its place
    opening = r";" if body.upper().startswith("BEGIN") else r"\bBEGIN\b"
    begin = re.search(opening, body, re.IGNORECASE)
    inner_start = start + (begin.end() if begin else 0)
    close = re.search(r"\bEND\s*$", body, re.IGNORECASE)
    inner_end = start + (close.start() if close else len(body))
    blank = re.sub(r"[^\n]", " ", text[:inner_start])  # keeps every offset, line and column
    inner = split_statements(blank + text[inner_start:inner_end])
    parts = tuple(s for s in inner if s.kind in {"insert", "query"})
    return Statement(body, line, col, tuple(comments), parts)


# ---------------------------------------------------------------------------------- header


@dataclass(frozen=True)
class Header:
    """The classification `kappa generate` wrote: `-- Pattern: ... Class: ... Sink: ... (...)`."""

    classification: str = ""  # stateless | stateful | sink-update | "" (no header)
    sink_mode: str = ""  # append | upsert | ""
    line: int = 1


_HEADER = re.compile(r"^--.*?\bClass:\s*(?P<cls>[\w-]+)(?:.*?\bSink:\s*(?P<sink>[\w-]+))?")


def read_header(text: str) -> Header:
    """The job's declared class and sink mode, from the comment lines that open the file.

    >>> read_header("-- Pattern: fix    Class: stateful    Sink: upsert (jdbc)\\nSET 'a' = 'b';")
    Header(classification='stateful', sink_mode='upsert', line=1)
    """
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("--"):
            break
        match = _HEADER.match(line.strip())
        if match is not None:
            return Header(match.group("cls").lower(), (match.group("sink") or "").lower(), number)
    return Header()


# ------------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class Plan:
    """What the optimized physical plan shows: node names top-down (each once) and, per sink,
    the changelog mode of its input."""

    operators: tuple[str, ...] = ()
    sinks: tuple[tuple[str, str], ...] = ()  # (table, "[I,UA]")

    @property
    def sink_changelog(self) -> str:
        modes = dict(self.sinks)
        if len(set(modes.values())) <= 1:
            return next(iter(modes.values()), "")
        return "; ".join(f"{table} {mode}" for table, mode in self.sinks)

    def merge(self, other: Plan) -> Plan:
        return Plan(tuple(dict.fromkeys([*self.operators, *other.operators])), (*self.sinks, *other.sinks))


_NODE = re.compile(r"^(?P<indent>[\s:|+\-]*)(?P<name>[A-Z][A-Za-z0-9]*)\(")
_CHANGELOG = re.compile(r"changelogMode=\[(?P<mode>[A-Z,]*)\]")
_SINK_TABLE = re.compile(r"^Sink\(table=\[(?P<table>[^\]]+)\]")


def parse_plan(explain: str) -> Plan:
    """Operators and sink changelogs from `explain_sql(..., ExplainDetail.CHANGELOG_MODE)`.

    >>> parse_plan('''== Optimized Physical Plan ==
    ... Sink(table=[c.d.out], fields=[k, n], changelogMode=[NONE])
    ... +- GroupAggregate(groupBy=[k], select=[k, COUNT(*) AS n], changelogMode=[I,UA])
    ...    +- TableSourceScan(table=[[c, d, src]], fields=[k], changelogMode=[I])
    ...
    ... == Optimized Execution Plan ==''')
    Plan(operators=('Sink', 'GroupAggregate', 'TableSourceScan'), sinks=(('out', '[I,UA]'),))
    """
    section = re.search(r"^== Optimized Physical Plan[^\n]*==\n(?P<body>.*?)(?=^== |\Z)", explain, re.M | re.S)
    lines = section.group("body").splitlines() if section else []
    operators: list[str] = []
    sinks: list[tuple[str, str]] = []
    for index, line in enumerate(lines):
        node = _NODE.match(line)
        if node is None:
            continue
        name = node.group("name")
        operators.append(name)
        if name != "Sink":
            continue
        body = line[node.start("name") :]
        if "upsertMaterialize=[true]" in body:
            operators.append("SinkUpsertMaterializer")
        table = _SINK_TABLE.match(body)
        child = lines[index + 1] if index + 1 < len(lines) else ""
        mode = _CHANGELOG.search(child)
        sinks.append(
            ((table.group("table").split(".")[-1] if table else "?"), f"[{mode.group('mode')}]" if mode else "")
        )
    return Plan(tuple(dict.fromkeys(operators)), tuple(sinks))


def classification_findings(header: Header, plan: Plan, job_path: str) -> list[Finding]:
    """V603 where the plan disagrees with the header. An append sink that receives updates is
    an error (the caller fails the job); any other disagreement is a note."""
    findings: list[Finding] = []
    if not header.classification:
        return findings
    state = [op for op in plan.operators if op in STATE_OPERATORS]
    if header.classification in {"stateless", "sink-update"} and state:
        findings.append(
            _finding(
                "V603",
                f"header says Class: {header.classification}, but the plan keeps state in "
                f"{', '.join(state)}; the planner accepted the job",
                job_path,
                header.line,
            )
        )
    elif header.classification == "stateful" and not state:
        findings.append(
            _finding(
                "V603",
                "header says Class: stateful, but the plan keeps no state of its own "
                f"({', '.join(plan.operators)}); the planner accepted the job",
                job_path,
                header.line,
            )
        )
    if header.sink_mode == "append":
        updating = [(table, mode) for table, mode in plan.sinks if any(k in mode for k in _UPDATES)]
        for table, mode in updating:
            findings.append(
                _finding(
                    "V603",
                    f"header says Sink: append, but {table} receives updates {mode}; {_APPEND_REFUSES}",
                    job_path,
                    header.line,
                )
            )
    return findings


_APPEND_REFUSES = "an append-only sink refuses them"


def _is_failure(finding: Finding) -> bool:
    """V601 and V604 fail a job; a V603 only when an append sink would receive updates."""
    return finding.code != "V603" or finding.message.endswith(_APPEND_REFUSES)


def _finding(code: str, message: str, file: str, line: int, col: int = 1) -> Finding:
    return Finding(code, CODES[code], message, file, max(line, 1), max(col, 1))


# ------------------------------------------------------------------------------ validation


@dataclass(frozen=True)
class Validation:
    """One job's outcome. `failed`: a V601 or V604 finding, or a V603 append sink receiving
    updates; `skipped`: nothing to plan, or a lookup join no stand-in can serve; else `passed`,
    V603 notes included. `operators` and `sink_changelog` come from the optimized plan."""

    job_path: str
    status: str  # passed | failed | skipped
    message: str
    operators: tuple[str, ...] = ()
    sink_changelog: str = ""
    findings: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The `validation` entry of analysis.json, with the plan's facts added."""
        return {
            "status": self.status,
            "message": self.message,
            "operators": list(self.operators),
            "sink_changelog": self.sink_changelog,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class _Table:
    """A table as created in the catalog, and what the job file said about it."""

    name: str  # as written (backticks kept)
    statement: Statement
    role: str  # source | sink
    options: Mapping[str, str]
    primary_key: bool
    metadata: tuple[tuple[str, str, bool], ...]  # (name, type, virtual)
    temporary: bool


@dataclass
class _Job:
    """One job's run: its database, the config it changed, its findings."""

    path: str
    database: str
    findings: list[Finding] = field(default_factory=list)
    config: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # key -> (table, root)
    set_lines: dict[str, int] = field(default_factory=dict)
    tables: dict[str, Statement] = field(default_factory=dict)  # bare name -> its CREATE TABLE
    stand_in_sources: list[str] = field(default_factory=list)  # sources shadowed by a stand-in
    skipped: str = ""


class _Rejected(Exception):
    """A statement the planner refused, already located."""

    def __init__(self, finding: Finding, lookup_join: bool = False) -> None:
        super().__init__(finding.message)
        self.finding = finding
        self.lookup_join = lookup_join


_GENERATED_CODE_MAX_LENGTH = "table.generated-code.max-length"
_JAVA_INT_MAX = 2**31 - 1
_SEPARATOR = "\x00"  # between the keys of a Java map read at once


class FlinkPlanner:
    """One streaming TableEnvironment (one JVM) that plans job after job.

    >>> with FlinkPlanner() as planner:  # doctest: +SKIP
    ...     planner.validate(Path("jobs/d/t/job.sql").read_text(), "jobs/d/t/job.sql").status
    'passed'

    The JVM is pyflink's gateway, shared by the whole Python process: `close()` drops what the
    planner created; the JVM itself ends with the process.

    It calls the Java TableEnvironment and TableConfig directly, not pyflink's wrappers: these
    look up Java classes by name on every call (`jvm.org.apache.flink...`, one round trip per
    dot, 0.8 ms a lookup), which was a quarter of a job's validation. What the wrappers add is
    for running Python functions and jobs (jars copied into the execution config), not planning.
    """

    def __init__(self, connector_jars: Sequence[Path] = ()) -> None:
        try:
            # pyflink is optional (`kappa-migrate[flink]`) and importing it is slow
            from .gateway import thread_gateway  # noqa: PLC0415
        except ImportError as error:  # pragma: no cover - depends on the install
            raise PlannerUnavailable(
                f"pyflink is not installed ({error}); pip install 'kappa-migrate[flink]'"
            ) from error
        self.connector_jars = tuple(Path(jar).resolve() for jar in connector_jars)
        try:
            self._gateway: Any = thread_gateway()
            self._env: Any = self._table_environment(self._gateway.jvm)
        except Exception as error:  # the gateway raises bare Exceptions when Java is missing
            raise PlannerUnavailable(f"the Flink JVM did not start: {_first_line(str(error))}") from error
        jvm = self._gateway.jvm
        self._config: Any = self._env.getConfig()
        # Planning generates each operator's Java code, then splits it into methods small enough
        # for the JVM's 64 KB limit, which matters when the code is compiled to run, not here:
        # the split (an ANTLR parse of the code) was a third of a job's planning time.
        self._config.set(_GENERATED_CODE_MAX_LENGTH, str(_JAVA_INT_MAX))
        self._explain_format: Any = jvm.org.apache.flink.table.api.ExplainFormat.TEXT
        self._explain_details: Any = self._gateway.new_array(jvm.org.apache.flink.table.api.ExplainDetail, 1)
        self._explain_details[0] = jvm.org.apache.flink.table.api.ExplainDetail.CHANGELOG_MODE
        self._join: Any = jvm.java.lang.String.join
        self._scratch = Path(tempfile.mkdtemp(prefix="kappa-validate-"))
        self._jobs = 0
        self._base: dict[str, tuple[str | None, str | None]] = {}  # key -> (table, root) before any job
        self._catalog: str = self._env.getCurrentCatalog()
        self._database: str = self._env.getCurrentDatabase()

    def _table_environment(self, jvm: Any) -> Any:
        """A streaming TableEnvironment made by Flink's Java API, not pyflink's: pyflink's also
        readies Python functions (a loopback server, an executor rewriting the plan's Python
        operators), which plain SQL jobs do not use and which made each plan slower. The
        connector jars go into its own class loader, so other planners of the JVM do not see
        them."""
        settings = jvm.org.apache.flink.table.api.EnvironmentSettings.newInstance().inStreamingMode()
        if self.connector_jars:
            urls = self._gateway.new_array(jvm.java.net.URL, len(self.connector_jars))
            for index, jar in enumerate(self.connector_jars):
                urls[index] = jvm.java.net.URI(jar.as_uri()).toURL()
            parent = jvm.java.lang.Thread.currentThread().getContextClassLoader()
            settings = settings.withClassLoader(jvm.java.net.URLClassLoader(urls, parent))
        return jvm.org.apache.flink.table.api.TableEnvironment.create(settings.build())

    def __enter__(self) -> FlinkPlanner:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)
        self._gateway.close()

    def validate_all(self, jobs: Iterable[tuple[str, str]]) -> Iterator[Validation]:
        """`validate(job_sql, job_path)` of each pair, in order."""
        return (self.validate(job_sql, job_path) for job_sql, job_path in jobs)

    # ----------------------------------------------------------------------------- one job

    def validate(self, job_sql: str, job_path: str) -> Validation:
        """Plan one job; errors in it become findings, never exceptions."""
        self._jobs += 1
        job = _Job(job_path, f"kappa_validate_{self._jobs}")
        statements = split_statements(job_sql)
        header = read_header(job_sql)
        plan = Plan()
        explained = 0
        self._env.executeSql(f"CREATE DATABASE `{job.database}`")
        self._env.useDatabase(job.database)
        try:
            targets = _insert_targets(statements)
            for statement in statements:
                kind = statement.kind
                if kind in {"set", "reset"}:
                    self._apply_setting(job, statement)
                elif kind == "create_table":
                    self._create_table(job, statement, targets)
                elif kind == "ddl":
                    self._run(job, statement, partial(self._env.executeSql, statement.text))
                else:
                    plan = plan.merge(self._explain(job, statement))
                    explained += 1
        except _Rejected as refusal:
            if refusal.lookup_join and job.stand_in_sources:
                # no bundled connector is a lookup source: only the real one can plan the join
                job.skipped = (
                    "a processing-time lookup join needs the dimension's real connector (stand-ins for "
                    f"{', '.join(job.stand_in_sources)}): validate with --connector-jars"
                )
            else:
                job.findings.append(refusal.finding)
        finally:
            self._clean_up(job)
        if job.skipped:
            return Validation(job_path, SKIPPED, job.skipped, findings=tuple(job.findings))
        rejected = any(f.code == "V601" for f in job.findings)
        if not rejected and not explained:
            return Validation(job_path, SKIPPED, "no INSERT to plan", findings=tuple(job.findings))
        if not rejected:
            job.findings.extend(classification_findings(header, plan, job_path))
        failed = any(_is_failure(f) for f in job.findings)
        findings = tuple(sorted(job.findings, key=Finding.sort_key))
        if failed:
            first = next(f for f in findings if _is_failure(f))
            return Validation(
                job_path, FAILED, f"{first.code} {first.message}", plan.operators, plan.sink_changelog, findings
            )
        state = [op for op in plan.operators if op in STATE_OPERATORS]
        message = f"planned: {', '.join(state) or 'no state'}; sink receives {plan.sink_changelog or '?'}" + (
            "" if not findings else f" ({len(findings)} note{'s' if len(findings) > 1 else ''})"
        )
        return Validation(job_path, PASSED, message, plan.operators, plan.sink_changelog, findings)

    def _apply_setting(self, job: _Job, statement: Statement) -> None:
        match = _SET.match(statement.text.strip())
        if match is None:
            return  # bare `SET;` / `RESET;` list or reset everything: nothing to plan with
        key = _unquote(match.group("key"))
        if key == "execution.runtime-mode":
            return  # always streaming here
        if key not in job.config:  # the value before this job, to put back after it
            job.config[key] = self._base_value(key)
        job.set_lines[key] = statement.line
        if statement.kind == "reset":
            self._restore(key, job.config[key])
        else:
            self._config.set(key, _unquote(match.group("value") or ""))

    def _base_value(self, key: str) -> tuple[str | None, str | None]:
        """A key's value in the table config and in the root config before any job set it.

        Read once per key: every job puts back what it set, so the values are the same before
        each job, and each read costs several calls into the JVM.
        """
        if key not in self._base:
            root = self._config.getRootConfiguration()
            table = self._config.getConfiguration()
            self._base[key] = (
                str(table.getString(key, "")) if table.containsKey(key) else None,
                str(root.getString(key, "")) if root.containsKey(key) else None,
            )
        return self._base[key]

    def _restore(self, key: str, previous: tuple[str | None, str | None]) -> None:
        """Put a key back in both the table config and the root config (the planner copies the
        table config into the root one when it plans)."""
        table_value, root_value = previous
        if table_value is None:
            self._config.getConfiguration().removeKey(key)
        else:
            self._config.set(key, table_value)
        root = self._config.getRootConfiguration()
        if root_value is None:
            root.removeKey(key)
        else:
            root.setString(key, root_value)

    def _create_table(self, job: _Job, statement: Statement, targets: set[str]) -> None:
        match = _CREATE_TABLE.match(statement.text.strip())
        if match is None:  # pragma: no cover - kind says it is a CREATE TABLE
            self._run(job, statement, lambda: self._env.executeSql(statement.text))
            return
        name = match.group("name")
        self._run(job, statement, lambda: self._env.executeSql(statement.text))
        job.tables[_bare(name)] = statement
        table: _Table = self._run(job, statement, lambda: self._describe(name, statement, targets))
        connector = _connector(table.options)
        if connector is not None:
            self._check_connector(job, table, connector)
        if self.connector_jars:
            return
        stand_in = _stand_in(table, connector, self._scratch / job.database / _bare(name))
        if stand_in is None:
            return
        if table.role == "source":
            job.stand_in_sources.append(_bare(name))
        # a location in the error would be in the stand-in's DDL, not in the file
        self._run(job, statement, lambda: self._shadow(table, stand_in), located=False)

    def _describe(self, name: str, statement: Statement, targets: set[str]) -> _Table:
        manager = self._env.getCatalogManager()
        identifier = manager.qualifyIdentifier(self._env.getParser().parseIdentifier(name))
        resolved = manager.getTable(identifier).get()
        catalog_table = resolved.getResolvedTable()
        schema = catalog_table.getResolvedSchema()
        metadata = tuple(
            (
                str(column.getName()),
                str(column.getDataType().getLogicalType().asSerializableString()),
                bool(column.isVirtual()),
            )
            # an array, not the list: py4j ends iterating a Java collection on a Java exception,
            # whose conversion costs pyflink a millisecond of class lookups
            for column in (schema.getColumns().toArray() if _MAY_HAVE_METADATA.search(statement.text) else ())
            if column.getClass().getSimpleName() == "MetadataColumn"
        )
        options = self._string_map(catalog_table.getOptions())
        role = _role(statement.comments) or ("sink" if _bare(name) in targets else "source")
        return _Table(
            name,
            statement,
            role,
            options,
            bool(schema.getPrimaryKey().isPresent()),
            metadata,
            bool(resolved.isTemporary()),
        )

    def _string_map(self, java_map: Any) -> dict[str, str]:
        """A Java Map<String, String> as a dict: its keys in one call (`String.join`), then
        each value.

        Iterating a Java collection through py4j ends on a Java exception, whose conversion costs
        pyflink a millisecond of class lookups; py4j passes a key set to the JVM as it is.
        """
        keys_text = str(self._join(_SEPARATOR, java_map.keySet()))
        keys = keys_text.split(_SEPARATOR) if keys_text or not java_map.isEmpty() else []
        if len(keys) != java_map.size():  # the separator inside a key: ask for them one by one
            keys = [str(key) for key in java_map.keySet().toArray()]
        return {key: str(java_map.get(key)) for key in keys}

    def _check_connector(self, job: _Job, table: _Table, connector: Connector) -> None:
        problems = []
        if table.role == "sink":  # the table's extra checks are about reading (a kafka consumer group)
            connector = replace(connector, checks=())
        missing = check_options(connector, table.options)
        if missing:
            problems.append(f"missing required option{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        if table.role == "sink" and connector.needs_primary_key and not table.primary_key:
            problems.append("needs a PRIMARY KEY")
        if problems:
            line = _options_line(table.statement)
            job.findings.append(
                _finding("V604", f"{connector.name} table {_bare(table.name)}: {'; '.join(problems)}", job.path, line)
            )

    def _shadow(self, table: _Table, stand_in: Mapping[str, str]) -> None:
        like_source = table.name
        if table.temporary:  # a temporary table cannot be shadowed: copy it aside, then replace it
            like_source = f"`{_bare(table.name)}__kappa_original`"
            self._env.executeSql(f"CREATE TEMPORARY TABLE {like_source} LIKE {table.name}")
            self._env.executeSql(f"DROP TEMPORARY TABLE {table.name}")
        keep = [(n, t) for n, t, virtual in table.metadata if table.role == "source" or not virtual]
        columns = f" ({', '.join(f'`{n}` {t}' for n, t in keep)})" if keep else ""
        options = ", ".join(f"'{_quote(k)}' = '{_quote(v)}'" for k, v in stand_in.items())
        like = ["EXCLUDING OPTIONS"]
        if table.metadata:
            like.append("EXCLUDING METADATA")
        if stand_in["connector"] != "filesystem":
            like.extend(["EXCLUDING PARTITIONS", "EXCLUDING DISTRIBUTION"])
        self._env.executeSql(
            f"CREATE TEMPORARY TABLE {table.name}{columns} WITH ({options}) LIKE {like_source} ({' '.join(like)})"
        )

    def _explain(self, job: _Job, statement: Statement) -> Plan:
        if statement.kind != "statement_set":
            return parse_plan(self._run(job, statement, lambda: self._explain_one(statement)))
        statement_set = self._env.createStatementSet()
        for part in statement.parts:
            self._run(job, part, partial(statement_set.addInsertSql, part.text))
        try:
            return parse_plan(str(statement_set.explain(self._explain_format, self._explain_details)))
        except Exception as error:
            for part in statement.parts:  # the INSERT that fails on its own, if one does
                self._run(job, part, partial(self._explain_one, part))
            raise self._rejection(job, statement, error) from None

    def _explain_one(self, statement: Statement) -> str:
        try:
            return str(self._env.explainSql(statement.text, self._explain_format, self._explain_details))
        except Exception as error:
            # a stand-in sink (blackhole) is an upsert sink only for updating input; the real
            # upsert-kafka / jdbc sink wants ON CONFLICT for an insert-only one too
            if not any(STAND_IN_CONFLICT in m for m in _cause_messages(error)):
                raise
            plain = _ON_CONFLICT.sub("", statement.text)
            return str(self._env.explainSql(plain, self._explain_format, self._explain_details))

    def _run(self, job: _Job, statement: Statement, action: Callable[[], Any], located: bool = True) -> Any:
        try:
            return action()
        except _Rejected:
            raise
        except Exception as error:
            raise self._rejection(job, statement, error, located) from None

    def _rejection(self, job: _Job, statement: Statement, error: BaseException, located: bool = True) -> _Rejected:
        # the job's database is ours, not the job's: "Table sink 'default_catalog.kappa_validate_3.t'"
        scratch = re.compile(rf"`?{re.escape(self._catalog)}`?\.`?{job.database}`?\.")
        messages = [scratch.sub("", message) for message in _cause_messages(error)]
        innermost = messages[-1] if messages else _first_line(str(error)) or type(error).__name__
        line, col = statement.line, statement.col
        location = next((m for m in map(_LOCATION.search, reversed(messages)) if m), None)
        if location is not None and located:
            inner_line, inner_col = int(location.group("line")), int(location.group("col"))
            line = statement.line + inner_line - 1
            col = statement.col + inner_col - 1 if inner_line == 1 else inner_col
        for key, set_line in job.set_lines.items():  # a bad SET value fails at EXPLAIN, not at SET
            if any(f"'{key}'" in message for message in messages):
                line, col = set_line, 1
        factory = next((m for m in map(_FACTORY.search, messages) if m), None)
        if factory is not None and _bare(factory.group("table")) in job.tables:
            # options are checked when EXPLAIN creates the source or sink: point at them
            created = job.tables[_bare(factory.group("table"))]
            line, col = _options_line(created), 1
        lookup = "Processing-time temporal join is not supported" in " ".join(messages)
        return _Rejected(_finding("V601", innermost, job.path, line, col), lookup_join=lookup)

    def _clean_up(self, job: _Job) -> None:
        """Undo the job's SET lines, drop its temporary tables and views and its database."""
        for key, previous in job.config.items():
            self._restore(key, previous)
        env = self._env
        env.useCatalog(self._catalog)
        try:
            env.useDatabase(job.database)
            for view in env.listTemporaryViews():
                env.dropTemporaryView(view)
            for table in env.listTemporaryTables():
                env.dropTemporaryTable(table)
        except Exception:  # the job dropped or left its database: nothing of it to drop
            pass
        env.useDatabase(self._database)
        env.executeSql(f"DROP DATABASE IF EXISTS `{job.database}` CASCADE")


class PlannerPool:
    """`workers` planners in the one JVM, each on a thread of its own; `validate_all` hands them
    the jobs in turn and gives the results in the jobs' order.

    Validating a job is waiting for the JVM (Python's share is 2%), which plans it on one
    thread: with two planners two cores plan at once (`generators.gateway` on the JVM's options).
    A planner stays on the thread that made it: Flink's planner works only on the Java thread
    that built it, and each thread reaches the JVM through a connection of its own.

    >>> with PlannerPool(workers=2) as pool:  # doctest: +SKIP
    ...     results = list(pool.validate_all([(job_sql, "jobs/d/t/job.sql")]))
    """

    def __init__(self, connector_jars: Sequence[Path] = (), workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.connector_jars = tuple(connector_jars)
        self.workers = workers
        self._own = threading.local()
        self._planners: list[FlinkPlanner] = []
        self._planners_lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kappa-planner")
        try:
            self._threads.submit(self._planner).result()  # a JVM that cannot start says so here
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> PlannerPool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._planners_lock:
            planners, self._planners = self._planners, []
        for planner in planners:
            planner.close()

    def validate_all(self, jobs: Iterable[tuple[str, str]]) -> Iterator[Validation]:
        """`FlinkPlanner.validate(job_sql, job_path)` of each pair, in order."""
        return self._threads.map(self._validate, jobs)

    def _validate(self, job: tuple[str, str]) -> Validation:
        return self._planner().validate(*job)

    def _planner(self) -> FlinkPlanner:
        planner: FlinkPlanner | None = getattr(self._own, "planner", None)
        if planner is None:
            planner = self._own.planner = FlinkPlanner(self.connector_jars)
            with self._planners_lock:
                self._planners.append(planner)
        return planner


# ------------------------------------------------------------------------------- stand-ins


def _connector(options: Mapping[str, str]) -> Connector | None:
    """The CONNECTORS entry for a table's options (kafka with a CDC format is kafka-debezium)."""
    name = options.get("connector", "")
    if name == "kafka" and _format(options) in _CDC_FORMATS:
        name = "kafka-debezium"
    return CONNECTORS.get(name)


def _format(options: Mapping[str, str]) -> str:
    return options.get("format") or options.get("value.format") or ""


def _stand_in(table: _Table, connector: Connector | None, path: Path) -> dict[str, str] | None:
    """The bundled connector that plays the table's part, or None to keep it as written."""
    name = table.options.get("connector", "")
    if name in _BUNDLED_CONNECTORS or (name == "filesystem" and _format(table.options) in _BUNDLED_FORMATS):
        return None
    if table.role == "source":
        emits = connector.emits if connector is not None else None
        if emits is None:
            cdc = _format(table.options) in _CDC_FORMATS or name.endswith("-cdc")
            emits = ChangelogMode.RETRACT if cdc else ChangelogMode.APPEND
        if emits is ChangelogMode.APPEND:
            return {"connector": "datagen"}
        # no bundled source gives upserts ([UA,D]): a full changelog is the nearest
        return {"connector": "filesystem", "path": str(path), "format": "debezium-json"}
    shape = _sink_shape(table, connector)
    if shape is ChangelogMode.UPSERT:
        return {"connector": "blackhole"}
    if shape is ChangelogMode.RETRACT:
        return {"connector": "print"}
    return {"connector": "filesystem", "path": str(path), "format": "json"}


def _sink_shape(table: _Table, connector: Connector | None) -> ChangelogMode:
    if connector is None:  # the usual rule (jdbc, elasticsearch): upsert by a declared key
        if _format(table.options) in _CDC_FORMATS:
            return ChangelogMode.RETRACT
        return ChangelogMode.UPSERT if table.primary_key else ChangelogMode.APPEND
    keyed = table.primary_key or not (connector.needs_primary_key or connector.upsert_needs_primary_key)
    if ChangelogMode.RETRACT in connector.accepts and keyed:
        return ChangelogMode.RETRACT
    if ChangelogMode.UPSERT in connector.accepts and keyed:
        return ChangelogMode.UPSERT
    return ChangelogMode.APPEND


# --------------------------------------------------------------------------------- helpers

_IDENT = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_CREATE_TABLE = re.compile(
    rf"CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>{_IDENT}(?:\s*\.\s*{_IDENT})*)",
    re.IGNORECASE,
)
_INSERT = re.compile(
    rf"\bINSERT\s+(?:INTO|OVERWRITE)\s+(?:TABLE\s+)?(?P<name>{_IDENT}(?:\s*\.\s*{_IDENT})*)", re.IGNORECASE
)
_SET = re.compile(
    r"^(?:SET|RESET)\s+(?P<key>'(?:[^']|'')*'|[\w.\-]+)(?:\s*=\s*(?P<value>'(?:[^']|'')*'|.*?))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
# A table has metadata columns only if its DDL declares them or copies another table's (LIKE):
# without either word, the column-by-column look (two JVM calls a column) is skipped.
_MAY_HAVE_METADATA = re.compile(r"\b(?:METADATA|LIKE)\b", re.IGNORECASE)
_LOCATION = re.compile(r"\bline (?P<line>\d+), column (?P<col>\d+)", re.IGNORECASE)
_FACTORY = re.compile(r"Unable to create a (?:source|sink) for (?:reading|writing) table '(?P<table>[^']+)'")
_ROLE = re.compile(r"^(?P<role>source|sink)\b", re.IGNORECASE)


def _insert_targets(statements: Iterable[Statement]) -> set[str]:
    return {
        _bare(match.group("name"))
        for statement in statements
        if statement.kind in {"insert", "statement_set"}
        for match in _INSERT.finditer(statement.text)
    }


def _role(comments: Sequence[str]) -> str:
    roles = [m.group("role").lower() for m in map(_ROLE.match, comments) if m]
    return roles[-1] if roles else ""


def _bare(name: str) -> str:
    """The table's own name, unquoted: "`db`.`t`" -> "t"."""
    parts: list[tuple[str, str]] = re.findall(r"`((?:[^`]|``)+)`|([\w$]+)", name)
    quoted, plain = parts[-1]
    return quoted.replace("``", "`") if quoted else plain


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1].replace("''", "'")
    return value


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _options_line(statement: Statement) -> int:
    """The line of the `WITH (` of a CREATE TABLE's options (its first line if it has none)."""
    matches = list(re.finditer(r"\)\s*(WITH)\s*\(", statement.text, re.IGNORECASE))
    return statement.line + (statement.text.count("\n", 0, matches[-1].start(1)) if matches else 0)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


_JAVA_PREFIX = re.compile(r"^(?:Caused by:\s*)?(?:[a-z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error)\s*:\s*")


def _cause_messages(error: BaseException) -> list[str]:
    """The messages of a Java exception and its causes, outermost first, one line each.

    py4j errors carry the Java exception; pyflink's own wrappers (TableException, ...) only
    its printed stack trace, whose `Caused by:` lines give the chain.
    """
    java = getattr(error, "java_exception", None)
    messages: list[str] = []
    if java is not None:
        seen = 0
        while java is not None and seen < 50:
            message = java.getMessage()
            messages.append(_first_line(str(message)) if message else str(java.getClass().getSimpleName()))
            java = java.getCause()
            seen += 1
        return messages
    trace = getattr(error, "stack_trace", None)
    if isinstance(trace, str):
        lines = trace.splitlines()
        heads = [lines[0]] if lines else []
        heads += [line for line in lines if line.startswith("Caused by:")]
        return [_JAVA_PREFIX.sub("", head).strip() for head in heads if head.strip()]
    return []


# ------------------------------------------------------------------------------------ folder


def connector_jars_in(folder: Path) -> list[Path]:
    """The `*.jar` files of a folder (`--connector-jars DIR`), sorted."""
    return sorted(path for path in folder.glob("*.jar") if path.is_file())


def job_files(out_dir: Path) -> list[Path]:
    """Every `jobs/**/job.sql` under a `kappa generate` output folder, sorted (drafts excluded)."""
    return sorted((out_dir / "jobs").rglob("job.sql"))


def validate_folder(out_dir: Path, planner: FlinkPlanner | PlannerPool | None = None) -> list[Validation]:
    """Validate every generated job under `out_dir`, in path order; paths are relative to it.

    Without a planner one is started (and closed) here; when pyflink cannot start, every job is
    `skipped` with the reason.
    """
    files = job_files(out_dir)
    jobs = ((path.read_text(encoding="utf-8"), path.relative_to(out_dir).as_posix()) for path in files)
    if planner is not None:
        return list(planner.validate_all(jobs))
    try:
        own = FlinkPlanner()
    except PlannerUnavailable as error:
        return [Validation(path.relative_to(out_dir).as_posix(), SKIPPED, str(error)) for path in files]
    with own:
        return list(own.validate_all(jobs))
