"""The source and sink connectors a generated job can use: their required options, the changelog
they take as a sink and give as a source, and the full `WITH (...)` options for one table.

Facts from the connectors' docs and from planning against Flink 2.3 (see flink_semantics.md §2,
§3, §5):

- upsert-kafka needs a PRIMARY KEY, `key.format` and `value.format`; it takes no
  `scan.startup.mode` (it always reads the topic from the start).
- a kafka source needs `properties.group.id` under the default `scan.startup.mode=group-offsets`
  (EXPLAIN fails without it): both are always written.
- `kafka` with a CDC format (`kafka-debezium` here) is a retract source and sink.
- jdbc, iceberg and paimon upsert by the PRIMARY KEY when one is declared, else append; iceberg
  upserts need `'format-version'='2'` and `'write.upsert.enabled'='true'`.
- filesystem is append-only; in streaming it needs rolling-policy, compaction and partition-commit
  options, and files are only committed on checkpoints.
- credentials are `${ENV}` placeholders (`GenerateConfig` refuses literal ones).

    >>> from generators.config import GenerateConfig
    >>> context = ConnectorContext("shop.orders", "shop_sync.load_orders", GenerateConfig(), ("order_id",))
    >>> CONNECTORS["upsert-kafka"].options(context)["topic"]
    'shop.orders'
    >>> sink_for("upsert-kafka", "upsert").name
    'upsert-kafka'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from analyzer.errors import UsageError

if TYPE_CHECKING:  # config imports this module for the connector names
    from .config import GenerateConfig

__all__ = [
    "CONNECTORS",
    "KAFKA_STARTUP_MODES",
    "ChangelogMode",
    "Connector",
    "ConnectorContext",
    "check_context",
    "check_options",
    "sink_for",
]

KAFKA_STARTUP_MODES = frozenset({"earliest-offset", "latest-offset", "group-offsets"})


class ChangelogMode(StrEnum):
    APPEND = "append"  # inserts only
    UPSERT = "upsert"  # inserts, update-after and deletes by key (no update-before)
    RETRACT = "retract"  # every change kind, update-before included


@dataclass(frozen=True)
class ConnectorContext:
    """One table of a job, as the connector options need it."""

    table: str  # "db.t" / "project.dataset.t"
    job_id: str  # "<dag_id>.<task_id>"
    config: GenerateConfig
    primary_key: tuple[str, ...] = ()
    partitioned_by: tuple[str, ...] = ()
    role: str = "source"  # source | sink: a sink gets its delivery options

    @property
    def db(self) -> str:
        """The schema / dataset holding the table (the part before its name), "default" if none."""
        parts = self.table.split(".")
        return parts[-2] if len(parts) > 1 else "default"

    @property
    def name(self) -> str:
        return self.table.split(".")[-1]


Options = Callable[[ConnectorContext], dict[str, str]]
Check = Callable[[Mapping[str, str]], list[str]]  # options -> what is missing


@dataclass(frozen=True)
class Connector:
    name: str  # the key in CONNECTORS (not always Flink's 'connector' value: kafka-debezium)
    role: frozenset[str]  # {"source", "sink"}
    required: tuple[str, ...]  # options Flink refuses the table without
    accepts: frozenset[ChangelogMode]  # as a sink; empty for a source-only connector
    emits: ChangelogMode  # as a source
    needs_primary_key: bool  # always, whatever the job
    bundled_with_pyflink: bool  # its factory ships in apache-flink-libraries (offline validation)
    options: Options  # the full WITH options for one table, in a fixed order
    upsert_needs_primary_key: bool = False  # takes updates only by a declared PRIMARY KEY
    checks: tuple[Check, ...] = field(default=())  # rules beyond `required`
    # Flink types the connector cannot write -> the type it writes instead (same precision)
    type_substitutes: Mapping[str, str] = field(default_factory=dict)
    delivery: str = ""  # how a sink delivers each change once, for the job header
    # with a key, an upsert sink whatever the input: Flink 2.3 then wants `ON CONFLICT` for
    # insert-only rows too (they have no upsert key to match the PRIMARY KEY)
    always_upsert: bool = False

    @property
    def is_sink(self) -> bool:
        return "sink" in self.role


# ----------------------------------------------------------------------------------- naming

_TOPIC_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def _topic(context: ConnectorContext) -> str:
    topic = context.config.topic_pattern.format(db=context.db, table=context.name, name=context.table)
    return _TOPIC_UNSAFE.sub("_", topic)


def _group_id(context: ConnectorContext) -> str:
    return context.config.group_id_pattern.format(
        job=context.job_id, db=context.db, table=context.name, name=context.table
    )


def _path(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *parts])


# ---------------------------------------------------------------------------------- options


TRANSACTION_TIMEOUT_MS = "900000"  # 15 min: the brokers' default maximum, well above a checkpoint interval


def _transactional_id_prefix(context: ConnectorContext) -> str:
    """Unique per job and sink: two writers sharing a prefix fence each other's transactions."""
    return _TOPIC_UNSAFE.sub("_", f"kappa-{context.job_id}-{context.name}")


