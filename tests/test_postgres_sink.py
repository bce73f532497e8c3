"""A real sink: generated jobs with a JDBC upsert sink write into a real PostgreSQL, and the
PostgreSQL table equals the batch result.

`kappa generate samples/ --sink jdbc` writes the jobs; each chosen job's `${JDBC_URL}`,
`${JDBC_USER}` and `${JDBC_PASSWORD}` placeholders are filled in as a deployment would (the
table-name stays the generated one) and its target table is created in a throw-away PostgreSQL
(`tests/postgres.py`) from the sink's DDL, PRIMARY KEY included. The job then runs in Flink with the
real JDBC connector and PostgreSQL driver (`build/flink-connectors/*.jar`, extracted by `.ci/setup`,
passed through `pipeline.jars`); only its Kafka sources are stood in for, by bounded copies of the
sample rows (`StreamRunner.run_into_sinks`). The batch side is `kappa verify`'s: the original SQL
replayed day by day in DuckDB over samples/data. The rows PostgreSQL holds (read back with psql)
must equal the batch table's, value by value after `canonical`.

The jobs are ones `kappa verify` proves equal: three group aggregates whose rows are updated in
place by key (over a debezium changelog source, over a month bucket, and a Hive daily rebuild),
and two MERGE upserts with timestamp columns (a JDBC sink writes TIMESTAMP_LTZ as TIMESTAMP: the
connector's PostgreSQL dialect refuses TIMESTAMP_LTZ), one of them joining each key's latest change
with the change it was inserted with.

Without PostgreSQL or the jars the tests skip with the reason; in CI (`CI` set) they fail instead.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.models import Analysis, Job
from analyzer.render import render_sql
from generators import flink_dialect  # noqa: F401 - registers the "flink" dialect with sqlglot
from generators.validate import split_statements
from generators.verify import (
    BatchRun,
    StreamRunner,
    Warehouse,
    canonical,
    generated_in_folder,
    run_batch,
    warehouse_feed,
)

from .conftest import PROJECT, SAMPLES
from .postgres import PostgresServer, postgres_bin, unavailable

pytestmark = pytest.mark.slow

CONNECTOR_JARS = PROJECT / "build" / "flink-connectors"
# the connector, its PostgreSQL dialect and the driver (what .ci/setup.d/20-flink-connector-jars.sh extracts)
REQUIRED_JARS = ("flink-connector-jdbc-core.jar", "flink-connector-jdbc-postgres.jar", "postgresql.jar")
JOBS = (
    "bq_marts_daily.build_daily_revenue",
    "finance_payments_reporting.rebuild_revenue_summary",
    "lake_daily_funnel.build_daily_funnel",
    "bq_customer_360.merge_dim_customer",
    "bq_marts_daily.merge_fct_orders",
)
BUDGET_SECONDS = 180.0  # per job; a job still running then is cancelled

# Flink types whose sqlglot PostgreSQL spelling is not PostgreSQL's
POSTGRES_TYPES = {exp.DType.TIMESTAMPLTZ: "TIMESTAMPTZ"}
NUMBERS = exp.DataType.INTEGER_TYPES | exp.DataType.REAL_TYPES
TIMESTAMPS = exp.DataType.TEMPORAL_TYPES - {exp.DType.DATE, exp.DType.DATE32}


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def connector_jars() -> list[Path]:
    missing = [name for name in REQUIRED_JARS if not (CONNECTOR_JARS / name).is_file()]
    if missing:
        unavailable(f"no {', '.join(missing)} in {CONNECTOR_JARS} (bash .ci/setup extracts them)")
    return sorted(CONNECTOR_JARS.glob("*.jar"))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the module, stopped and deleted after, whatever happens."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        unavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl; bash .ci/setup installs it)")
    with PostgresServer.start(bin_dir) as server:
        yield server


@pytest.fixture(scope="module")
def stream_runner() -> Iterator[StreamRunner]:
    """A runner in the session's one JVM (pyflink's gateway is per process)."""
    pytest.importorskip("pyflink.table")
    with StreamRunner() as runner:
        yield runner


@dataclass(frozen=True)
class Batch:
    """The generated jdbc jobs of samples/ and the batch layer replayed in DuckDB."""

    jobs: Mapping[str, Job]
    sql: Mapping[str, str]  # job id -> job.sql
    warehouse: Warehouse
    run: BatchRun


@pytest.fixture(scope="module")
def batch(samples_analysis: Analysis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    pytest.importorskip("duckdb")
    out = tmp_path_factory.mktemp("jdbc-jobs")
    result = CliRunner().invoke(app, ["generate", str(SAMPLES), "--out", str(out), "--sink", "jdbc"])
    assert result.exit_code == 0, result.output
    sql = {g.job_id: g.sql for g in generated_in_folder(out) if g.sql}
    warehouse = Warehouse(samples_analysis.extra.get("schemas") or {})
    try:
        for path in sorted((SAMPLES / "data").glob("*.csv")):
            warehouse.load_csv(path.stem.lower(), path)
        run = run_batch(samples_analysis, warehouse, render_sql)
        yield Batch({job.id: job for job in samples_analysis.jobs}, sql, warehouse, run)
    finally:
        warehouse.close()


# ----------------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class Sink:
    """The sink table of a job file: its columns (name, Flink type), key and WITH options."""

    columns: tuple[tuple[str, exp.DataType], ...]
    primary_key: tuple[str, ...]
    options: Mapping[str, str]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


def sink_of(job_sql: str) -> Sink:
    """The table the job's `-- sink ...` comment introduces, read with the Flink dialect."""
    statement = next(
        s
        for s in split_statements(job_sql)
        if s.kind == "create_table" and any(c.startswith("sink ") for c in s.comments)
    )
    tree = sqlglot.parse_one(statement.text, read="flink")
    schema = tree.this
    assert isinstance(schema, exp.Schema)
    columns = tuple((c.name, c.args["kind"]) for c in schema.expressions if isinstance(c, exp.ColumnDef))
    key = next((k for k in schema.expressions if isinstance(k, exp.PrimaryKey)), None)
    primary_key = tuple(e.name for e in key.expressions) if key is not None else ()
    options = {
        p.this.name: p.args["value"].name for p in tree.find_all(exp.Property) if isinstance(p.this, exp.Literal)
    }
    return Sink(columns, primary_key, options)


