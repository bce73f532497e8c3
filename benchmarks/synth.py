"""A synthetic Airflow repository for the benchmarks, the same bytes for the same seed.

Each DAG file holds one to three SQL tasks (inline, a `.sql` file found through
`template_searchpath`, or a `bq query` command line), a control task and sometimes a Python
callable. Each SQL text is 1 to 10 KB: CTEs, joins, aggregates, window functions, MERGE, INSERT
OVERWRITE, DELETE + INSERT, in eight dialects chosen by the connection (`kappa.toml`), with
Airflow templates (`{{ ds }}`, `macros.ds_add`, `params`). A DAG file carries about 10 KB of SQL
on average. Every DAG imports its defaults from the repository's own `common` package, and some
use a custom operator class defined there, so the scanner's module loading and class index are
exercised too. The files import only Airflow core and the `common-sql` / `standard` providers,
so Airflow's own `DagBag` can load the same folder.

DAG `i` is drawn from its own generator seeded by (seed, i): the first 1,000 DAGs of a 10,000 DAG
repository are the 1,000 DAG repository.

    python benchmarks/synth.py /tmp/repo-1k --dags 1000
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

DAGS_PER_FOLDER = 100

# conn_id -> dialect, written to kappa.toml; the generic operator takes its dialect from here
CONNECTIONS = {
    "lake": "spark",
    "lakehouse": "databricks",
    "hive_etl": "hive",
    "warehouse": "snowflake",
    "gcp_analytics": "bigquery",
    "shop_replica": "postgres",
    "presto_adhoc": "trino",
    "redshift_dw": "redshift",
}
DIALECT_CONN = {dialect: conn for conn, dialect in CONNECTIONS.items()}
DIALECTS = tuple(CONNECTIONS.values())

DOMAINS = (
    "orders", "payments", "sessions", "clicks", "inventory", "shipments", "customers", "products",
    "refunds", "campaigns", "subscriptions", "invoices", "reviews", "searches", "carts", "devices",
)  # fmt: skip
DIMENSIONS = ("customer", "product", "store", "region", "channel", "device", "campaign", "supplier")
MEASURES = ("amount", "quantity", "discount", "tax", "shipping_cost", "duration_ms", "items", "margin")
ATTRIBUTES = ("status", "country", "currency", "category", "segment", "platform", "source", "tier")
AGGREGATES = ("SUM", "AVG", "MAX", "MIN")


@dataclass
class RepoStats:
    dag_files: int = 0
    sql_files: int = 0
    sql_tasks: int = 0
    sql_bytes: int = 0
    dialects: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        mean = self.sql_bytes / max(self.dag_files, 1) / 1024
        return (
            f"{self.dag_files} DAG files, {self.sql_tasks} SQL tasks, {self.sql_files} .sql files, "
            f"{self.sql_bytes / 1e6:.1f} MB of SQL ({mean:.1f} KB per DAG file)"
        )


# ------------------------------------------------------------------------------------- SQL text


class SqlWriter:
    """Builds one SQL text of about `target` bytes in `dialect` from CTE-shaped building blocks."""

    def __init__(self, rng: random.Random, dialect: str, domain: str) -> None:
        self.rng = rng
        self.dialect = dialect
        self.domain = domain

    def table(self, layer: str, name: str) -> str:
        if self.dialect == "bigquery":
            return f"`shop-analytics.{layer}.{name}`"
        return f"{layer}.{name}"

    def day_filter(self, alias: str = "") -> str:
        column = f"{alias}.dt" if alias else "dt"
        lookback = self.rng.random() < 0.3
        if lookback:
            return f"{column} BETWEEN '{{{{ macros.ds_add(ds, -{self.rng.choice((2, 3, 7))}) }}}}' AND '{{{{ ds }}}}'"
        return f"{column} = '{{{{ ds }}}}'"

    def columns(self, count: int) -> list[str]:
        pool = [f"{d}_id" for d in DIMENSIONS] + list(ATTRIBUTES)
        return self.rng.sample(pool, min(count, len(pool)))

    def cte(self, index: int, previous: str | None) -> str:
        rng = self.rng
        source = previous or self.table("raw", f"{self.domain}_events")
        keys = self.columns(rng.randint(2, 4))
        measures = rng.sample(MEASURES, rng.randint(2, 5))
        shape = rng.choice(("aggregate", "window", "join", "dedup", "filter"))
        name = f"step_{index}_{shape}"
        key_list = ", ".join(keys)
        if shape == "aggregate":
            aggregates = ",\n        ".join(f"{rng.choice(AGGREGATES)}({m}) AS {m}_{index}" for m in measures)
            body = (
                f"SELECT {key_list},\n        COUNT(*) AS row_count,\n        "
                f"COUNT(DISTINCT {rng.choice(keys)}) AS distinct_keys,\n        {aggregates}\n"
                f"    FROM {source}\n    WHERE {self.day_filter()}\n    GROUP BY {key_list}"
            )
        elif shape == "window":
            windows = ",\n        ".join(
                f"SUM({m}) OVER (PARTITION BY {keys[0]} ORDER BY {keys[-1]} "
                f"ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_{m}"
                for m in measures
            )
            body = (
                f"SELECT {key_list}, {', '.join(measures)},\n        {windows},\n"
                f"        LAG({measures[0]}) OVER (PARTITION BY {keys[0]} ORDER BY {keys[-1]}) "
                f"AS previous_{measures[0]}\n"
                f"    FROM {source}"
            )
        elif shape == "join":
            dimension = rng.choice(DIMENSIONS)
            picked = ", ".join(f"d.{a}" for a in rng.sample(ATTRIBUTES, 3))
            body = (
                f"SELECT s.*, {picked},\n"
                f"        CASE WHEN s.{measures[0]} > {rng.randint(10, 900)} THEN 'high'\n"
                f"             WHEN s.{measures[0]} > {rng.randint(1, 9)} THEN 'medium' ELSE 'low' END AS band\n"
                f"    FROM {source} AS s\n"
                f"    {rng.choice(('JOIN', 'LEFT JOIN'))} {self.table('dim', dimension + 's')} AS d\n"
                f"      ON s.{dimension}_id = d.{dimension}_id AND d.is_current = TRUE"
            )
        elif shape == "dedup":
            body = (
                f"SELECT * FROM (\n        SELECT src.*, ROW_NUMBER() OVER (\n"
                f"            PARTITION BY {key_list} ORDER BY updated_at DESC) AS rn\n"
                f"        FROM {source} AS src\n    ) AS ranked\n    WHERE rn = 1"
            )
        else:
            conditions = " AND ".join(
                f"COALESCE({m}, 0) {rng.choice(('>', '>=', '<>'))} {rng.randint(0, 50)}" for m in measures[:3]
            )
            body = (
                f"SELECT {key_list}, {', '.join(measures)}, UPPER(TRIM({rng.choice(ATTRIBUTES)})) AS label\n"
                f"    FROM {source}\n    WHERE {conditions}\n"
                f"      AND {rng.choice(ATTRIBUTES)} IN ('{rng.choice(DOMAINS)}', '{rng.choice(DOMAINS)}')"
            )
        return f"{name} AS (\n    -- step {index}: {shape} over {source}\n    {body}\n)"

    def select(self, target: int) -> tuple[str, str]:
        """A WITH ... SELECT of about `target` bytes, and the name of its last CTE."""
        ctes: list[str] = []
        previous: str | None = None
        size = 0
        while size < target or not ctes:
            text = self.cte(len(ctes) + 1, previous)
            previous = text.split(" AS (", 1)[0]
            ctes.append(text)
            size += len(text) + 4
        joined = ",\n".join(ctes)
        final = (
            f"WITH {joined}\nSELECT *, '{{{{ ds }}}}' AS dt, "
            f"'{{{{ params.source_system }}}}' AS source_system\nFROM {previous}"
        )
        return final, previous

    def statement(self, target: int, output: str) -> str:
        rng = self.rng
        destination = self.table("marts", output)
        query, _ = self.select(max(target - 300, 200))
        style = rng.random()
        if style < 0.25:
            keys = self.columns(2)
            on = " AND ".join(f"t.{k} = s.{k}" for k in keys)
            return (
                f"MERGE INTO {destination} AS t\nUSING (\n{query}\n) AS s\nON {on}\n"
                f"WHEN MATCHED THEN UPDATE SET updated_at = CURRENT_TIMESTAMP, dt = s.dt\n"
                f"WHEN NOT MATCHED THEN INSERT ({', '.join(keys)}, dt) "
                f"VALUES ({', '.join('s.' + k for k in keys)}, s.dt)"
            )
        if self.dialect in ("spark", "hive", "databricks"):
            return f"INSERT OVERWRITE TABLE {destination} PARTITION (dt = '{{{{ ds }}}}')\n{query}"
        if self.dialect in ("snowflake", "bigquery") and style < 0.45:
            return f"CREATE OR REPLACE TABLE {destination} AS\n{query}"
        if style < 0.7:
            return f"DELETE FROM {destination} WHERE dt = '{{{{ ds }}}}';\n\nINSERT INTO {destination}\n{query}"
        return f"INSERT INTO {destination}\n{query}"

    def script(self, target: int, output: str) -> str:
        header = f"-- {output}: built by the {self.domain} team, one partition per run\n"
        return header + self.statement(target, output) + ";\n"


# ------------------------------------------------------------------------------------ DAG files

COMMON_INIT = '"""Shared settings and operators of the synthetic repository."""\n'

COMMON_SETTINGS = '''"""Defaults every DAG of the repository shares."""

import os
from datetime import timedelta

OWNER = "data-platform"
SQL_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "include", "sql"))
DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "depends_on_past": False,
}
'''

COMMON_OPERATORS = '''"""In-house operators."""

from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator


class WarehouseQueryOperator(SQLExecuteQueryOperator):
    """SQLExecuteQueryOperator with the team's session settings."""

    template_fields = ("sql", "parameters")
    ui_color = "#e8f7e4"
