"""`generate(analysis) -> [GeneratedJob]`: one Flink SQL job per job that should stream, and for
every other job the reason it retires or needs a person.

Decisions come first (`decide`), as a table over the job's pattern and SQL status, plus one
repository-wide step: each table gets one *owner*, the job that will write it as a stream;
other writers of that table are fix jobs (folded into the owner: their lookback becomes its
allowed lateness) or reprocess jobs (replaced by a replay of the owner). Then each generated job
is assembled from its statements' streaming forms (`streaming.to_stream`), the Flink DDL of its
sources and its sink (`schema`, `connectors`), and the `flink_job.sql.j2` template.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from analyzer.errors import UsageError
from analyzer.models import Analysis, Finding, Job, Pattern, SinkMode, SqlStatus
from analyzer.resources import one_line, render_template

from .config import GenerateConfig
from .connectors import CONNECTORS, ConnectorContext, sink_for, writable_type
from .flink_dialect import require_flink_dialect, to_flink
from .output import safe_name
from .schema import FlinkColumn, FlinkTable, resolve_table
from .streaming import (
    StreamContext,
    StreamStatement,
    flink_identifier,
    group_key_outputs,
    output_columns,
    table_name,
    to_stream,
)

GENERATED, RETIRED, MANUAL = "generated", "retired", "manual"

# what replaces each optimize rule once the batch layer is gone
RETIREMENT: dict[str, str] = {
    "O201": "sink-side compaction: Paimon `full-compaction.delta-commits` / Iceberg "
    "`write.target-file-size-bytes` with rewrite by the table service, or the filesystem sink's "
    "`'auto-compaction' = 'true'`",
    "O202": "snapshot expiry as table options: Paimon `snapshot.time-retained`, Iceberg "
    "`history.expire.max-snapshot-age-ms`",
    "O203": "clustering while writing: Paimon `sink.clustering.by-columns` / Iceberg write sort order",
    "O204": "one Iceberg commit per checkpoint keeps manifests few; `commit.manifest-merge.enabled` = 'true'",
    "O205": "the streaming sink writes right-sized files (`sink.rolling-policy.file-size`, `auto-compaction`)",
    "O206": "nothing: streaming plans do not read table statistics",
    "O207": "the sink commits partitions itself: `sink.partition-commit.policy.kind` = 'metastore,success-file'",
    "O208": "retention as configuration: topic `retention.ms`, Paimon `partition.expiration-time`, state TTL",
}

REPLAY: dict[str, str] = {
    "R301": "a full rebuild becomes a replay: start this job from the earliest offsets into a new sink version, "
    "then switch readers to it",
    "R302": "history (the catchup range) is replayed once from the log's earliest offsets, or re-run with "
    "the same SQL in batch mode (`SET 'execution.runtime-mode' = 'batch'`) over the archive",
    "R303": "a manual backfill becomes: stop with a savepoint, replay the period from its offsets (or run "
    "this SQL in batch mode over the bounded range) into the same upsert sink, then resume",
    "R304": "`airflow dags backfill` becomes a replay of the streaming job that owns the table",
}

# how each kind of fix job lives on inside the streaming job that owns its table
FOLDS: dict[str, str] = {
    "F101": "late rows reach its upsert sink within the allowed lateness",
    "F102": "its UPDATE / DELETE is applied to the owner's rows as they stream (or listed there as a TODO)",
    "F103": "duplicates collapse on the owner's sink key",
    "F104": "corrections arrive as change events and update the owner's sink by key",
    "F105": "late partitions stay open: late rows reach the upsert sink",
    "F106": "the streaming job becomes the only writer",
}

WRITING = frozenset({"insert", "insert_overwrite", "merge", "create_table_as", "create_or_replace_table_as"})
SKIPPED_KINDS: dict[str, str] = {
    "set": "session SET of the batch engine: not needed in Flink",
    "use": "USE of the batch engine: Flink jobs name tables explicitly",
    "truncate": "TRUNCATE before a reload: the upsert sink replaces rows by key instead",
}


@dataclass(frozen=True)
class Decision:
    status: str
    reason: str
    owner: str | None = None  # for folded / replaced jobs: the job that now owns their table


@dataclass(frozen=True)
class GeneratedJob:
    job_id: str
    status: str  # generated | retired | manual
    reason: str
    path: str | None = None  # relative to the output folder
    sql: str | None = None
    findings: tuple[Finding, ...] = ()
    sink_table: str | None = None
    sink_connector: str | None = None
    folded: tuple[str, ...] = ()  # fix / reprocess jobs this job replaces


def job_path(job: Job) -> str:
    """`jobs/<dag_id>/<task_id>/job.sql` with names made safe (no separators, dots kept)."""
    return f"jobs/{safe_name(job.dag_id)}/{safe_name(job.task_id)}/job.sql"


def draft_path(job: Job) -> str:
    return job_path(job).replace("/job.sql", "/job.draft.sql")


VOLATILE = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime, exp.CurrentDatetime)


def _foldable(condition: exp.Expr, markers: Mapping[str, str], sources: Collection[str] = ()) -> str:
    """Why a correction's WHERE cannot be applied to every streamed row ("" when it can). An
    uncorrelated `col IN (SELECT ...)` over tables the job already reads is a streaming semi-join."""
    subqueries = list(condition.find_all(exp.Select))
    if subqueries:
        read = {table_name(t) for query in subqueries for t in query.find_all(exp.Table)}
        if not all(_membership_test(query) for query in subqueries) or not read <= set(sources):
            return "it reads other tables"
    if condition.find(*VOLATILE) is not None or any(
        isinstance(lit, exp.Literal) and lit.name in markers for lit in condition.find_all(exp.Literal)
    ):
        return "it depends on the run date or the wall clock"
    return ""


def _writable(columns: Sequence[FlinkColumn], sink: str) -> list[FlinkColumn]:
    """The sink's columns in types its connector writes (TIMESTAMP_LTZ is TIMESTAMP for JDBC)."""
    connector = CONNECTORS.get(sink)
    if connector is None or not connector.type_substitutes:
        return list(columns)
    return [replace(c, type=writable_type(connector, c.type)) if c.type else c for c in columns]


