"""The Kappa building blocks `kappa generate` writes beside the jobs: topics, CDC connectors and
the readiness view, checked against their formats and pinned by golden files."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from analyzer.cli import app
from generators.config import GenerateConfig
from generators.infra import CONCERNS, TopicPlan, k8s_name

from .conftest import SAMPLES, TESTS

GOLDEN = TESTS / "golden" / "infra"
SCHEMA = yaml.safe_load((TESTS / "data" / "strimzi" / "kafkatopic-v1.schema.yaml").read_text(encoding="utf-8"))
runner = CliRunner()


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    result = runner.invoke(app, ["generate", str(SAMPLES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_golden_infra(output: Path, update_goldens: bool) -> None:
    produced = {p.relative_to(output / "infra").as_posix(): p.read_text() for p in (output / "infra").rglob("*.*")}
    if update_goldens:
        for old in GOLDEN.rglob("*.*"):
            old.unlink()
        for relative, text in produced.items():
            (GOLDEN / relative).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / relative).write_text(text)
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_text() for p in GOLDEN.rglob("*.*")}
    assert sorted(produced) == sorted(expected)
    for relative, text in produced.items():
        assert text == expected[relative], f"infra/{relative} differs: run pytest --update-goldens and review"


def test_topics_are_valid_kafka_topic_resources(output: Path) -> None:
    documents = list(yaml.safe_load_all((output / "infra" / "topics.yaml").read_text(encoding="utf-8")))
    assert documents
    for document in documents:
        jsonschema.validate(document, SCHEMA)
    names = [d["metadata"]["name"] for d in documents]
    assert len(names) == len(set(names))
    by_topic = {d["spec"].get("topicName", d["metadata"]["name"]): d["spec"]["config"] for d in documents}
    # keyed upsert topics are compacted; event topics keep a replay window, forever for a reprocess source
    assert by_topic["marts.fct_orders"]["cleanup.policy"] == "compact"
    assert by_topic["raw.payments"] == {
        "cleanup.policy": "delete",
        "retention.ms": str(7 * 86_400_000),
        "min.insync.replicas": "2",
    }
    forever = by_topic["staging.clickstream"]
    assert forever["retention.ms"] == "-1" and forever["remote.storage.enable"] == "true"


def test_the_script_creates_the_same_topics(output: Path) -> None:
    script = (output / "infra" / "topics.sh").read_text(encoding="utf-8")
    documents = list(yaml.safe_load_all((output / "infra" / "topics.yaml").read_text(encoding="utf-8")))
    for document in documents:
        topic = document["spec"].get("topicName", document["metadata"]["name"])
        assert f"--topic {topic} " in script
    assert script.count("kafka-topics.sh --bootstrap-server") == len(documents)


def test_connectors_parse_and_take_credentials_from_the_worker(output: Path) -> None:
    configs = sorted((output / "infra" / "connectors").glob("*.json"))
    assert [p.name for p in configs] == ["kappa-cdc-shop.json"]
    connector = json.loads(configs[0].read_text(encoding="utf-8"))
    config = connector["config"]
    assert connector["name"] == "kappa-cdc-shop"
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert set(config["table.include.list"].split(",")) >= {"shop.customers"}
    for key in ("database.hostname", "database.user", "database.password"):
        assert config[key].startswith("${file:") and config[key].endswith("}")
    # the topics the connector writes are the topics the jobs read
    assert config["transforms.route.replacement"] == "$1"


def test_every_dag_answers_the_four_concerns(output: Path) -> None:
    document = json.loads((output / "analysis.json").read_text(encoding="utf-8"))
    readiness = {r["dag_id"]: r["concerns"] for r in document["infra"]["readiness"]}
    assert set(readiness) == {dag["dag_id"] for dag in document["dags"]}
    for concerns in readiness.values():
        assert tuple(concerns) == tuple(sorted(CONCERNS))
        assert all(c["status"] in {"answered", "open"} and c["answer"] for c in concerns.values())
    assert readiness["shop_customer_sync"]["consistency"]["status"] == "answered"
    assert "raw.customers_cdc" in readiness["lake_daily_sales"]["availability"]["answer"]
    assert readiness["lake_daily_sales"]["availability"]["status"] == "open"


@pytest.mark.parametrize(
    "topic", ["marts.fct_orders", "marts.fct-orders", "Marts.Fct_Orders", "a._b", "Raw__Events.", "_", "x" * 300]
)
def test_topic_resource_names_are_dns_subdomains(topic: str) -> None:
    name = k8s_name(topic)
    assert jsonschema.Draft202012Validator(SCHEMA["properties"]["metadata"]).is_valid({"name": name}), name


def test_topics_that_differ_get_resources_that_differ() -> None:
    topics = ["marts.fct_orders", "marts.fct-orders", "Marts.Fct_Orders", "a._b", "a.-b"]
    assert len({k8s_name(t) for t in topics}) == len(topics)
    assert k8s_name("raw.order-events") == "raw.order-events"  # a valid name stays as it is


def test_a_long_replay_window_goes_to_tiered_storage() -> None:
    plan = TopicPlan("t", ("db.t",), "delete", 30, True, 6, 3, (), (), "")
    config = plan.config(GenerateConfig().topic_retention_days)
    assert config["retention.ms"] == str(30 * 86_400_000)
    assert config["local.retention.ms"] == str(7 * 86_400_000)
