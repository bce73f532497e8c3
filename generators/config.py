"""Generation settings: `[generate]` in `kappa.toml` (or `[tool.kappa.generate]` in
`pyproject.toml`, or the file given with `--config`), over the defaults below.

```toml
[generate]
bootstrap_servers = "broker-1:9092,broker-2:9092"
topic_pattern = "prod.{db}.{table}"     # placeholders: db, table, name (the qualified name)
sink = "iceberg"                         # default sink connector (generators.connectors)
jdbc_url = "jdbc:postgresql://warehouse:5432/analytics"
jdbc_password = "${WAREHOUSE_PASSWORD}" # credentials only as ${ENV} placeholders
event_time_columns = ["occurred_at", "event_time"]
```

Every problem is a `UsageError` naming the key and the file: an unknown key, a value of the wrong
type, a placeholder a pattern does not know, a literal credential.

    >>> GenerateConfig().topic_pattern, GenerateConfig().sink
    ('{db}.{table}', 'upsert-kafka')
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from analyzer.errors import UsageError

from .connectors import CONNECTORS, KAFKA_STARTUP_MODES

__all__ = [
    "DEFAULT_EVENT_TIME_COLUMNS",
    "GenerateConfig",
    "generate_config_from_mapping",
    "load_generate_config",
]

DEFAULT_EVENT_TIME_COLUMNS: tuple[str, ...] = (
    "event_time",
    "event_ts",
    "order_ts",
    "created_at",
    "updated_at",
    "ts",
    "timestamp",
)
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass(frozen=True)
class GenerateConfig:
    bootstrap_servers: str = "kafka:9092"
    topic_pattern: str = "{db}.{table}"  # placeholders: db, table, name
    sink: str = "upsert-kafka"  # default sink connector, a key of connectors.CONNECTORS
    source_format: str = "json"  # Kafka value (and upsert-kafka key) format
    cdc_format: str = "debezium-json"  # format of CDC topics (kafka-debezium)
    startup_mode: str = "earliest-offset"  # Kafka scan.startup.mode
    group_id_pattern: str = "kappa-{job}"  # placeholders: job, db, table, name
    checkpoint_interval: str = "1 min"
    jdbc_url: str = "${JDBC_URL}"
    jdbc_username: str = "${JDBC_USER}"  # credentials: ${ENV} placeholders only
    jdbc_password: str = "${JDBC_PASSWORD}"
    iceberg_catalog: str = "lake"  # Iceberg catalog-name
    iceberg_catalog_type: str = "rest"  # hive | hadoop | rest
    iceberg_uri: str = "http://iceberg-rest:8181"  # metastore / REST catalog URI (hive, rest)
    iceberg_warehouse: str = "s3://lake/iceberg"
    paimon_warehouse: str = "s3://lake/paimon"
    filesystem_path: str = "s3://lake/kappa"  # the filesystem sink writes <path>/<db>/<table>
    filesystem_format: str = "json"  # bundled with PyFlink: json, csv, raw; parquet/orc need jars
    event_time_columns: tuple[str, ...] = DEFAULT_EVENT_TIME_COLUMNS  # preferred, in order
    watermark_delay: str = "5 SECOND"  # WATERMARK FOR ts AS ts - INTERVAL '5' SECOND
    kafka_security_protocol: str = ""  # "" (the broker's listener decides) | SSL | SASL_PLAINTEXT | SASL_SSL
    kafka_sasl_mechanism: str = "SCRAM-SHA-512"  # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, with SASL_*
    kafka_username: str = "${KAFKA_USER}"  # credentials: ${ENV} placeholders only
    kafka_password: str = "${KAFKA_PASSWORD}"
    topic_partitions: int = 6  # infra/topics.yaml: partitions of every topic
    topic_replicas: int = 3
    topic_retention_days: int = 7  # event topics keep at least this; longer replay windows go to tiered storage
    strimzi_cluster: str = "kafka"  # the `strimzi.io/cluster` label of the KafkaTopic resources
    secrets_path: str = "/opt/kafka/external-configuration/kappa"  # Kafka Connect `${file:...}` provider folder
    source: str = ""  # where the settings were read from, for messages ("" = defaults)


# --------------------------------------------------------------------------------- validation

_PLACEHOLDER = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_LITERAL_PASSWORD_IN_URL = re.compile(r"password=(?!\$\{)[^&;]+", re.I)
_INTERVAL = re.compile(r"^(\d+)\s+(MILLISECOND|SECOND|MINUTE|HOUR|DAY)S?$", re.I)
# Flink's duration syntax (TimeUtils): a number and an optional unit
_DURATION = re.compile(
    r"^\d+\s*(ns|nano|nanos|nanosecond|nanoseconds|us|micro|micros|microsecond|microseconds|ms|milli|millis|"
    r"millisecond|milliseconds|s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hour|hours|d|day|days)?$",
    re.I,
)
_CDC_FORMATS = frozenset({"debezium-json", "canal-json", "maxwell-json", "ogg-json", "debezium-avro-confluent"})
_ICEBERG_CATALOG_TYPES = frozenset({"hive", "hadoop", "rest"})

_Check = Callable[[str, Any], str | None]  # (key, value) -> problem or None


def _string(_key: str, value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "expected a non-empty string"


def _pattern(allowed: frozenset[str]) -> _Check:
    def check(key: str, value: Any) -> str | None:
        problem = _string(key, value)
        if problem:
            return problem
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as error:
            return f"not a valid pattern: {error}"
        unknown = sorted(names - allowed)
        if unknown:
            return f"unknown placeholder {{{unknown[0]}}} (allowed: {', '.join(sorted(allowed))})"
        return None

    return check


def _one_of(allowed: frozenset[str]) -> _Check:
    def check(key: str, value: Any) -> str | None:
        if value in allowed:
            return None
        return f"{value!r} is not one of {', '.join(sorted(allowed))}"

    return check


def _matches(regex: re.Pattern[str], example: str) -> _Check:
    def check(key: str, value: Any) -> str | None:
        if isinstance(value, str) and regex.match(value.strip()):
            return None
        return f"{value!r} is not of the form {example!r}"

    return check


def _credential(_key: str, value: Any) -> str | None:
    if isinstance(value, str) and _PLACEHOLDER.match(value):
        return None
    return "credentials go in as ${ENV_VAR} placeholders only, never as literal values"


def _jdbc_url(key: str, value: Any) -> str | None:
    problem = _string(key, value)
    if problem:
        return problem
    if _LITERAL_PASSWORD_IN_URL.search(value):
        return "the URL holds a literal password; use a ${ENV_VAR} placeholder"
    return None


def _sink(_key: str, value: Any) -> str | None:
    connector = CONNECTORS.get(value) if isinstance(value, str) else None
    if connector is not None and "sink" in connector.role:
        return None
    sinks = ", ".join(name for name, c in CONNECTORS.items() if "sink" in c.role)
    return f"{value!r} is not a sink connector (one of {sinks})"


def _positive(_key: str, value: Any) -> str | None:
    return (
        None if isinstance(value, int) and not isinstance(value, bool) and value > 0 else "expected a positive integer"
    )


def _names(_key: str, value: Any) -> str | None:
    if isinstance(value, list) and value and all(isinstance(item, str) and item.strip() for item in value):
        return None
    return "expected a non-empty list of column names"


# key -> check; every field of GenerateConfig but `source`
_CHECKS: dict[str, _Check] = {
    "bootstrap_servers": _string,
    "topic_pattern": _pattern(frozenset({"db", "table", "name"})),
    "sink": _sink,
    "source_format": _string,
    "cdc_format": _one_of(_CDC_FORMATS),
    "startup_mode": _one_of(KAFKA_STARTUP_MODES),
    "group_id_pattern": _pattern(frozenset({"job", "db", "table", "name"})),
    "checkpoint_interval": _matches(_DURATION, "1 min"),
    "jdbc_url": _jdbc_url,
    "jdbc_username": _credential,
    "jdbc_password": _credential,
    "iceberg_catalog": _string,
    "iceberg_catalog_type": _one_of(_ICEBERG_CATALOG_TYPES),
    "iceberg_uri": _string,
    "iceberg_warehouse": _string,
    "paimon_warehouse": _string,
    "filesystem_path": _string,
    "filesystem_format": _string,
    "event_time_columns": _names,
    "watermark_delay": _matches(_INTERVAL, "5 SECOND"),
    "kafka_security_protocol": _one_of(frozenset({"", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"})),
    "kafka_sasl_mechanism": _one_of(frozenset({"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"})),
    "kafka_username": _credential,
    "kafka_password": _credential,
    "topic_partitions": _positive,
    "topic_replicas": _positive,
    "topic_retention_days": _positive,
    "strimzi_cluster": _string,
    "secrets_path": _string,
}


def generate_config_from_mapping(raw: Mapping[str, Any], source: str) -> GenerateConfig:
    """Validate a parsed `[generate]` table over the defaults."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        check = _CHECKS.get(key)
        if check is None:
            known = ", ".join(sorted(_CHECKS))
            raise UsageError(f"{source}: unknown key generate.{key} (known keys: {known})")
        problem = check(key, value)
        if problem:
            raise UsageError(f"{source}: generate.{key}: {problem}")
        values[key] = _normalise(key, value)
    return replace(GenerateConfig(), source=source, **values)


