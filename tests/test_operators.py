"""The operator table covers the operators the scan promises, each with its SQL argument and dialect."""

from __future__ import annotations

import pytest

from analyzer.operators import OPERATORS, OperatorKind, dialect_from_conn_name, spec_for

PROMISED = {
    "SQLExecuteQueryOperator": ("sql", None),
    "PostgresOperator": ("sql", "postgres"),
    "MySqlOperator": ("sql", "mysql"),
    "SnowflakeOperator": ("sql", "snowflake"),
    "SnowflakeSqlApiOperator": ("sql", "snowflake"),
    "BigQueryInsertJobOperator": ("configuration.query.query", "bigquery"),
    "BigQueryExecuteQueryOperator": ("sql", "bigquery"),
    "SparkSqlOperator": ("sql", "spark"),
    "HiveOperator": ("hql", "hive"),
    "TrinoOperator": ("sql", "trino"),
    "AthenaOperator": ("query", "athena"),
    "RedshiftSQLOperator": ("sql", "redshift"),
    "RedshiftDataOperator": ("sql", "redshift"),
    "DatabricksSqlOperator": ("sql", "databricks"),
}


@pytest.mark.parametrize(("name", "expected"), PROMISED.items())
def test_promised_operator(name: str, expected: tuple[str, str | None]) -> None:
    spec = OPERATORS[name]
    assert spec.kind is OperatorKind.SQL
    assert (spec.sql_args[0], spec.dialect) == expected


def test_shell_python_opaque_and_control() -> None:
    assert OPERATORS["BashOperator"].kind is OperatorKind.BASH
    assert OPERATORS["PythonOperator"].kind is OperatorKind.PYTHON
    assert OPERATORS["KubernetesPodOperator"].kind is OperatorKind.OPAQUE
    assert spec_for("S3KeySensor") is not None and spec_for("S3KeySensor").kind is OperatorKind.CONTROL  # type: ignore[union-attr]
    assert spec_for("SomethingUnknownOperator") is None


@pytest.mark.parametrize(
    ("conn_id", "dialect"),
    [
        ("postgres_default", "postgres"),
        ("analytics_pg_replica", "postgres"),
        ("snowflake_prod", "snowflake"),
        ("google_cloud_default", "bigquery"),
        ("bq_marts", "bigquery"),
        ("trino_default", "trino"),
        ("redshift_dwh", "redshift"),
        ("databricks_sql", "databricks"),
        ("spark_thrift", "spark"),
        ("warehouse", None),
        ("pgbouncer_main", "postgres"),
    ],
)
def test_dialect_from_conn_name(conn_id: str, dialect: str | None) -> None:
    assert dialect_from_conn_name(conn_id) == dialect
