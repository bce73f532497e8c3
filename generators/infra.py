"""The Kappa building blocks around the generated jobs: the log's topics, the CDC connectors that
bring databases into it, and a readiness view per pipeline.

The jobs say which Kafka topics they read and write (their CREATE TABLE blocks); the batch jobs
say how far back each table must be replayable (the longest lookback of the jobs that read it,
or all of history for a reprocess job). From both:

- `infra/topics.yaml`: one Strimzi `KafkaTopic` per topic; keyed topics (upsert sinks, changelogs)
  are compacted, event topics keep their replay window (`retention.ms`), in tiered storage when
  the window is longer than the local retention;
- `infra/topics.sh`: the same topics with `kafka-topics.sh --create`;
- `infra/connectors/<name>.json`: a Debezium source connector (Kafka Connect's REST format) per
  database whose tables the jobs read as changelogs and no job streams yet; credentials are
  `${file:...}` references to the Connect worker's secrets, never values;
- `readiness`: per DAG, the four questions a team answers before it switches the batch layer off
  (data availability and retention, consistency, late data, reprocessing), each answered with
  these artefacts or left open with what is missing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
import yaml
from sqlglot import exp
from sqlglot.errors import SqlglotError

from analyzer.models import Analysis, Job, Pattern

from .config import GenerateConfig
from .connectors import CONNECTORS
from .flink import GENERATED, REPLAY, GeneratedJob
from .validate import split_statements

DAY_MS = 86_400_000
CHANGELOG_FORMATS = frozenset({"debezium-json", "canal-json", "maxwell-json", "ogg-json"})
_COMMENT = re.compile(r"^(?P<role>source|sink) (?P<table>\S+)")
_K8S_UNSAFE = re.compile(r"[^a-z0-9.-]+")

# database dialect -> Debezium connector class and the options that kind of database needs
DEBEZIUM: dict[str, tuple[str, dict[str, str]]] = {
    "postgres": (
        "io.debezium.connector.postgresql.PostgresConnector",
        {"plugin.name": "pgoutput", "publication.autocreate.mode": "filtered"},
    ),
    "mysql": ("io.debezium.connector.mysql.MySqlConnector", {"include.schema.changes": "false"}),
    "tsql": ("io.debezium.connector.sqlserver.SqlServerConnector", {"database.encrypt": "true"}),
    "oracle": ("io.debezium.connector.oracle.OracleConnector", {"log.mining.strategy": "online_catalog"}),
}


@dataclass(frozen=True)
class KafkaTable:
    """One Kafka-backed table of a generated job, as its CREATE TABLE declares it."""

    table: str  # the analysis's name (db.table)
    topic: str
    role: str  # source | sink
    keyed: bool  # upsert-kafka, or a changelog format: the topic holds the latest value per key
    changelog: bool  # a debezium-json (or similar) changelog
    job_id: str


@dataclass(frozen=True)
class TopicPlan:
    topic: str
    tables: tuple[str, ...]
    cleanup_policy: str  # compact | delete
    retention_days: int | None  # delete topics: the replay window; None = kept forever
    tiered: bool
    partitions: int
    replicas: int
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    reason: str

    def config(self, local_retention_days: int) -> dict[str, str]:
        """The topic's Kafka configuration."""
        settings = {"cleanup.policy": self.cleanup_policy, "min.insync.replicas": str(min(2, self.replicas))}
        if self.cleanup_policy == "compact":
            settings["delete.retention.ms"] = str(DAY_MS)  # how long readers can see a tombstone
        else:
            settings["retention.ms"] = "-1" if self.retention_days is None else str(self.retention_days * DAY_MS)
        if self.tiered:
            settings["remote.storage.enable"] = "true"
            settings["local.retention.ms"] = str(local_retention_days * DAY_MS)
        return settings


@dataclass(frozen=True)
class ConnectorPlan:
    name: str
    database: str  # the schema / database part of the tables' names
    kind: str  # postgres | mysql | tsql | oracle
    tables: tuple[str, ...]
    topics: tuple[str, ...]
    config: Mapping[str, str]


@dataclass(frozen=True)
class Concern:
    status: str  # answered | open
    answer: str


@dataclass(frozen=True)
class Readiness:
    dag_id: str
    concerns: Mapping[str, Concern]  # availability, consistency, late_data, replay


