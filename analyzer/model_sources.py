"""Where the SQL lives besides the DAGs: dbt projects (`analyzer.dbt`) and SQL folders
(`analyzer.sql_folders`), scanned after the DAG files and merged into one `ModelScan`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from .config import KappaConfig
from .dbt import scan_dbt_projects
from .model_jobs import ModelScan, Reader
from .models import Dag, Inventory, Job
from .schemas import TableDef
from .sql_folders import scan_sql_folders


def scan_models(
    root: Path,
    inventory: Inventory,
    dags: Sequence[Dag],
    jobs: Sequence[Job],
    config: KappaConfig,
    read: Reader,
    *,
    sql_folders: Sequence[str] = (),
    dialect: str | None = None,
    known_tables: Mapping[str, TableDef] | None = None,
) -> ModelScan:
    """The dbt projects under `root` and the SQL folders (the configuration's, then `sql_folders`).

    `dialect` (`--dialect`) wins over the configuration's `[sql_folders] dialect`.
    """
    chosen = dialect or config.sql_dialect
    dbt = scan_dbt_projects(root, inventory, dags, config, read, dialect=chosen, known_tables=known_tables)
    projects = [PurePosixPath(d.file).parent.as_posix() for d in dbt.dags]
    folders = list(dict.fromkeys([*config.sql_folders, *sql_folders]))
    sql = scan_sql_folders(
        root,
        inventory,
        dags,
        jobs,
        config,
        read,
        folders=folders,
        dialect=chosen,
        excluded=[p for p in projects if p != "."],
    )
    schemas = dict(dbt.schemas)
    for table, definition in sql.schemas:
        schemas.setdefault(table, definition)
    counts = {**{f"dbt_{k}": v for k, v in dbt.counts.items()}, **{f"sql_{k}": v for k, v in sql.counts.items()}}
    return ModelScan(
        (*dbt.dags, *sql.dags),
        (*dbt.jobs, *sql.jobs),
        (*dbt.findings, *sql.findings),
        tuple(sorted(schemas.items())),
        counts,
    )