def _normalise(key: str, value: Any) -> Any:
    if key == "event_time_columns":
        return tuple(dict.fromkeys(item.strip().lower() for item in value))
    if key == "watermark_delay":
        return " ".join(value.split()).upper()
    return value.strip() if isinstance(value, str) else value


def load_generate_config(root: Path | None, explicit: Path | None = None) -> GenerateConfig:
    """The settings that apply to `root`: `explicit` if given, else `root/kappa.toml`, else
    `[tool.kappa]` of `root/pyproject.toml`; none of them (or no `[generate]`) means the defaults.
    """
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"configuration file {explicit} does not exist")
        candidates = [explicit]
    elif root is not None:
        candidates = [root / "kappa.toml", root / "pyproject.toml"]
    else:
        candidates = []
    for path in candidates:
        if not path.is_file():
            continue
        source = str(path) if explicit is not None else path.name
        raw = _read_toml(path, source)
        if path.name == "pyproject.toml":
            raw = _table(_table(raw, "tool", source), "kappa", source)
            if not raw and explicit is None:
                continue  # a pyproject.toml without [tool.kappa] is not a kappa configuration
        return generate_config_from_mapping(_table(raw, "generate", source), source)
    return GenerateConfig()


def _read_toml(path: Path, source: str) -> Mapping[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise UsageError(f"{source} is larger than {MAX_CONFIG_BYTES} bytes")
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read {source}: {error}") from error


def _table(raw: Mapping[str, Any], key: str, source: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise UsageError(f"{source}: `{key}` must be a table")
    return value