@dataclass(frozen=True)
class Infra:
    topics: tuple[TopicPlan, ...]
    connectors: tuple[ConnectorPlan, ...]
    readiness: tuple[Readiness, ...]
    open_items: tuple[str, ...] = field(default=())  # tables nothing brings into the log

    def to_dict(self, config: GenerateConfig) -> dict[str, Any]:
        return {
            "topics": [
                {
                    "topic": t.topic,
                    "tables": list(t.tables),
                    "cleanup_policy": t.cleanup_policy,
                    "retention_days": t.retention_days,
                    "tiered_storage": t.tiered,
                    "partitions": t.partitions,
                    "replicas": t.replicas,
                    "writers": list(t.writers),
                    "readers": list(t.readers),
                    "reason": t.reason,
                    "config": t.config(config.topic_retention_days),
                }
                for t in self.topics
            ],
            "connectors": [
                {"name": c.name, "database": c.database, "kind": c.kind, "tables": list(c.tables)}
                for c in self.connectors
            ],
            "readiness": [
                {
                    "dag_id": r.dag_id,
                    "concerns": {k: {"status": c.status, "answer": c.answer} for k, c in r.concerns.items()},
                }
                for r in self.readiness
            ],
            "open_items": list(self.open_items),
        }


# ------------------------------------------------------------------------------ the jobs' tables


def kafka_tables(results: Iterable[GeneratedJob]) -> list[KafkaTable]:
    """Every Kafka topic a generated job reads or writes, from its CREATE TABLE blocks."""
    found = []
    for result in results:
        if result.status != GENERATED or not result.sql:
            continue
        for statement in split_statements(result.sql):
            described = _comment(statement.comments)
            options = _options(statement.text) if described else None
            if described is None or options is None or options.get("connector") not in {"kafka", "upsert-kafka"}:
                continue
            role, table = described
            fmt = options.get("format") or options.get("value.format") or ""
            changelog = fmt in CHANGELOG_FORMATS
            keyed = options.get("connector") == "upsert-kafka" or changelog
            found.append(KafkaTable(table, options.get("topic", ""), role, keyed, changelog, result.job_id))
    return found


def _comment(comments: Sequence[str]) -> tuple[str, str] | None:
    for comment in comments:
        match = _COMMENT.match(comment.lstrip("- ").strip())
        if match:
            return match.group("role"), match.group("table")
    return None


def _options(sql: str) -> dict[str, str] | None:
    try:
        tree = sqlglot.parse_one(sql, read="flink")
    except SqlglotError:
        return None
    properties = tree.args.get("properties") if isinstance(tree, exp.Create) else None
    if properties is None:
        return None
    options = {}
    for prop in properties.expressions:
        value = prop.args.get("value")
        if isinstance(prop, exp.Property) and isinstance(value, exp.Expr):
            options[prop.name] = value.name
    return options


# ---------------------------------------------------------------------------------- the topics


def replay_days(analysis: Analysis) -> dict[str, int | None]:
    """How far back each table must be replayable: the longest lookback of the jobs that read or
    rewrite it (+1 day), or None (all of history) when a reprocess job rebuilds from it."""
    window: dict[str, int | None] = {}
    for job in analysis.jobs:
        lookback = max((-d for d in job.lookback_days if d < 0), default=0)
        lookback = max(lookback, job.allowed_lateness_days or 0)
        for table in (*job.reads, *job.writes):
            if window.get(table, 0) is None:
                continue
            if job.pattern is Pattern.REPROCESS:
                window[table] = None
            else:
                held = window.get(table) or 0
                window[table] = max(held, lookback + 1 if lookback else 0)
    return window


def plan_topics(tables: Sequence[KafkaTable], analysis: Analysis, config: GenerateConfig) -> list[TopicPlan]:
    windows = replay_days(analysis)
    by_topic: dict[str, list[KafkaTable]] = {}
    for table in tables:
        by_topic.setdefault(table.topic, []).append(table)
    plans = []
    for topic in sorted(by_topic):
        uses = by_topic[topic]
        names = tuple(sorted({u.table for u in uses}))
        writers = tuple(sorted({u.job_id for u in uses if u.role == "sink"}))
        readers = tuple(sorted({u.job_id for u in uses if u.role == "source"}))
        if any(u.keyed for u in uses):
            reason = "keyed (upsert or changelog): compaction keeps the latest value of every key, all a replay needs"
            plans.append(
                TopicPlan(
                    topic,
                    names,
                    "compact",
                    None,
                    False,
                    config.topic_partitions,
                    config.topic_replicas,
                    writers,
                    readers,
                    reason,
                )
            )
            continue
        needed = [windows.get(name, 0) for name in names]
        forever = any(n is None for n in needed)
        days = None if forever else max([config.topic_retention_days, *(n or 0 for n in needed)])
        if forever:
            reason = "events a reprocess job rebuilds from: kept forever (tiered storage) so history can be replayed"
        elif days is not None and days > config.topic_retention_days:
            reason = f"events: kept {days} days, the longest lookback of the batch jobs that read them"
        else:
            reason = f"events: kept {days} days (no batch job looks back further)"
        tiered = forever or (days is not None and days > config.topic_retention_days)
        plans.append(
            TopicPlan(
                topic,
                names,
                "delete",
                days,
                tiered,
                config.topic_partitions,
                config.topic_replicas,
                writers,
                readers,
                reason,
            )
        )
    return plans