def _membership_test(query: exp.Select) -> bool:
    """The SELECT is the uncorrelated right side of `x IN (SELECT ...)`: its columns name only its
    own tables."""
    parent = query.parent.parent if isinstance(query.parent, exp.Subquery) else query.parent
    if not isinstance(parent, exp.In):
        return False
    own = {t.alias_or_name for t in query.find_all(exp.Table)} | {""}
    return all(column.table in own for column in query.find_all(exp.Column))


def _flatten_tables(condition: exp.Expr) -> None:
    """Tables inside a correction's subqueries get the job's one-identifier names."""
    for table in list(condition.find_all(exp.Table)):
        flat = exp.Table(this=exp.to_identifier(flink_identifier(table_name(table))))
        flat.set("alias", exp.TableAlias(this=exp.to_identifier(table.alias or table.name)))
        table.replace(flat)


def fold_corrections(
    query: exp.Query,
    folded: Sequence[Job],
    target: str,
    columns: Sequence[FlinkColumn],
    sources: Collection[str] = (),
) -> tuple[exp.Query, list[str], list[str]]:
    """Apply the UPDATE / DELETE corrections of folded fix jobs to the owner's stream.

    `DELETE FROM t WHERE c` keeps only rows where NOT c; `UPDATE t SET a = e WHERE c` computes
    `CASE WHEN c THEN e ELSE a END` for a; both run on every row as it streams, which is what the
    batch correction did after each load. A correction that reads other tables or the clock is
    left to a person, with its SQL.
    """
    notes: list[str] = []
    todos: list[str] = []
    names = [c.name for c in columns]
    for fix in (job for job in folded if job.pattern is Pattern.FIX):
        markers: dict[str, str] = {}
        for rendered in fix.rendered:
            markers.update(rendered.markers)
        for statement in fix.statements:
            if statement.kind not in {"update", "delete"}:
                continue
            parsed = _parse_correction(statement.sql, fix.dialect or "")
            if parsed is None or table_name(parsed.this) != target:
                continue
            where = parsed.args.get("where")
            condition = where.this.copy() if where is not None else exp.true()
            place = f"{fix.id} ({statement.file}:{statement.line})"
            values = [a.expression for a in parsed.expressions] if isinstance(parsed, exp.Update) else []
            problem = next((p for p in (_foldable(part, markers, sources) for part in (condition, *values)) if p), "")
            if problem or not names:
                snippet = " ".join(statement.sql.split())[:160]
                todos.append(f"apply the correction of {place} by hand ({problem or 'unknown columns'}): {snippet}")
                continue
            for column in condition.find_all(exp.Column):
                if column.find_ancestor(exp.Select) is None:  # the subqueries' columns keep their tables
                    column.set("table", None)
            _flatten_tables(condition)
            query = _corrected(query, parsed, condition, names)
            notes.append(f"the {statement.kind.upper()} of {place} is applied to every row as it streams")
    return query, notes, todos


