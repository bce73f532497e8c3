"""The operator table: for each Airflow operator class, where its SQL is and which dialect it speaks.

A line per operator, in the spirit of sqlglot's TRANSFORMS maps. Classes are matched by name, the
way a DAG author imports them (`from airflow.providers.x.operators.y import Name`). An operator
missing here (and not defined in the repository or the config) is reported as opaque: the scanner
never guesses what an unknown class does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum


class OperatorKind(StrEnum):
    SQL = "sql"  # SQL in an argument
    BASH = "bash"  # a shell command that may run a SQL client
    PYTHON = "python"  # a Python callable that may run SQL through hooks
    OPAQUE = "opaque"  # runs code the scanner cannot see (container, remote job, ...)
    CONTROL = "control"  # moves no data: empty, branch, trigger, sensor, notify


@dataclass(frozen=True)
class OperatorSpec:
    kind: OperatorKind
    sql_args: tuple[str, ...] = ()  # keyword names; dotted paths reach into dict arguments
    dialect: str | None = None  # fixed by the operator; None: decided by the connection
    conn_args: tuple[str, ...] = ("conn_id",)
    template_ext: tuple[str, ...] = (".sql",)
    # where the operator, not the SQL, names the table a SELECT is written to (BigQuery jobs)
    destination: Destination | None = None


@dataclass(frozen=True)
class Destination:
    table_arg: str  # a "project.dataset.table[$partition]" string or a {projectId, datasetId, tableId} dict
    disposition_arg: str  # WRITE_TRUNCATE replaces the table (or the $partition); else rows are appended


BIGQUERY_JOB_DESTINATION = Destination("configuration.query.destinationTable", "configuration.query.writeDisposition")
BIGQUERY_QUERY_DESTINATION = Destination("destination_dataset_table", "write_disposition")


def sql(
    *args: str, dialect: str | None = None, conn: tuple[str, ...] = (), ext: tuple[str, ...] = (".sql",)
) -> OperatorSpec:
    return OperatorSpec(OperatorKind.SQL, args, dialect, (*conn, "conn_id"), ext)


OPAQUE = OperatorSpec(OperatorKind.OPAQUE)
CONTROL = OperatorSpec(OperatorKind.CONTROL)
PYTHON = OperatorSpec(OperatorKind.PYTHON)
BASH = OperatorSpec(OperatorKind.BASH, ("bash_command",), template_ext=(".sh", ".bash"))

OPERATORS: dict[str, OperatorSpec] = {
    # generic SQL (common-sql provider): the dialect hangs on the connection
    "SQLExecuteQueryOperator": sql("sql"),
    "SQLCheckOperator": sql("sql"),
    "SQLValueCheckOperator": sql("sql"),
    "SQLThresholdCheckOperator": sql("sql"),
    "BranchSQLOperator": sql("sql"),
    "GenericTransfer": sql("sql", conn=("source_conn_id",)),
    "JdbcOperator": sql("sql", conn=("jdbc_conn_id",)),
    "SqlToS3Operator": sql("query", conn=("sql_conn_id",)),
    # transfers that read with a query: the query is the job, the file or table it lands in is not SQL
    "PostgresToGCSOperator": sql("sql", dialect="postgres", conn=("postgres_conn_id",)),
    "MySQLToGCSOperator": sql("sql", dialect="mysql", conn=("mysql_conn_id",)),
    "MSSQLToGCSOperator": sql("sql", dialect="tsql", conn=("mssql_conn_id",)),
    "OracleToGCSOperator": sql("sql", dialect="oracle", conn=("oracle_conn_id",)),
    "TrinoToGCSOperator": sql("sql", dialect="trino", conn=("trino_conn_id",)),
    "PrestoToGCSOperator": sql("sql", dialect="presto", conn=("presto_conn_id",)),
    "MySqlToHiveOperator": sql("sql", dialect="mysql", conn=("mysql_conn_id",)),
    "MsSqlToHiveOperator": sql("sql", dialect="tsql", conn=("mssql_conn_id",)),
    "VerticaToHiveOperator": sql("sql", dialect="postgres", conn=("vertica_conn_id",)),
    "HiveToMySqlOperator": sql("sql", dialect="hive", conn=("hiveserver2_conn_id",)),
    "PrestoToMySqlOperator": sql("sql", dialect="presto", conn=("presto_conn_id",)),
    # PostgreSQL, MySQL and friends
    "PostgresOperator": sql("sql", dialect="postgres", conn=("postgres_conn_id",)),
    "MySqlOperator": sql("sql", dialect="mysql", conn=("mysql_conn_id",)),
    "MsSqlOperator": sql("sql", dialect="tsql", conn=("mssql_conn_id",)),
    "OracleOperator": sql("sql", dialect="oracle", conn=("oracle_conn_id",)),
    "SqliteOperator": sql("sql", dialect="sqlite", conn=("sqlite_conn_id",)),
    "VerticaOperator": sql("sql", dialect="postgres", conn=("vertica_conn_id",)),
    "ClickHouseOperator": sql("sql", dialect="clickhouse", conn=("clickhouse_conn_id",)),
    "DuckDBOperator": sql("sql", dialect="duckdb"),
    # Snowflake
    "SnowflakeOperator": sql("sql", dialect="snowflake", conn=("snowflake_conn_id",)),
    "SnowflakeSqlApiOperator": sql("sql", dialect="snowflake", conn=("snowflake_conn_id",)),
    "SnowflakeCheckOperator": sql("sql", dialect="snowflake", conn=("snowflake_conn_id",)),
    "SnowflakeValueCheckOperator": sql("sql", dialect="snowflake", conn=("snowflake_conn_id",)),
    # BigQuery
    "BigQueryInsertJobOperator": replace(
        sql("configuration.query.query", dialect="bigquery", conn=("gcp_conn_id",)),
        destination=BIGQUERY_JOB_DESTINATION,
    ),
    "BigQueryExecuteQueryOperator": replace(
        sql("sql", dialect="bigquery", conn=("gcp_conn_id", "bigquery_conn_id")),
        destination=BIGQUERY_QUERY_DESTINATION,
    ),
    "BigQueryCheckOperator": sql("sql", dialect="bigquery", conn=("gcp_conn_id",)),
    "BigQueryValueCheckOperator": sql("sql", dialect="bigquery", conn=("gcp_conn_id",)),
    "BigQueryOperator": replace(  # Airflow 1.x
        sql("sql", "bql", dialect="bigquery", conn=("gcp_conn_id", "bigquery_conn_id")),
        destination=BIGQUERY_QUERY_DESTINATION,
    ),
    # Hive, Spark, Databricks
    "HiveOperator": sql("hql", dialect="hive", conn=("hive_cli_conn_id",), ext=(".hql", ".sql")),
    "SparkSqlOperator": sql("sql", dialect="spark", ext=(".sql", ".hql")),
    "DatabricksSqlOperator": sql("sql", dialect="databricks", conn=("databricks_conn_id",)),
    # Trino, Presto, Athena, Redshift
    "TrinoOperator": sql("sql", dialect="trino", conn=("trino_conn_id",)),
    "PrestoOperator": sql("sql", dialect="presto", conn=("presto_conn_id",)),
    "AthenaOperator": sql("query", dialect="athena", conn=("aws_conn_id",)),
    "RedshiftSQLOperator": sql("sql", dialect="redshift", conn=("redshift_conn_id",)),
    "RedshiftDataOperator": sql("sql", dialect="redshift", conn=("aws_conn_id",)),
    # shell and Python
    "BashOperator": BASH,
    "PythonOperator": PYTHON,
    "BranchPythonOperator": PYTHON,
    "ShortCircuitOperator": PYTHON,
    "PythonVirtualenvOperator": PYTHON,
    "ExternalPythonOperator": PYTHON,
    # code the scanner cannot see
    "KubernetesPodOperator": OPAQUE,
    "GKEStartPodOperator": OPAQUE,
    "EksPodOperator": OPAQUE,
    "DockerOperator": OPAQUE,
    "SSHOperator": OPAQUE,
    "SparkSubmitOperator": OPAQUE,
    "DataprocSubmitJobOperator": OPAQUE,
    "EmrAddStepsOperator": OPAQUE,
    "GlueJobOperator": OPAQUE,
    "DatabricksSubmitRunOperator": OPAQUE,
    "DatabricksRunNowOperator": OPAQUE,
    "SimpleHttpOperator": OPAQUE,
    "HttpOperator": OPAQUE,
    "DbtRunOperator": OPAQUE,
    "DbtCloudRunJobOperator": OPAQUE,
    "GCSToBigQueryOperator": OPAQUE,
    "S3ToRedshiftOperator": OPAQUE,
    "RedshiftToS3Operator": OPAQUE,
    "BigQueryToGCSOperator": OPAQUE,
    "BigQueryToBigQueryOperator": OPAQUE,
    "BigQueryGetDataOperator": OPAQUE,
    "BigQueryToPostgresOperator": OPAQUE,
    "GCSToGCSOperator": OPAQUE,
    "LocalFilesystemToS3Operator": OPAQUE,
    "S3CreateObjectOperator": OPAQUE,
    "SparkJDBCOperator": OPAQUE,
    "S3ToSnowflakeOperator": OPAQUE,
    "CopyFromExternalStageToSnowflakeOperator": OPAQUE,
    "GKEPodOperator": OPAQUE,  # the 1.x name of GKEStartPodOperator
    "DataprocClusterCreateOperator": OPAQUE,
    "DataProcPySparkOperator": OPAQUE,
    "DataProcSparkOperator": OPAQUE,
    "DataProcHiveOperator": OPAQUE,
    "SubDagOperator": OPAQUE,
    # control flow: moves no data
    "EmptyOperator": CONTROL,
    "DummyOperator": CONTROL,
    "LatestOnlyOperator": CONTROL,
    "TriggerDagRunOperator": CONTROL,
    "EmailOperator": CONTROL,
    "SlackWebhookOperator": CONTROL,
    "SlackAPIPostOperator": CONTROL,
    "BranchDayOfWeekOperator": CONTROL,
    "BranchDateTimeOperator": CONTROL,
    # data-quality checks that build their SQL from a table name: they read, they move no data
    "SQLColumnCheckOperator": CONTROL,
    "SQLTableCheckOperator": CONTROL,
    "SQLIntervalCheckOperator": CONTROL,
    "BigQueryColumnCheckOperator": CONTROL,
    "BigQueryTableCheckOperator": CONTROL,
    "BigQueryIntervalCheckOperator": CONTROL,
    "SnowflakeIntervalCheckOperator": CONTROL,
    # creating and deleting containers (datasets, buckets, empty tables) moves no data
    "BigQueryCreateEmptyDatasetOperator": CONTROL,
    "BigQueryCreateEmptyTableOperator": CONTROL,
    "BigQueryDeleteDatasetOperator": CONTROL,
    "BigQueryDeleteTableOperator": CONTROL,
    "S3CreateBucketOperator": CONTROL,
    "S3DeleteBucketOperator": CONTROL,
    "GCSCreateBucketOperator": CONTROL,
    "GCSDeleteBucketOperator": CONTROL,
}

# TaskFlow decorators: `@task` and `@task.<flavour>`
TASKFLOW: dict[str, OperatorSpec] = {
    "task": PYTHON,
    "python": PYTHON,
    "virtualenv": PYTHON,
    "external_python": PYTHON,
    "branch": PYTHON,
    "short_circuit": PYTHON,
    "bash": OperatorSpec(OperatorKind.BASH, ("<return>",)),
    "sql": sql("<return>"),
    "docker": OPAQUE,
    "kubernetes": OPAQUE,
    "pyspark": OPAQUE,
    "sensor": CONTROL,
}

SENSOR_SUFFIX = "Sensor"

# hook class -> dialect, for SQL run from Python callables
HOOK_DIALECTS: dict[str, str | None] = {
    "PostgresHook": "postgres",
    "MySqlHook": "mysql",
    "MsSqlHook": "tsql",
    "OracleHook": "oracle",
    "SqliteHook": "sqlite",
    "SnowflakeHook": "snowflake",
    "SnowflakeSqlApiHook": "snowflake",
    "BigQueryHook": "bigquery",
    "HiveCliHook": "hive",
    "HiveServer2Hook": "hive",
    "TrinoHook": "trino",
    "PrestoHook": "presto",
    "RedshiftSQLHook": "redshift",
    "DatabricksSqlHook": "databricks",
    "AthenaHook": "athena",
    "DbApiHook": None,
    "SqlHook": None,
}

# methods that send their first argument (or `sql=` / `hql=`) to the database
HOOK_SQL_METHODS = frozenset(
    {
        "run",
        "run_cli",
        "get_records",
        "get_first",
        "get_pandas_df",
        "get_df",
        "execute",
        "executemany",
        "get_results",
        "query",
        "sql",
        "insert_job",
        "run_query",
    }
)

# words in a conn_id that name the database behind it, tried in order
CONN_NAME_DIALECTS: tuple[tuple[str, str], ...] = (
    ("redshift", "redshift"),
    ("snowflake", "snowflake"),
    ("bigquery", "bigquery"),
    ("google_cloud", "bigquery"),
    ("gcp", "bigquery"),
    ("bq", "bigquery"),
    ("databricks", "databricks"),
    ("spark", "spark"),
    ("hive", "hive"),
    ("trino", "trino"),
    ("presto", "presto"),
    ("athena", "athena"),
    ("postgres", "postgres"),
    ("pg", "postgres"),
    ("mysql", "mysql"),
    ("mssql", "tsql"),
    ("oracle", "oracle"),
    ("sqlite", "sqlite"),
    ("clickhouse", "clickhouse"),
    ("duckdb", "duckdb"),
    ("vertica", "postgres"),
)

# tried in order when nothing else decides a generic operator's dialect
CANDIDATE_DIALECTS = ("postgres", "snowflake", "bigquery", "spark", "trino", "redshift")


def dialect_from_conn_name(conn_id: str) -> str | None:
    """`"analytics_pg_replica"` -> postgres: a word of the conn_id (or its start) names the database.

    Multi-word names (`google_cloud`) match across the separators."""
    words = [word for word in re.split(r"[^a-z0-9]+", conn_id.lower()) if word]
    joined = "_" + "_".join(words) + "_"
    for name, dialect in CONN_NAME_DIALECTS:
        if f"_{name}_" in joined or any(word.startswith(name) for word in words):
            return dialect
    return None


def spec_for(class_name: str) -> OperatorSpec | None:
    """The table entry for an operator class; sensors are control tasks."""
    spec = OPERATORS.get(class_name)
    if spec is None and class_name.endswith(SENSOR_SUFFIX):
        return CONTROL
    return spec