def _kafka_delivery(context: ConnectorContext) -> dict[str, str]:
    """A sink writes in Kafka transactions committed on each checkpoint; a source reads only
    committed records, so the guarantee holds from topic to topic."""
    if context.role == "sink":
        return {
            "sink.delivery-guarantee": "exactly-once",
            "sink.transactional-id-prefix": _transactional_id_prefix(context),
            # the producer's default (1 h) is above the brokers' transaction.max.timeout.ms (15 min)
            "properties.transaction.timeout.ms": TRANSACTION_TIMEOUT_MS,
        }
    return {"properties.isolation.level": "read_committed"}


_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def _kafka_security(context: ConnectorContext) -> dict[str, str]:
    """The client's security settings from `[generate]`; the credentials stay `${ENV}`
    placeholders, filled in where the job is deployed."""
    config = context.config
    if not config.kafka_security_protocol:
        return {}
    options = {"properties.security.protocol": config.kafka_security_protocol}
    if config.kafka_security_protocol.startswith("SASL_"):
        module = _LOGIN_MODULES[config.kafka_sasl_mechanism]
        options["properties.sasl.mechanism"] = config.kafka_sasl_mechanism
        options["properties.sasl.jaas.config"] = (
            f'{module} required username="{config.kafka_username}" password="{config.kafka_password}";'
        )
    return options


def _kafka(context: ConnectorContext) -> dict[str, str]:
    config = context.config
    consumer = (
        {"properties.group.id": _group_id(context), "scan.startup.mode": config.startup_mode}
        if context.role == "source"
        else {}
    )
    return {
        "connector": "kafka",
        "topic": _topic(context),
        "properties.bootstrap.servers": config.bootstrap_servers,
        **consumer,
        "format": config.source_format,
        **_kafka_delivery(context),
        **_kafka_security(context),
    }


def _kafka_debezium(context: ConnectorContext) -> dict[str, str]:
    return {**_kafka(context), "format": context.config.cdc_format}


def _upsert_kafka(context: ConnectorContext) -> dict[str, str]:
    config = context.config
    return {
        "connector": "upsert-kafka",
        "topic": _topic(context),
        "properties.bootstrap.servers": config.bootstrap_servers,
        "key.format": config.source_format,
        "value.format": config.source_format,
        **_kafka_delivery(context),
        **_kafka_security(context),
    }


def _jdbc(context: ConnectorContext) -> dict[str, str]:
    config = context.config
    return {
        "connector": "jdbc",
        "url": config.jdbc_url,
        "table-name": ".".join(context.table.split(".")[-2:]),  # schema.table; the URL names the db
        "username": config.jdbc_username,
        "password": config.jdbc_password,
    }


def _iceberg(context: ConnectorContext) -> dict[str, str]:
    config = context.config
    options = {
        "connector": "iceberg",
        "catalog-name": config.iceberg_catalog,
        "catalog-type": config.iceberg_catalog_type,
    }
    if config.iceberg_catalog_type != "hadoop":
        options["uri"] = config.iceberg_uri
    options |= {
        "warehouse": config.iceberg_warehouse,
        "catalog-database": context.db,
        "catalog-table": context.name,
        "format-version": "2",
    }
    if context.primary_key:
        options["write.upsert.enabled"] = "true"
    return options


def _paimon(context: ConnectorContext) -> dict[str, str]:
    options = {
        "connector": "paimon",
        "path": _path(context.config.paimon_warehouse, f"{context.db}.db", context.name),
        "auto-create": "true",
    }
    if context.primary_key:
        # keep the latest row per key, and produce a complete changelog for streaming readers
        options |= {"merge-engine": "deduplicate", "changelog-producer": "lookup"}
    return options