def k8s_name(topic: str) -> str:
    """A Kubernetes resource name for a topic: a DNS-1123 subdomain (lower case, [a-z0-9.-], each
    dot-separated label starting and ending alphanumeric). A topic whose name had to change gets
    a short hash of it, so `a_b` and `a-b` never become the same resource."""
    labels = [_K8S_UNSAFE.sub("-", label).strip("-") for label in topic.lower().split(".")]
    name = ".".join(label for label in labels if label) or "topic"
    if name != topic or len(name) > 253:
        name = f"{name[:240].rstrip('.-')}-{hashlib.sha1(topic.encode()).hexdigest()[:8]}"
    return name


def topics_yaml(plans: Sequence[TopicPlan], config: GenerateConfig) -> str:
    documents = []
    for plan in plans:
        name = k8s_name(plan.topic)
        spec: dict[str, Any] = {"partitions": plan.partitions, "replicas": plan.replicas}
        if name != plan.topic:
            spec["topicName"] = plan.topic
        spec["config"] = plan.config(config.topic_retention_days)
        documents.append(
            {
                "apiVersion": "kafka.strimzi.io/v1",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": name,
                    "labels": {"strimzi.io/cluster": config.strimzi_cluster, "app.kubernetes.io/managed-by": "kappa"},
                    "annotations": {"kappa/reason": plan.reason},
                },
                "spec": spec,
            }
        )
    header = "# Generated by kappa-migrate: one KafkaTopic per topic the generated jobs read or write.\n"
    return header + yaml.safe_dump_all(documents, sort_keys=True, default_flow_style=False, width=120)