def _parse_correction(sql: str, dialect: str) -> exp.Update | exp.Delete | None:
    try:
        parsed = sqlglot.parse_one(sql, read=dialect or None)
    except SqlglotError:
        return None
    return parsed if isinstance(parsed, exp.Update | exp.Delete) and isinstance(parsed.this, exp.Table) else None


def _corrected(
    query: exp.Query, correction: exp.Update | exp.Delete, condition: exp.Expr, names: Sequence[str]
) -> exp.Query:
    source = _named(query, names).subquery("corrected")
    if isinstance(correction, exp.Delete):
        keep = exp.not_(exp.func("COALESCE", exp.paren(condition), exp.false()))
        return exp.select(*(exp.column(n) for n in names)).from_(source).where(keep)
    assignments = {a.this.name: a.expression for a in correction.expressions if isinstance(a, exp.EQ)}
    projections = []
    for name in names:
        if name in assignments:
            value = assignments[name].copy()
            for column in value.find_all(exp.Column):
                column.set("table", None)
            projections.append(
                exp.Case(ifs=[exp.If(this=condition.copy(), true=value)], default=exp.column(name)).as_(name)
            )
        else:
            projections.append(exp.column(name))
    return exp.select(*projections).from_(source)


def _named(query: exp.Query, names: Sequence[str]) -> exp.Query:
    """The query with its outputs named after the sink's columns, position by position (an
    INSERT with a column list may project `c.country` for `customer_country`)."""
    if not isinstance(query, exp.Select) or len(query.expressions) != len(names):
        return query
    if any(isinstance(p.unalias(), exp.Star) for p in query.expressions):
        return query
    named = query.copy()
    named.set(
        "expressions",
        [
            p if p.alias_or_name == n else exp.alias_(p.unalias().copy(), n)
            for p, n in zip(named.expressions, names, strict=True)
        ],
    )
    return named


def cast_to_sink_types(query: exp.Query, columns: Sequence[FlinkColumn]) -> None:
    """Flink checks the INSERT's column types against the sink's exactly (COUNT(*) is BIGINT, an
    INT column is not): cast each output to the declared type, as the batch engine did silently."""
    if not isinstance(query, exp.Select) or len(query.expressions) != len(columns):
        return
    for projection, column in zip(list(query.expressions), columns, strict=True):
        if column.type is None or isinstance(projection.unalias(), exp.Star):
            continue
        try:
            target = exp.DataType.build(column.type, dialect="flink")
        except (SqlglotError, ValueError):
            continue
        projection.replace(exp.cast(projection.unalias().copy(), target).as_(column.name))


def produces_updates(query: exp.Query) -> bool:
    """Whether the streaming query revises rows it emitted (aggregates, DISTINCT, outer joins of
    streams, IN subqueries, set operations other than UNION ALL); Flink refuses ON CONFLICT on
    insert-only input."""
    for select in query.find_all(exp.Select):
        aggregates = [a for a in select.find_all(exp.AggFunc) if a.find_ancestor(exp.Window, exp.Select) is select]
        if select.args.get("group") or select.args.get("distinct") or aggregates:
            return True
        if any(isinstance(test.args.get("query"), exp.Expr) for test in select.find_all(exp.In)):
            return True  # `x IN (SELECT ...)` is a semi-join: a row comes and goes as the other side changes
        for join in select.args.get("joins") or []:
            temporal = isinstance(join.this, exp.Table) and join.this.args.get("version") is not None
            if join.args.get("side") and not temporal:
                return True
    return any(
        isinstance(op, exp.Union | exp.Intersect | exp.Except) and op.args.get("distinct")
        for op in query.find_all(exp.SetOperation)
    )


def _on_conflict(plan: StreamStatement, job: Job, columns: Sequence[FlinkColumn], sink: str) -> str:
    """Flink 2.3 refuses an updating query whose upsert key differs from the sink's PRIMARY KEY
    unless the INSERT says how conflicts resolve (a GROUP BY that also groups by columns that
    depend on the key is such a case), and an always-upsert sink refuses insert-only rows, which
    have no upsert key, without it; a bundled stand-in sink refuses the clause there (validate
    plans it without)."""
    if job.sink_mode is not SinkMode.UPSERT or plan.query is None:
        return ""
    names = {c.name for c in columns}
    key = frozenset(k for k in job.upsert_key if k in names)
    derived = group_key_outputs(plan.query)
    if not key or derived == key:
        return ""
    if derived is None and any(isinstance(w.this, exp.RowNumber) for w in plan.query.find_all(exp.Window)):
        return ""  # deduplication: Flink keys its output by the PARTITION BY, which the sink key is
    if not produces_updates(plan.query):
        # insert-only rows have no upsert key: an always-upsert sink (upsert-kafka, jdbc) wants the
        # clause, which keeps the latest row per key, as the batch dedup or overwrite did
        connector = CONNECTORS.get(sink)
        return "\nON CONFLICT DO DEDUPLICATE" if connector is not None and connector.always_upsert else ""
    return "\nON CONFLICT DO DEDUPLICATE"