def postgres_type(kind: exp.DataType) -> str:
    name = POSTGRES_TYPES.get(kind.this)
    if name is None:
        return kind.sql("postgres")
    params = ", ".join(p.sql("postgres") for p in kind.expressions)
    return f"{name}({params})" if params else name


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_target(server: PostgresServer, sink: Sink) -> str:
    """The sink's table in PostgreSQL (schema.table as its `table-name` says), typed from the
    sink's DDL, with its PRIMARY KEY: the JDBC upsert writes INSERT ... ON CONFLICT on it."""
    table = ".".join(quoted(part) for part in sink.options["table-name"].split("."))
    lines = [f"{quoted(name)} {postgres_type(kind)}" for name, kind in sink.columns]
    lines.append(f"PRIMARY KEY ({', '.join(quoted(k) for k in sink.primary_key)})")
    schema = sink.options["table-name"].rpartition(".")[0]
    create_schema = f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}; " if schema else ""
    server.psql(f"{create_schema}DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({', '.join(lines)})")
    return table


def deployed(job_sql: str, values: Mapping[str, str]) -> str:
    """The job with its `${NAME}` placeholders filled in, as a deployment's environment would."""
    used = set(re.findall(r"\$\{(\w+)\}", job_sql))
    assert set(values) <= used, f"the job has no placeholder for {sorted(set(values) - used)}"
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), job_sql)


def from_postgres(text: str | None, kind: exp.DataType) -> Any:
    """A value psql printed, as the Python value DuckDB gives for the same column type."""
    if text is None:
        return None
    if kind.this in NUMBERS:
        return Decimal(text)
    if kind.this in {exp.DType.DATE, exp.DType.DATE32}:
        return date.fromisoformat(text)
    if kind.this in TIMESTAMPS:
        return datetime.fromisoformat(text)
    if kind.this is exp.DType.BOOLEAN:
        return text == "t"
    return text


def postgres_rows(server: PostgresServer, table: str, sink: Sink) -> list[tuple[str | None, ...]]:
    select = ", ".join(quoted(name) for name in sink.names)
    # timestamptz printed in UTC, as the stream side and the batch side give them
    printed = server.psql(f"SET TimeZone = 'UTC'; SELECT {select} FROM {table}")
    return [
        tuple(canonical(from_postgres(v, kind)) for v, (_, kind) in zip(row, sink.columns, strict=True))
        for row in printed
    ]


def batch_rows(warehouse: Warehouse, table: str, columns: Sequence[str]) -> list[tuple[str | None, ...]]:
    names = {name.lower(): name for name, _ in warehouse.columns(table)}
    missing = [c for c in columns if c.lower() not in names]
    assert not missing, f"the batch table {table} has no {missing}"
    return [tuple(canonical(v) for v in row) for row in warehouse.rows(table, [names[c.lower()] for c in columns])]


# ------------------------------------------------------------------------------------- test


@pytest.mark.parametrize("job_id", JOBS)
def test_jdbc_sink_writes_the_batch_result_into_postgres(
    job_id: str,
    connector_jars: list[Path],  # the cheap checks first: a missing dependency skips (or fails) at once
    postgres: PostgresServer,
    stream_runner: StreamRunner,
    batch: Batch,
) -> None:
    job = batch.jobs[job_id]
    assert job_id in batch.sql, f"{job_id} was not generated"
    assert job_id in batch.run.ran and job_id not in batch.run.errors, batch.run.errors.get(job_id)
    sink = sink_of(batch.sql[job_id])
    assert sink.options["connector"] == "jdbc" and sink.primary_key, "the job's sink is no JDBC upsert sink"
    table = create_target(postgres, sink)
    job_sql = deployed(
        batch.sql[job_id],
        {"JDBC_URL": postgres.jdbc_url, "JDBC_USER": postgres.user, "JDBC_PASSWORD": postgres.password},
    )

    written = stream_runner.run_into_sinks(
        job_sql, warehouse_feed(batch.warehouse, job.reads), connector_jars, BUDGET_SECONDS
    )

    assert len(written) == 1 and written[0] in job.writes, written
    stream = postgres_rows(postgres, table, sink)
    expected = batch_rows(batch.warehouse, written[0], sink.names)
    assert expected, f"the batch result {written[0]} is empty: the comparison would prove nothing"
    keys = Counter(tuple(row[sink.names.index(k)] for k in sink.primary_key) for row in stream)
    assert max(keys.values()) == 1, "PostgreSQL holds a key twice"
    only_batch = sorted((Counter(expected) - Counter(stream)).elements(), key=str)
    only_postgres = sorted((Counter(stream) - Counter(expected)).elements(), key=str)
    assert not only_batch and not only_postgres, (
        f"{table} ({', '.join(sink.names)}): {len(expected)} batch rows, {len(stream)} in PostgreSQL\n"
        f"only in batch: {only_batch[:5]}\nonly in PostgreSQL: {only_postgres[:5]}"
    )