def _filesystem(context: ConnectorContext) -> dict[str, str]:
    options = {
        "connector": "filesystem",
        "path": _path(context.config.filesystem_path, context.db, context.name),
        "format": context.config.filesystem_format,
        "source.monitor-interval": "1 min",  # read as a stream: watch for new files
        "sink.rolling-policy.file-size": "128MB",
        "sink.rolling-policy.rollover-interval": "15 min",
        "sink.rolling-policy.check-interval": "1 min",
        "auto-compaction": "true",
        "compaction.file-size": "128MB",
    }
    if context.partitioned_by:
        options |= {
            "sink.partition-commit.trigger": "process-time",
            "sink.partition-commit.delay": "0 s",
            "sink.partition-commit.policy.kind": "success-file",
        }
    return options


def _only(connector: str) -> Options:
    def options(_context: ConnectorContext) -> dict[str, str]:
        return {"connector": connector}

    return options


def _kafka_group(options: Mapping[str, str]) -> list[str]:
    """Under group-offsets (the default start) a kafka source needs a consumer group."""
    starts_from_group = options.get("scan.startup.mode", "group-offsets") == "group-offsets"
    return ["properties.group.id"] if starts_from_group and "properties.group.id" not in options else []


# ----------------------------------------------------------------------------------- table

_BOTH = frozenset({"source", "sink"})
_ALL_CHANGES = frozenset(ChangelogMode)
_BY_KEY = frozenset({ChangelogMode.APPEND, ChangelogMode.UPSERT})
_APPEND_ONLY = frozenset({ChangelogMode.APPEND})
_KAFKA_REQUIRED = ("connector", "topic", "properties.bootstrap.servers", "format")

KAFKA_DELIVERY = (
    "exactly-once: Kafka transactions commit with each checkpoint (`sink.delivery-guarantee`); "
    "readers use `isolation.level=read_committed`"
)

CONNECTORS: dict[str, Connector] = {
    "kafka": Connector(
        name="kafka",
        delivery=KAFKA_DELIVERY,
        role=_BOTH,
        required=_KAFKA_REQUIRED,
        accepts=_APPEND_ONLY,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=False,
        options=_kafka,
        checks=(_kafka_group,),
    ),
    "upsert-kafka": Connector(
        name="upsert-kafka",
        always_upsert=True,
        delivery=KAFKA_DELIVERY,
        role=_BOTH,
        required=("connector", "topic", "properties.bootstrap.servers", "key.format", "value.format"),
        accepts=_BY_KEY,
        emits=ChangelogMode.UPSERT,
        needs_primary_key=True,
        bundled_with_pyflink=False,
        options=_upsert_kafka,
    ),
    "kafka-debezium": Connector(
        name="kafka-debezium",
        delivery=KAFKA_DELIVERY,
        role=_BOTH,
        required=_KAFKA_REQUIRED,
        accepts=_ALL_CHANGES,
        emits=ChangelogMode.RETRACT,
        needs_primary_key=False,
        bundled_with_pyflink=False,
        options=_kafka_debezium,
        checks=(_kafka_group,),
    ),
    "jdbc": Connector(
        name="jdbc",
        always_upsert=True,
        delivery=(
            "effectively once: upserts by the primary key are idempotent, so rows replayed after a failure "
            "are written again with the same values"
        ),
        role=_BOTH,
        required=("connector", "url", "table-name"),
        accepts=_BY_KEY,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=False,
        options=_jdbc,
        upsert_needs_primary_key=True,
        # the JDBC dialects (PostgreSQL, MySQL, ...) refuse TIMESTAMP_LTZ: `Unsupported type:TIMESTAMP_LTZ(3)`
        type_substitutes={"TIMESTAMP_LTZ": "TIMESTAMP"},
    ),
    "iceberg": Connector(
        name="iceberg",
        delivery="exactly-once: each checkpoint commits one Iceberg snapshot",
        role=_BOTH,
        required=("connector", "catalog-name"),
        accepts=_ALL_CHANGES,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=False,
        options=_iceberg,
        upsert_needs_primary_key=True,
    ),
    "paimon": Connector(
        name="paimon",
        delivery="exactly-once: each checkpoint commits one Paimon snapshot",
        role=_BOTH,
        required=("connector", "path"),
        accepts=_ALL_CHANGES,
        emits=ChangelogMode.RETRACT,
        needs_primary_key=False,
        bundled_with_pyflink=False,
        options=_paimon,
        upsert_needs_primary_key=True,
    ),
    "filesystem": Connector(
        name="filesystem",
        delivery="exactly-once: files are committed (made visible) on checkpoints",
        role=_BOTH,
        required=("connector", "path", "format"),
        accepts=_APPEND_ONLY,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=True,
        options=_filesystem,
    ),
    "print": Connector(
        name="print",
        role=frozenset({"sink"}),
        required=("connector",),
        accepts=_ALL_CHANGES,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=True,
        options=_only("print"),
    ),
    "blackhole": Connector(
        name="blackhole",
        role=frozenset({"sink"}),
        required=("connector",),
        accepts=_ALL_CHANGES,
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=True,
        options=_only("blackhole"),
    ),
    "datagen": Connector(
        name="datagen",
        role=frozenset({"source"}),
        required=("connector",),
        accepts=frozenset(),
        emits=ChangelogMode.APPEND,
        needs_primary_key=False,
        bundled_with_pyflink=True,
        options=_only("datagen"),
    ),
}