def _codes(job: Job) -> set[str]:
    return {finding.code for finding in job.findings}


def table_owners(jobs: Sequence[Job]) -> dict[str, str]:
    """Each written table's streaming owner: a transform first, then a fix, then a reprocess job."""
    rank = {Pattern.TRANSFORM: 0, Pattern.FIX: 1, Pattern.REPROCESS: 2}
    owners: dict[str, tuple[int, str]] = {}
    for job in jobs:
        if job.pattern not in rank or job.sql_status is not SqlStatus.PARSED:
            continue
        for table in job.writes:
            candidate = (rank[job.pattern], job.id)
            if table not in owners or candidate < owners[table]:
                owners[table] = candidate
    return {table: job_id for table, (_, job_id) in owners.items()}


def decide(job: Job, owners: Mapping[str, str], runners: Mapping[str, str] | None = None) -> Decision:
    """Generated, retired or manual, and why. `runners`: tasks that run a dbt project -> its DAG."""
    codes = _codes(job)
    project = (runners or {}).get(job.id)
    if project is not None and job.sql_status is SqlStatus.OPAQUE:
        return Decision(RETIRED, f"runs dbt: its models are the jobs of {project}, each converted on its own")
    if job.pattern is Pattern.OPTIMIZE:
        replacements = [f"{code}: {RETIREMENT[code]}" for code in sorted(codes) if code in RETIREMENT]
        return Decision(RETIRED, "maintenance job; replaced by " + "; ".join(replacements))
    if job.pattern is Pattern.REPROCESS and job.sql_status is not SqlStatus.PARSED and "R304" in codes:
        return Decision(RETIRED, REPLAY["R304"])
    if job.sql_status is not SqlStatus.PARSED:
        reason = {
            SqlStatus.OPAQUE: "opaque task: no SQL to convert",
            SqlStatus.MISSING: "the task's SQL could not be found",
            SqlStatus.UNPARSED: "the task's SQL does not parse",
        }[job.sql_status]
        detail = next((f.message for f in job.findings if f.code.startswith("E")), "")
        return Decision(MANUAL, f"{reason}: {detail}" if detail else reason)
    if not job.writes:
        return Decision(MANUAL, "read-only query (a check or an export): nothing to stream into a sink")
    others = sorted({owners[t] for t in job.writes if owners.get(t) not in {None, job.id}})
    if others and job.pattern is Pattern.FIX:
        how = next((FOLDS[code] for code in sorted(codes) if code in FOLDS), FOLDS["F101"])
        return Decision(RETIRED, f"correction folded into {', '.join(others)}: {how}", others[0])
    if others and job.pattern is Pattern.REPROCESS:
        guidance = next((REPLAY[c] for c in ("R303", "R301", "R302") if c in codes), REPLAY["R301"])
        return Decision(RETIRED, f"recomputes a table {', '.join(others)} streams: {guidance}", others[0])
    if others and job.pattern is Pattern.TRANSFORM:
        return Decision(MANUAL, f"writes a table that {', '.join(others)} also writes: choose one streaming owner")
    return Decision(GENERATED, "streams continuously")


# ------------------------------------------------------------------------------- assembly


@dataclass
class JobAssembly:
    """Mutable while one job is assembled."""

    job: Job
    config: GenerateConfig
    findings: list[Finding] = field(default_factory=list)
    todos: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def g_finding(self, code: str, name: str, message: str) -> None:
        self.findings.append(Finding(code, name, message, self.job.file, self.job.line, 1))


@dataclass(frozen=True)
class Catalog:
    """What generation knows about every table: repository DDL and the user's schema file."""

    definitions: Mapping[str, Any]
    schema_file: Mapping[str, FlinkTable]
    cdc_tables: frozenset[str]  # tables updated in place: read as changelogs
    dimensions: frozenset[str]  # joined FOR SYSTEM_TIME AS OF: need a key and a watermark
    table_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # the key its producer writes by


def _time_attribute(table: FlinkTable, config: GenerateConfig) -> str | None:
    timestamps = {c.name: c for c in table.columns if c.type and c.type.startswith("TIMESTAMP")}
    for name in config.event_time_columns:
        if name in timestamps:
            return name
    return next(iter(sorted(timestamps)), None)