'''


def _python_string(text: str) -> str:
    return '"""\n' + text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"') + '\n"""'


@dataclass
class _Task:
    variable: str
    code: str


def _sql_size(rng: random.Random) -> int:
    return rng.randint(1024, 10 * 1024)


def dag_file(index: int, seed: int, stats: RepoStats) -> tuple[str, dict[str, str]]:
    """The text of DAG file `index` and the .sql files it references (path under include/sql)."""
    rng = random.Random(f"{seed}:{index}")
    domain = DOMAINS[index % len(DOMAINS)]
    team = f"team_{index // DAGS_PER_FOLDER:03d}"
    dag_id = f"{team}_{domain}_{index:06d}"
    tasks: list[_Task] = []
    files: dict[str, str] = {}
    uses_custom = False
    used: set[str] = set()
    sql_tasks = rng.choices((1, 2, 3), weights=(35, 50, 15))[0]
    for number in range(sql_tasks):
        dialect = rng.choice(DIALECTS)
        used.add(dialect)
        writer = SqlWriter(rng, dialect, domain)
        output = f"{domain}_{rng.choice(DIMENSIONS)}_{index:06d}_{number}"
        text = writer.script(_sql_size(rng), output)
        stats.sql_bytes += len(text.encode())
        stats.sql_tasks += 1
        stats.dialects[dialect] = stats.dialects.get(dialect, 0) + 1
        variable = f"build_{output.split('_', 1)[1]}"[:60]
        task_id = f"build_{number}_{output}"
        where = rng.random()
        conn = DIALECT_CONN[dialect]
        if dialect == "bigquery" and where < 0.3:
            command = f"bq query --use_legacy_sql=false --location=EU '\n{text.replace(chr(39), chr(34))}'"
            code = (
                f"BashOperator(\n        task_id={task_id!r},\n        bash_command={_python_string(command)},\n    )"
            )
        elif where < 0.45:
            relative = f"{team}/{dag_id}_{number}.sql"
            files[relative] = text
            code = (
                f"SQLExecuteQueryOperator(\n        task_id={task_id!r},\n        conn_id={conn!r},\n"
                f"        sql={relative!r},\n    )"
            )
        else:
            operator = "SQLExecuteQueryOperator"
            if rng.random() < 0.2:
                operator, uses_custom = "WarehouseQueryOperator", True
            code = (
                f"{operator}(\n        task_id={task_id!r},\n        conn_id={conn!r},\n"
                f"        sql={_python_string(text)},\n    )"
            )
        tasks.append(_Task(variable, code))
    stats.sql_files += len(files)
    imports = [
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "",
        "from airflow import DAG",
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator",
        "from airflow.providers.standard.operators.bash import BashOperator",
        "from airflow.providers.standard.operators.empty import EmptyOperator",
        "from airflow.providers.standard.operators.python import PythonOperator",
        "",
        "from common.settings import DEFAULT_ARGS, SQL_ROOT",
    ]
    if uses_custom:
        imports.append("from common.operators import WarehouseQueryOperator")
    schedule = rng.choice(("@daily", "@hourly", "0 3 * * *", "30 5 * * 1-5"))
    lines = [
        f'"""{domain.title()} pipeline {index} of {team}: daily marts in {", ".join(sorted(used))}."""',
        "",
        *imports,
        "",
        "",
        "def notify_owners(**context):",
        '    print("finished", context["ds"])',
        "",
        "",
        "with DAG(",
        f"    dag_id={dag_id!r},",
        f"    start_date=datetime(2024, {rng.randint(1, 12)}, {rng.randint(1, 28)}),",
        f"    schedule={schedule!r},",
        f"    catchup={rng.random() < 0.2},",
        "    default_args=DEFAULT_ARGS,",
        "    template_searchpath=[SQL_ROOT],",
        f"    params={{'source_system': {domain!r}, 'lookback_days': {rng.randint(1, 7)}}},",
        f"    tags=[{team!r}, {domain!r}],",
        ") as dag:",
        '    start = EmptyOperator(task_id="start")',
    ]
    for task in tasks:
        lines.append(f"    {task.variable} = {task.code}")
    chain = ["start", *(t.variable for t in tasks)]
    if rng.random() < 0.5:
        lines.append('    notify = PythonOperator(task_id="notify", python_callable=notify_owners)')
        chain.append("notify")
    lines.append("    " + " >> ".join(chain))
    return "\n".join(lines) + "\n", files


def generate(out: Path, dags: int, seed: int = 8) -> RepoStats:
    """Write a repository of `dags` DAG files under `out` (which must not exist or be empty)."""
    stats = RepoStats()
    dag_root = out / "dags"
    sql_root = out / "include" / "sql"
    (dag_root / "common").mkdir(parents=True, exist_ok=True)
    (dag_root / "common" / "__init__.py").write_text(COMMON_INIT, encoding="utf-8")
    (dag_root / "common" / "settings.py").write_text(COMMON_SETTINGS, encoding="utf-8")
    (dag_root / "common" / "operators.py").write_text(COMMON_OPERATORS, encoding="utf-8")
    toml = ['default_dialect = "postgres"', "", "[connections]"]
    toml += [f'{conn} = "{dialect}"' for conn, dialect in CONNECTIONS.items()]
    (out / "kappa.toml").write_text("\n".join(toml) + "\n", encoding="utf-8")
    for index in range(dags):
        text, files = dag_file(index, seed, stats)
        folder = dag_root / f"team_{index // DAGS_PER_FOLDER:03d}"
        folder.mkdir(exist_ok=True)
        domain = DOMAINS[index % len(DOMAINS)]
        (folder / f"{domain}_{index:06d}.py").write_text(text, encoding="utf-8")
        for relative, sql in files.items():
            path = sql_root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(sql, encoding="utf-8")
        stats.dag_files += 1
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the repository into")
    parser.add_argument("--dags", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    if args.out.exists() and any(args.out.iterdir()):
        parser.error(f"{args.out} is not empty")
    stats = generate(args.out, args.dags, args.seed)
    print(stats.line())
    print(f"rerun: python benchmarks/synth.py {args.out} --dags {args.dags} --seed {args.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
