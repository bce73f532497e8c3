"""The user's kappa configuration: `kappa.toml` at the scanned root, or `[tool.kappa]` in its
`pyproject.toml`, or a file given with `--config`.

```toml
default_dialect = "postgres"        # last resort for SQL whose dialect nothing else decides
[connections]                       # conn_id -> dialect, for generic operators and hooks
warehouse = "snowflake"
[operators.LegacyWarehouseOperator] # operators the scanner cannot know: where the SQL is
sql_arg = "query"
dialect = "snowflake"
[sql_folders]                       # folders of query files, each file a job (kappa scan --sql-dir)
paths = ["sql"]
dialect = "bigquery"                # their dialect, and that of dbt projects whose profile names none
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot.dialects.dialect import Dialects

from .errors import scan_error
from .models import Finding


@dataclass(frozen=True)
class OperatorConfig:
    sql_arg: str
    dialect: str | None = None
    conn_arg: str | None = None


@dataclass(frozen=True)
class KappaConfig:
    default_dialect: str | None = None
    connections: Mapping[str, str] = field(default_factory=dict)
    operators: Mapping[str, OperatorConfig] = field(default_factory=dict)
    source: str = ""  # where the configuration was read from, for messages
    sql_folders: tuple[str, ...] = ()  # root-relative folders of query files, each file a job
    sql_dialect: str | None = None  # their dialect (and dbt projects' when their profile names none)


# sqlglot's own dialects by name: checking one of these needs no import of its module (loading the
# eight dialects of a typical kappa.toml took 0.2 s of every scan, most of a cached one's)
_BUILT_IN_DIALECTS = frozenset(dialect.value for dialect in Dialects if dialect.value)


@lru_cache(maxsize=1024)
def known_dialect(name: str) -> bool:
    """A dialect sqlglot knows by this name. Remembered per process: for a name it does not know
    (any folder name, `dialect_from_path`) sqlglot reads every installed package's entry points."""
    if name in _BUILT_IN_DIALECTS:
        return True
    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        return False
    return True


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    return value if isinstance(value, Mapping) else {}


def config_from_mapping(raw: Mapping[str, Any], source: str) -> tuple[KappaConfig, tuple[Finding, ...]]:
    """Validate a parsed TOML table; unknown dialects and malformed entries become E040 findings."""
    findings: list[Finding] = []

    def dialect_or_none(value: object, where: str) -> str | None:
        if isinstance(value, str) and known_dialect(value):
            return value.lower()
        findings.append(scan_error("E040", f"{where}: unknown dialect {value!r}", source))
        return None

    default = raw.get("default_dialect")
    default_dialect = dialect_or_none(default, "default_dialect") if default is not None else None
    connections: dict[str, str] = {}
    for conn_id, dialect in sorted(_table(raw, "connections").items()):
        checked = dialect_or_none(dialect, f"connections.{conn_id}")
        if checked:
            connections[conn_id] = checked
    operators: dict[str, OperatorConfig] = {}
    for name, entry in sorted(_table(raw, "operators").items()):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("sql_arg"), str):
            findings.append(scan_error("E040", f"operators.{name}: needs a string `sql_arg`", source))
            continue
        dialect = entry.get("dialect")
        conn_arg = entry.get("conn_arg")
        operators[name] = OperatorConfig(
            sql_arg=entry["sql_arg"],
            dialect=dialect_or_none(dialect, f"operators.{name}.dialect") if dialect is not None else None,
            conn_arg=conn_arg if isinstance(conn_arg, str) else None,
        )
    folders = _table(raw, "sql_folders")
    paths = folders.get("paths", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        findings.append(scan_error("E040", "sql_folders.paths: needs a list of folder names", source))
        paths = []
    sql_dialect = folders.get("dialect")
    config = KappaConfig(
        default_dialect,
        connections,
        operators,
        source,
        sql_folders=tuple(paths),
        sql_dialect=dialect_or_none(sql_dialect, "sql_folders.dialect") if sql_dialect is not None else None,
    )
    return config, tuple(findings)


def load_config(root: Path, explicit: Path | None = None) -> tuple[KappaConfig, tuple[Finding, ...]]:
    """Read the configuration that applies to `root`; no file means the defaults."""
    candidates = [explicit] if explicit else [root / "kappa.toml", root / "pyproject.toml"]
    for path in candidates:
        if path is None or not path.is_file():
            continue
        source = path.name if not explicit else str(path)
        try:
            raw: Mapping[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            return KappaConfig(source=source), (scan_error("E040", f"cannot read {source}: {error}", source),)
        if path.name == "pyproject.toml" and not explicit:
            raw = _table(_table(raw, "tool"), "kappa")
            if not raw:
                continue
        return config_from_mapping(raw, source)
    return KappaConfig(), ()