# Every time attribute of a job is declared TIMESTAMP(3): temporal joins require the fact's and
# the dimension's rowtimes to have the same type, and the batch engines compare local times.
ROWTIME_TYPE = "TIMESTAMP(3)"


def source_ddl(
    table: FlinkTable, job: Job, config: GenerateConfig, catalog: Catalog, lateness_days: int
) -> tuple[str, str | None]:
    """CREATE TABLE for a source, and its time attribute (None: processing time only)."""
    name = flink_identifier(table.table)
    rowtime = _time_attribute(table, config)
    changelog = table.table in catalog.cdc_tables or table.table in catalog.dimensions
    lines = []
    for column in table.columns:
        column_type = column.type or "STRING"
        if column.name == rowtime:
            column_type = ROWTIME_TYPE
        unknown = "  -- TODO(kappa): G502 unknown type" if column.type is None else ""
        lines.append(f"  {_quoted_name(column.name)} {column_type}{unknown}")
    if rowtime is not None:
        delay = (
            f"INTERVAL '{lateness_days}' DAY"
            if lateness_days
            else f"INTERVAL '{config.watermark_delay.split()[0]}' SECOND"
        )
        lines.append(f"  WATERMARK FOR {_quoted_name(rowtime)} AS {_quoted_name(rowtime)} - {delay}")
    else:
        lines.append("  `proc_time` AS PROCTIME()")
    key = table.primary_key or catalog.table_keys.get(table.table, ())
    key = tuple(k for k in key if k in {c.name for c in table.columns})
    if changelog and key:
        lines.append(f"  PRIMARY KEY ({', '.join(map(_quoted_name, key))}) NOT ENFORCED")
    connector_name = "kafka-debezium" if changelog else "kafka"
    connector = CONNECTORS[connector_name]
    options = connector.options(ConnectorContext(table.table, job.id, config, key, table.partitioned_by))
    return _create_table(name, lines, options, f"source {table.table} ({table.origin})"), rowtime


def _quoted_name(name: str) -> str:
    """A column name from the scanned SQL as a Flink identifier: backquoted, `` ` `` doubled, on one line."""
    return "`" + one_line(name).replace("`", "``") + "`"


def _string(value: str) -> str:
    """An option value as a Flink string literal: `'` doubled, on one line (ids and table names
    from the scanned repository end up in topics and group ids)."""
    return "'" + one_line(value).replace("'", "''") + "'"


def _create_table(name: str, lines: Sequence[str], options: Mapping[str, str], comment: str) -> str:
    rendered_lines = []
    for index, line in enumerate(lines):
        code, _, todo = line.rpartition("  -- ") if "  -- TODO(kappa)" in line else (line, "", "")
        comma = "," if index < len(lines) - 1 else ""
        rendered_lines.append(f"{code}{comma}" + (f"  -- {todo}" if todo else ""))
    body = "\n".join(rendered_lines)
    with_options = ",\n".join(f"  {_string(key)} = {_string(value)}" for key, value in options.items())
    return f"-- {one_line(comment)}\nCREATE TABLE `{name}` (\n{body}\n) WITH (\n{with_options}\n);"


def sink_ddl(
    target: str,
    columns: Sequence[FlinkColumn],
    job: Job,
    config: GenerateConfig,
    connector_name: str,
    origin: str,
) -> tuple[str, list[str]]:
    todos: list[str] = []
    mode = "upsert" if job.sink_mode is SinkMode.UPSERT else "append"
    connector = sink_for(connector_name, mode)
    names = [c.name for c in columns]
    key = tuple(k for k in job.upsert_key if k in names)
    if connector.needs_primary_key and not key:
        todos.append(f"no key found for the {connector_name} sink of {target}: declare its PRIMARY KEY")
        key = tuple(names[:1])
    missing = [k for k in job.upsert_key if k not in names]
    if missing:
        todos.append(f"upsert key columns {', '.join(missing)} are not outputs of the query")
    lines = []
    for column in columns:
        unknown = "  -- TODO(kappa): G502 unknown type" if column.type is None else ""
        lines.append(f"  {_quoted_name(column.name)} {column.type or 'STRING'}{unknown}")
    if key and (mode == "upsert" or connector.needs_primary_key):
        lines.append(f"  PRIMARY KEY ({', '.join(map(_quoted_name, key))}) NOT ENFORCED")
    options = connector.options(ConnectorContext(target, job.id, config, key, (), role="sink"))
    return _create_table(flink_identifier(target), lines, options, f"sink {target} ({mode}, {origin})"), todos