# -------------------------------------------------------------------------------- checks

# the job's sink mode (analysis.json `sink_mode`) -> the changelog the sink must take
_MODE_BY_SINK_MODE: dict[str, ChangelogMode] = {
    "append": ChangelogMode.APPEND,
    "none": ChangelogMode.APPEND,  # a job with no updating output fits any sink
    "upsert": ChangelogMode.UPSERT,
    "retract": ChangelogMode.RETRACT,
}


def writable_type(connector: Connector, flink_type: str) -> str:
    """The column type `connector` can write for `flink_type`.

    >>> writable_type(CONNECTORS["jdbc"], "TIMESTAMP_LTZ(3)")
    'TIMESTAMP(3)'
    """
    for unsupported, substitute in connector.type_substitutes.items():
        if re.match(rf"{unsupported}\b", flink_type, re.IGNORECASE):
            return substitute + flink_type[len(unsupported) :]
    return flink_type


def sink_for(name: str, mode: str) -> Connector:
    """The sink connector `name`, checked to take a job whose output is `mode` (append | upsert).

    >>> sink_for("filesystem", "upsert")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    analyzer.errors.UsageError: sink connector 'filesystem' is append-only, but the job's output ...
    """
    connector = CONNECTORS.get(name)
    if connector is None or not connector.is_sink:
        sinks = ", ".join(key for key, value in CONNECTORS.items() if value.is_sink)
        raise UsageError(f"unknown sink connector {name!r}; choose one of: {sinks}")
    wanted = _MODE_BY_SINK_MODE.get(str(mode).lower())
    if wanted is None:
        raise UsageError(f"unknown sink mode {mode!r}; expected append or upsert")
    if wanted not in connector.accepts:
        able = ", ".join(key for key, value in CONNECTORS.items() if wanted in value.accepts)
        shape = "append-only" if connector.accepts == _APPEND_ONLY else f"not a {wanted} sink"
        raise UsageError(
            f"sink connector {name!r} is {shape}, but the job's output updates rows (sink mode {mode}); "
            f"choose one of: {able}"
        )
    return connector


def check_options(connector: Connector, options: Mapping[str, str]) -> list[str]:
    """The required options missing from `options`, in the connector's order."""
    missing = [key for key in connector.required if not options.get(key)]
    for check in connector.checks:
        missing.extend(key for key in check(options) if key not in missing)
    return missing


def check_context(connector: Connector, context: ConnectorContext, mode: str = "append") -> list[str]:
    """What stops `connector` from serving `context` as a sink in `mode`, as messages."""
    problems: list[str] = []
    upsert = _MODE_BY_SINK_MODE.get(str(mode).lower()) in {ChangelogMode.UPSERT, ChangelogMode.RETRACT}
    if not context.primary_key and (connector.needs_primary_key or (upsert and connector.upsert_needs_primary_key)):
        problems.append(f"{connector.name} sink for {context.table} needs a PRIMARY KEY")
    if connector.name == "iceberg" and context.primary_key:
        outside = [column for column in context.partitioned_by if column not in context.primary_key]
        if outside:
            problems.append(
                f"iceberg upsert into {context.table} needs its partition columns in the primary key: "
                + ", ".join(outside)
            )
    return problems