def topics_script(plans: Sequence[TopicPlan], config: GenerateConfig) -> str:
    lines = [
        "#!/usr/bin/env bash",
        "# Generated by kappa-migrate: the topics of infra/topics.yaml, for a cluster without Strimzi.",
        "# Usage: BOOTSTRAP=broker:9092 bash topics.sh",
        "set -euo pipefail",
        f'BOOTSTRAP="${{BOOTSTRAP:-{config.bootstrap_servers}}}"',
        "",
    ]
    for plan in plans:
        settings = " ".join(
            f"--config {shlex.quote(f'{k}={v}')}" for k, v in plan.config(config.topic_retention_days).items()
        )
        lines.append(f"# {plan.reason}")
        lines.append(
            f'kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists '
            f"--topic {shlex.quote(plan.topic)} "
            f"--partitions {plan.partitions} --replication-factor {plan.replicas} {settings}"
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ the connectors


def plan_connectors(
    tables: Sequence[KafkaTable], analysis: Analysis, config: GenerateConfig
) -> tuple[list[ConnectorPlan], list[str]]:
    """A Debezium connector per database whose tables the jobs read as changelogs and no
    generated job writes; the tables with no known database are returned as open items."""
    produced = {t.table for t in tables if t.role == "sink"}
    wanted = sorted(
        {(t.table, t.topic) for t in tables if t.role == "source" and t.changelog and t.table not in produced}
    )
    dialects = _reading_dialects(analysis)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    open_items = []
    for table, topic in wanted:
        kind = next((d for d in dialects.get(table, ()) if d in DEBEZIUM), None)
        if kind is None:
            seen = ", ".join(sorted(dialects.get(table, ()))) or "unknown"
            open_items.append(
                f"{table}: read as a changelog but no database connector is known for it (SQL dialect {seen}); "
                "bring it into the log with Kafka Connect or the system that writes it"
            )
            continue
        database = table.rsplit(".", 1)[0] if "." in table else "default"
        groups.setdefault((database, kind), []).append((table, topic))
    plans = []
    for (database, kind), members in sorted(groups.items()):
        plans.append(_debezium(database, kind, members, config))
    return plans, open_items


def _reading_dialects(analysis: Analysis) -> dict[str, set[str]]:
    dialects: dict[str, set[str]] = {}
    for job in analysis.jobs:
        for table in (*job.reads, *job.writes):
            if job.dialect:
                dialects.setdefault(table, set()).add(job.dialect)
    return dialects


def _debezium(database: str, kind: str, members: Sequence[tuple[str, str]], config: GenerateConfig) -> ConnectorPlan:
    name = f"kappa-cdc-{k8s_name(database)}"
    secrets = f"{config.secrets_path.rstrip('/')}/{name}.properties"
    connector_class, extra = DEBEZIUM[kind]
    tables = tuple(table for table, _ in members)
    settings = {
        "connector.class": connector_class,
        "tasks.max": "1",
        "database.hostname": f"${{file:{secrets}:hostname}}",
        "database.port": f"${{file:{secrets}:port}}",
        "database.user": f"${{file:{secrets}:user}}",
        "database.password": f"${{file:{secrets}:password}}",
        "database.dbname": f"${{file:{secrets}:dbname}}",
        "topic.prefix": name,
        "table.include.list": ",".join(tables),
        "snapshot.mode": "initial",  # the current rows first, then every change: the replayable history
        "tombstones.on.delete": "true",
        # Flink's debezium-json format reads the envelope without the schema
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        # Debezium names topics <prefix>.<schema>.<table>; the jobs read <schema>.<table>
        "transforms": "route",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": re.escape(name) + r"\.(.*)",
        "transforms.route.replacement": "$1",
        **extra,
    }
    if kind == "postgres":
        # one slot and one publication per connector: the default publication is shared by all
        settings["slot.name"] = re.sub(r"[^a-z0-9_]", "_", f"kappa_{database.lower()}")
        settings["publication.name"] = settings["slot.name"]
    else:
        # MySQL, SQL Server and Oracle keep the tables' schema history in a topic of their own
        settings["schema.history.internal.kafka.bootstrap.servers"] = config.bootstrap_servers
        settings["schema.history.internal.kafka.topic"] = f"{name}.schema-history"
    if kind == "mysql":
        settings["database.server.id"] = f"${{file:{secrets}:server_id}}"
        settings.pop("database.dbname")
        settings["database.include.list"] = database
    if kind == "tsql":
        # SQL Server names topics <prefix>.<database>.<schema>.<table>: drop the database part too
        settings.pop("database.dbname")
        settings["database.names"] = f"${{file:{secrets}:dbname}}"
        settings["transforms.route.regex"] = re.escape(name) + r"\.[^.]+\.(.*)"
    return ConnectorPlan(name, database, kind, tables, tuple(topic for _, topic in members), settings)


def connector_json(plan: ConnectorPlan) -> str:
    return json.dumps({"name": plan.name, "config": dict(plan.config)}, indent=2, sort_keys=True) + "\n"


# ------------------------------------------------------------------------------- readiness


def readiness(
    analysis: Analysis,
    results: Sequence[GeneratedJob],
    topics: Sequence[TopicPlan],
    connectors: Sequence[ConnectorPlan],
    open_items: Sequence[str],
) -> list[Readiness]:
    outcome = {r.job_id: r for r in results}
    by_dag: dict[str, list[Job]] = {dag.dag_id: [] for dag in analysis.dags}
    for job in analysis.jobs:
        by_dag.setdefault(job.dag_id, []).append(job)
    topic_of = {table: t for t in topics for table in t.tables}
    captured = {table for c in connectors for table in c.tables}
    missing_tables = {item.split(":", 1)[0] for item in open_items}
    views = []
    for dag_id in sorted(by_dag):
        jobs = by_dag[dag_id]
        streamed = [j for j in jobs if outcome.get(j.id) is not None and outcome[j.id].status == GENERATED]
        converted = [
            j for j in jobs if outcome.get(j.id) is not None and outcome[j.id].status in {GENERATED, "retired"}
        ]
        if not streamed and converted and len(converted) == len(jobs):
            retired = RETIRED_DAG
            views.append(Readiness(dag_id, {k: Concern("answered", retired) for k in CONCERNS}))
            continue
        if not streamed:
            reason = "none of its jobs streams yet" if jobs else "it runs no job the scan can see (no SQL task)"
            views.append(Readiness(dag_id, {k: Concern("open", reason) for k in CONCERNS}))
            continue
        manual = sorted(j.id for j in jobs if outcome.get(j.id) is not None and outcome[j.id].status == "manual")
        views.append(
            Readiness(
                dag_id,
                {
                    "availability": _availability(streamed, topic_of, captured, missing_tables),
                    "consistency": _consistency(streamed, outcome, manual),
                    "late_data": _late_data(streamed),
                    "replay": _replay(jobs, streamed, topic_of),
                },
            )
        )
    return views


CONCERNS = ("availability", "consistency", "late_data", "replay")
RETIRED_DAG = (
    "nothing to run: every job of this DAG retires (folded into the job that owns its table, or replaced by "
    "sink options)"
)


def _availability(
    streamed: Sequence[Job], topic_of: Mapping[str, TopicPlan], captured: set[str], missing: set[str]
) -> Concern:
    reads = sorted({t for j in streamed for t in j.reads})
    gaps = [t for t in reads if t in missing or t not in topic_of]
    parts = []
    for table in reads:
        plan = topic_of.get(table)
        if plan is None:
            continue
        kept = (
            "compacted"
            if plan.cleanup_policy == "compact"
            else ("kept forever" if plan.retention_days is None else f"kept {plan.retention_days} d")
        )
        via = ", Debezium" if table in captured else ""
        parts.append(f"{table} -> topic {plan.topic} ({kept}{via})")
    if gaps:
        return Concern(
            "open", "nothing brings into the log: " + ", ".join(gaps) + ("; " + "; ".join(parts) if parts else "")
        )
    return Concern("answered", "; ".join(parts) or "the jobs read no Kafka topic")


def _consistency(streamed: Sequence[Job], outcome: Mapping[str, GeneratedJob], manual: Sequence[str]) -> Concern:
    deliveries = sorted(
        {
            f"{outcome[j.id].sink_connector}: {CONNECTORS[outcome[j.id].sink_connector or ''].delivery.split(':')[0]}"
            for j in streamed
            if (outcome[j.id].sink_connector or "") in CONNECTORS
        }
    )
    answer = "checkpointing EXACTLY_ONCE; sinks " + ", ".join(deliveries)
    if manual:
        return Concern("open", f"{answer}; not converted yet: {', '.join(manual)}")
    return Concern("answered", answer)


def _late_data(streamed: Sequence[Job]) -> Concern:
    parts = []
    for job in sorted(streamed, key=lambda j: j.id):
        lateness = job.allowed_lateness_days or 0
        ttl = f", state TTL {job.state_ttl_days} d" if job.state_ttl_days else ""
        parts.append(f"{job.task_id}: allowed lateness {lateness} d{ttl}")
    return Concern("answered", "watermarks from the batch lookback: " + "; ".join(parts))


def _replay(jobs: Sequence[Job], streamed: Sequence[Job], topic_of: Mapping[str, TopicPlan]) -> Concern:
    reprocess = [j for j in jobs if j.pattern is Pattern.REPROCESS]
    codes = sorted({f.code for j in reprocess for f in j.findings if f.code in REPLAY})
    short = [t for j in streamed for t in j.reads if t in topic_of and topic_of[t].retention_days is not None]
    if reprocess and not codes:
        return Concern("open", f"reprocess jobs without a replay plan: {', '.join(j.id for j in reprocess)}")
    plans = [REPLAY[c].split(":")[0] for c in codes]
    stateful = [j.task_id for j in streamed if j.classification.value == "stateful"]
    rebuild = (
        f"; state of {', '.join(sorted(stateful))} beyond the topics' retention is rebuilt with the State "
        "Processor API (bootstrap a savepoint from the sink's current table)"
        if stateful and short
        else ""
    )
    if plans:
        return Concern("answered", "; ".join(plans) + rebuild)
    return Concern(
        "answered",
        "no backfill in the batch DAG: a restart resumes from the last savepoint or checkpoint" + rebuild,
    )


# ---------------------------------------------------------------------------------- together


def plan_infra(analysis: Analysis, results: Sequence[GeneratedJob], config: GenerateConfig) -> Infra:
    tables = kafka_tables(results)
    topics = plan_topics(tables, analysis, config)
    connectors, open_items = plan_connectors(tables, analysis, config)
    views = readiness(analysis, results, topics, connectors, open_items)
    return Infra(tuple(topics), tuple(connectors), tuple(views), tuple(open_items))


def infra_files(infra: Infra, config: GenerateConfig) -> dict[str, str]:
    """The files `kappa generate` writes under infra/."""
    files = {
        "infra/topics.yaml": topics_yaml(infra.topics, config),
        "infra/topics.sh": topics_script(infra.topics, config),
    }
    for plan in infra.connectors:
        files[f"infra/connectors/{plan.name}.json"] = connector_json(plan)
    return files