def _output_schema(
    plan: StreamStatement, catalog: Catalog, sources: Mapping[str, FlinkTable], assembly: JobAssembly
) -> tuple[list[FlinkColumn], str]:
    """Sink columns: the target's DDL by name (or position), else the query's own output names,
    typed from a same-named source column; what stays unknown is a G502 finding."""
    assert plan.query is not None and plan.target is not None
    outputs = list(plan.target_columns) or list(output_columns(plan.query))
    target, findings = resolve_table(plan.target, catalog.definitions, catalog.schema_file, ())
    declared = {c.name.lower(): c for c in target.columns}
    positional = not outputs or any(o.lower() not in declared for o in outputs)
    if target.columns and (not outputs or len(outputs) == len(target.columns)) and positional:
        outputs = [c.name for c in target.columns]  # positional INSERT: the DDL names the columns
    if not outputs:
        assembly.todos.append(f"the query's columns are hidden behind `*` and {plan.target} has no DDL")
        return [], "unknown"
    source_types = {c.name.lower(): c.type for table in sources.values() for c in table.columns if c.type}
    columns = []
    for name in outputs:
        column_type = declared[name.lower()].type if name.lower() in declared else source_types.get(name.lower())
        if column_type is None:
            assembly.g_finding(
                "G502",
                "unknown-column-type",
                f"unknown type for {plan.target}.{name}; declare it in a schema file",
            )
        columns.append(FlinkColumn(name, column_type))
    assembly.findings.extend(f for f in findings if f.code != "G502")
    return columns, target.origin if target.columns else "columns inferred from the query"


def assemble(
    job: Job, decision: Decision, catalog: Catalog, config: GenerateConfig, folded: Sequence[Job], sink: str
) -> GeneratedJob:
    """The job.sql text of one generated job."""
    assembly = JobAssembly(job, config)
    markers: dict[str, str] = {}
    for rendered in job.rendered:
        markers.update(rendered.markers)
    lateness = max([job.allowed_lateness_days or 0, *(-min(f.lookback_days, default=0) for f in folded)])
    sources: dict[str, FlinkTable] = {}
    for table in job.reads:
        resolved, findings = resolve_table(table, catalog.definitions, catalog.schema_file, ())
        sources[table] = resolved
        assembly.findings.extend(findings)
    time_attributes: dict[str, str] = {}
    source_blocks = []
    for table in sorted(sources):
        block, rowtime = source_ddl(sources[table], job, config, catalog, lateness)
        source_blocks.append(block)
        if rowtime:
            time_attributes[table] = rowtime
    context = StreamContext(
        job.dialect or "",
        markers,
        time_attributes,
        catalog.dimensions,
        next(iter(time_attributes.values()), None),
        catalog.table_keys,
    )
    inserts: list[str] = []
    sink_blocks: dict[str, str] = {}
    for statement in job.statements:
        if statement.kind in SKIPPED_KINDS:
            assembly.notes.append(
                f"statement {statement.index + 1} ({statement.kind}): {SKIPPED_KINDS[statement.kind]}"
            )
            continue
        if statement.kind == "delete" and any(s.kind in WRITING for s in job.statements[statement.index + 1 :]):
            assembly.notes.append(
                f"statement {statement.index + 1} (delete before insert): the upsert sink replaces rows by key"
            )
            continue
        plan = to_stream(statement.sql, context)
        if plan.query is None or plan.target is None:
            assembly.todos.append(
                f"statement {statement.index + 1} ({statement.kind}) not converted: {plan.skipped or 'no target'}"
            )
            assembly.g_finding(
                "G501",
                "unsupported-construct",
                f"statement {statement.index + 1}: {plan.skipped or 'no target table'}",
            )
            continue
        assembly.notes.extend(plan.notes)
        assembly.todos.extend(plan.todos)
        columns, origin = _output_schema(plan, catalog, sources, assembly)
        columns = _writable(columns, sink)
        if plan.target not in sink_blocks:
            try:
                block, todos = sink_ddl(plan.target, columns, job, config, sink, origin)
            except UsageError as error:
                return GeneratedJob(job.id, MANUAL, str(error), findings=tuple(assembly.findings))
            sink_blocks[plan.target] = block
            assembly.todos.extend(todos)
        target_table = plan.target
        corrected, fold_notes, fold_todos = fold_corrections(plan.query, folded, target_table, columns, sources)
        plan = replace(plan, query=corrected)
        assembly.notes.extend(fold_notes)
        assembly.todos.extend(fold_todos)
        conflict = _on_conflict(plan, job, columns, sink)  # before the casts hide the GROUP BY keys
        if origin != "columns inferred from the query":
            cast_to_sink_types(corrected, columns)
        query_sql, unsupported = to_flink(corrected, read=job.dialect or "")
        for message in unsupported:
            assembly.g_finding("G501", "unsupported-construct", message)
            assembly.todos.append(f"unsupported: {message}")
        inserts.append(f"INSERT INTO `{flink_identifier(target_table)}`\n{query_sql}{conflict}")
    if not inserts:
        reason = "no statement has a streaming form: " + "; ".join(assembly.todos)
        return GeneratedJob(job.id, MANUAL, reason, findings=tuple(assembly.findings))
    settings = _settings(job, config, lateness)
    sql = render_template(
        "flink_job.sql.j2",
        job=job,
        reason=decision.reason,
        sink=sink,
        settings=settings,
        sources=source_blocks,
        sinks=[sink_blocks[t] for t in sorted(sink_blocks)],
        inserts=inserts,
        notes=list(dict.fromkeys(assembly.notes)),
        todos=list(dict.fromkeys(assembly.todos)),
        folded=[_folded_line(f) for f in folded],
        replay=[REPLAY[c] for c in ("R301", "R302", "R303") if c in _codes(job)],
        lateness=lateness,
        delivery=CONNECTORS[sink].delivery if sink in CONNECTORS else "",
    )
    target = next(iter(sorted(sink_blocks)), None)
    problems = [f.message for f in assembly.findings if f.code == "G501"]
    if problems:
        # never hand out wrong SQL as a job: the draft is kept for the person who finishes it
        reason = "constructs with no Flink equivalent: " + "; ".join(problems)
        return GeneratedJob(
            job.id,
            MANUAL,
            reason,
            draft_path(job),
            sql,
            tuple(assembly.findings),
            target,
            sink,
            tuple(f.id for f in folded),
        )
    return GeneratedJob(
        job.id,
        GENERATED,
        decision.reason,
        job_path(job),
        sql,
        tuple(assembly.findings),
        target,
        sink,
        tuple(f.id for f in folded),
    )


def _folded_line(job: Job) -> str:
    rules = sorted({f"{f.code} {f.name}" for f in job.findings if f.code[0] in "FR"})
    return f"{job.pattern.value} job {job.id} ({job.file}:{job.line}): {', '.join(rules) or job.pattern.value}"


def _settings(job: Job, config: GenerateConfig, lateness: int) -> list[tuple[str, str]]:
    settings = [
        ("execution.runtime-mode", "streaming"),
        ("execution.checkpointing.interval", config.checkpoint_interval),
        ("execution.checkpointing.mode", "EXACTLY_ONCE"),
    ]
    if job.state_ttl_days:
        settings.append(("table.exec.state.ttl", f"{max(job.state_ttl_days, lateness + 1)} d"))
    if any(f.code in {"C401", "C406"} for f in job.findings):
        settings.extend(
            [
                ("table.exec.mini-batch.enabled", "true"),
                ("table.exec.mini-batch.allow-latency", "5 s"),
                ("table.exec.mini-batch.size", "5000"),
            ]
        )
    settings.append(("table.exec.source.idle-timeout", "30 s"))
    return settings


#: what `assemble` needs besides the catalog and the settings: the job as it streams, the decision,
#: the jobs folded into it and the sink connector
Assembly = tuple[Job, Decision, Sequence[Job], str]
AssemblyRunner = Callable[[Sequence[Assembly]], Iterable[GeneratedJob]]


def generate(
    analysis: Analysis,
    catalog: Catalog,
    config: GenerateConfig,
    sink: str | None = None,
    run: AssemblyRunner | None = None,
) -> tuple[GeneratedJob, ...]:
    """Every job's outcome, in job order. The jobs to generate are assembled by `run` (in this
    process by default; the CLI passes worker processes, each with the catalog and settings)."""
    require_flink_dialect()
    owners = table_owners(analysis.jobs)
    runners = {  # DAG tasks that run a dbt project (`dbt run`, dbt operators) -> the project's DAG
        str(run): dag.dag_id for dag in analysis.dags for task in dag.tasks for run in task.meta.get("run_by") or ()
    }
    decisions = {job.id: decide(job, owners, runners) for job in analysis.jobs}
    folded_into: dict[str, list[Job]] = {}
    for job in analysis.jobs:
        owner = decisions[job.id].owner
        if owner is not None:
            folded_into.setdefault(owner, []).append(job)
    results: list[GeneratedJob | None] = []
    work: list[Assembly] = []
    for job in analysis.jobs:
        decision = decisions[job.id]
        if decision.status != GENERATED:
            results.append(GeneratedJob(job.id, decision.status, decision.reason))
            continue
        folded = folded_into.get(job.id, [])
        streaming = reading_changelogs(absorbing(job, folded), catalog)
        work.append((streaming, decision, folded, sink_connector(streaming, sink or config.sink)))
        results.append(None)
    if run is None:
        assembled = iter(
            [assemble(job, decision, catalog, config, folded, chosen) for job, decision, folded, chosen in work]
        )
    else:
        assembled = iter(run(work))
    return tuple(_unique_paths([next(assembled) if result is None else result for result in results]))


def absorbing(job: Job, folded: Sequence[Job]) -> Job:
    """A job that absorbs fix jobs revises rows it already wrote (late rows, duplicates, corrections):
    its sink takes updates, keyed by its own key or else the fix's."""
    fixes = [f for f in folded if f.pattern is Pattern.FIX]
    if not fixes or job.sink_mode is SinkMode.UPSERT:
        return job
    key = job.upsert_key or next((f.upsert_key for f in fixes if f.upsert_key), ())
    return replace(job, sink_mode=SinkMode.UPSERT, upsert_key=key)


def reading_changelogs(job: Job, catalog: Catalog) -> Job:
    """A job that reads a changelog (a table updated in place, a keyed dimension) other than by a
    lookup join passes its updates and deletes on (a dbt staging view over a replicated table):
    its sink takes updates, keyed by the job's key."""
    if job.sink_mode is not SinkMode.APPEND:
        return job
    looked_up = {t for f in job.findings if f.code == "C403" for t in job.reads if t in f.message}
    if not (catalog.cdc_tables | catalog.dimensions) - looked_up & set(job.reads):
        return job
    return replace(job, sink_mode=SinkMode.UPSERT)


# a Kafka topic takes both shapes: keyed upserts, or plain appends that keep every row
APPEND_COUNTERPART = {"upsert-kafka": "kafka"}


def sink_connector(job: Job, chosen: str) -> str:
    """An append-only job writes a plain topic even when the default sink is upsert-kafka: an upsert
    sink would collapse rows that share a key, which the batch table kept (retried loads)."""
    if job.sink_mode is not SinkMode.UPSERT and chosen in APPEND_COUNTERPART:
        return APPEND_COUNTERPART[chosen]
    return chosen


def _unique_paths(results: list[GeneratedJob]) -> list[GeneratedJob]:
    """Two tasks whose safe names collide get `-2`, `-3`... in job order; `Daily` and `daily`
    collide too (case-insensitive file systems: macOS, Windows)."""
    seen: set[str] = set()
    unique = []
    for result in results:
        if result.path is None:
            unique.append(result)
            continue
        folder, _, name = result.path.rpartition("/")
        candidate, counter = result.path, 1
        while candidate.casefold() in seen:
            counter += 1
            candidate = f"{folder}-{counter}/{name}"
        seen.add(candidate.casefold())
        unique.append(replace(result, path=candidate))
    return unique


def catalog_for(analysis: Analysis, definitions: Mapping[str, Any], schema_file: Mapping[str, FlinkTable]) -> Catalog:
    """Tables updated in place (MERGE / UPDATE targets, CDC feeds) are read as changelogs.

    `definitions` are the analysis's table definitions with the tables no DDL defines typed from
    the queries that write them: `with_derived_schemas(analysis).extra["schemas"]`.
    """
    cdc = {t for job in analysis.jobs for t in job.writes if {"C410", "C411"} & _codes(job)}
    cdc |= {t for job in analysis.jobs for t in job.reads if "cdc" in t}
    keys = {table: job.upsert_key for job in analysis.jobs if job.upsert_key for table in job.writes}
    for table, definition in definitions.items():
        if getattr(definition, "primary_key", ()):
            keys[table] = tuple(definition.primary_key)
    # a dimension can only be joined by time when it has a key (a versioned table)
    dimensions = {
        table
        for job in analysis.jobs
        for finding in job.findings
        if finding.code == "C403"
        for table in job.reads
        if table in finding.message and keys.get(table)
    }
    return Catalog(definitions, schema_file, frozenset(cdc), frozenset(dimensions), keys)


def statuses(results: Iterable[GeneratedJob]) -> dict[str, int]:
    counts: dict[str, int] = {GENERATED: 0, RETIRED: 0, MANUAL: 0}
    for result in results:
        counts[result.status] += 1
    return counts
