"""Tests for `generators.connectors` (the connector table) and `generators.config` (the
`[generate]` settings). `sink_for` cases are data: `tests/data/schemas/sink_modes.yml`.
"""

from __future__ import annotations

import dataclasses
import doctest
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer.errors import UsageError
from analyzer.models import SinkMode
from generators import config as config_module
from generators import connectors as connectors_module
from generators.config import (
    DEFAULT_EVENT_TIME_COLUMNS,
    GenerateConfig,
    generate_config_from_mapping,
    load_generate_config,
)
from generators.connectors import (
    CONNECTORS,
    ChangelogMode,
    Connector,
    ConnectorContext,
    check_context,
    check_options,
    sink_for,
)

DATA = Path(__file__).parent / "data" / "schemas"
CONFIG = GenerateConfig()
PLAIN = ConnectorContext("shop.orders", "shop_sync.load_orders", CONFIG)
KEYED = ConnectorContext("lake.daily_sales", "lake_daily.build", CONFIG, ("country", "dt"), ("dt",))
PLACEHOLDER = re.compile(r"^\$\{[A-Z_]+\}$")


def _params(connectors: dict[str, Connector]) -> list[Any]:
    return [pytest.param(connector, id=name) for name, connector in connectors.items()]


# ------------------------------------------------------------------------------------ table


def test_the_table_holds_the_connectors_the_design_names() -> None:
    assert list(CONNECTORS) == [
        "kafka",
        "upsert-kafka",
        "kafka-debezium",
        "jdbc",
        "iceberg",
        "paimon",
        "filesystem",
        "print",
        "blackhole",
        "datagen",
    ]
    assert all(name == connector.name for name, connector in CONNECTORS.items())


@pytest.mark.parametrize("connector", _params(CONNECTORS))
@pytest.mark.parametrize("context", [PLAIN, KEYED], ids=["plain", "keyed"])
def test_options_hold_the_required_keys(connector: Connector, context: ConnectorContext) -> None:
    options = connector.options(context)
    assert set(connector.required) <= set(options)
    assert check_options(connector, options) == []
    assert next(iter(options)) == "connector"  # deterministic order, connector first
    assert list(options.items()) == list(connector.options(context).items())
    assert all(isinstance(value, str) and value for value in options.values())


@pytest.mark.parametrize("connector", _params(CONNECTORS))
def test_roles_and_changelog_modes_agree(connector: Connector) -> None:
    assert connector.role and connector.role <= {"source", "sink"}
    assert bool(connector.accepts) == ("sink" in connector.role)
    assert connector.emits in ChangelogMode
    if connector.needs_primary_key:
        assert ChangelogMode.UPSERT in connector.accepts


def test_only_the_planner_bundled_connectors_are_marked_bundled() -> None:
    # flink_semantics.md §5: apache-flink-libraries 2.3.0 ships blackhole, datagen, filesystem, print
    bundled = {name for name, connector in CONNECTORS.items() if connector.bundled_with_pyflink}
    assert bundled == {"filesystem", "print", "blackhole", "datagen"}


def test_append_only_and_updating_sinks() -> None:
    append_only = {name for name, c in CONNECTORS.items() if c.accepts == {ChangelogMode.APPEND}}
    assert append_only == {"kafka", "filesystem"}
    assert CONNECTORS["upsert-kafka"].needs_primary_key
    assert CONNECTORS["upsert-kafka"].emits is ChangelogMode.UPSERT
    assert CONNECTORS["kafka-debezium"].emits is ChangelogMode.RETRACT
    assert {name for name, c in CONNECTORS.items() if c.upsert_needs_primary_key} == {
        "jdbc",
        "iceberg",
        "paimon",
    }


# ---------------------------------------------------------------------------------- options


def test_kafka_source_always_has_a_group_and_a_start() -> None:
    options = CONNECTORS["kafka"].options(PLAIN)
    assert options == {
        "connector": "kafka",
        "topic": "shop.orders",
        "properties.bootstrap.servers": "kafka:9092",
        "properties.group.id": "kappa-shop_sync.load_orders",
        "scan.startup.mode": "earliest-offset",
        "format": "json",
        "properties.isolation.level": "read_committed",
    }


def test_kafka_sinks_deliver_exactly_once_in_transactions_of_their_own() -> None:
    for name in ("kafka", "upsert-kafka"):
        options = CONNECTORS[name].options(replace(PLAIN, role="sink"))
        assert options["sink.delivery-guarantee"] == "exactly-once"
        assert options["sink.transactional-id-prefix"] == "kappa-shop_sync.load_orders-orders"
        assert "properties.group.id" not in options and "properties.isolation.level" not in options
        assert CONNECTORS[name].delivery.startswith("exactly-once")
    assert CONNECTORS["jdbc"].delivery.startswith("effectively once: upserts by the primary key are idempotent")


def test_kafka_debezium_is_kafka_with_the_cdc_format() -> None:
    options = CONNECTORS["kafka-debezium"].options(PLAIN)
    assert options["connector"] == "kafka"
    assert options["format"] == "debezium-json"
    assert {"properties.group.id", "scan.startup.mode"} <= set(options)


def test_upsert_kafka_has_key_and_value_formats_and_no_startup_mode() -> None:
    options = CONNECTORS["upsert-kafka"].options(KEYED)
    assert (options["key.format"], options["value.format"]) == ("json", "json")
    assert "scan.startup.mode" not in options  # upsert-kafka refuses it


def test_jdbc_credentials_are_placeholders_only() -> None:
    options = CONNECTORS["jdbc"].options(ConnectorContext("finance.reporting.ledger", "j", CONFIG))
    assert options["table-name"] == "reporting.ledger"
    assert PLACEHOLDER.match(options["username"]) and PLACEHOLDER.match(options["password"])
    assert PLACEHOLDER.match(options["url"])


def test_iceberg_upserts_only_with_a_primary_key() -> None:
    keyed = CONNECTORS["iceberg"].options(KEYED)
    assert keyed["format-version"] == "2"
    assert keyed["write.upsert.enabled"] == "true"
    assert (keyed["catalog-database"], keyed["catalog-table"]) == ("lake", "daily_sales")
    assert "write.upsert.enabled" not in CONNECTORS["iceberg"].options(PLAIN)
    hadoop = dataclasses.replace(KEYED, config=dataclasses.replace(CONFIG, iceberg_catalog_type="hadoop"))
    assert "uri" not in CONNECTORS["iceberg"].options(hadoop)


def test_paimon_merges_by_key() -> None:
    keyed = CONNECTORS["paimon"].options(KEYED)
    assert keyed["path"] == "s3://lake/paimon/lake.db/daily_sales"
    assert (keyed["merge-engine"], keyed["changelog-producer"]) == ("deduplicate", "lookup")
    assert "merge-engine" not in CONNECTORS["paimon"].options(PLAIN)


def test_filesystem_rolls_compacts_and_commits_partitions() -> None:
    keyed = CONNECTORS["filesystem"].options(KEYED)
    assert keyed["path"] == "s3://lake/kappa/lake/daily_sales"
    assert keyed["auto-compaction"] == "true"
    assert {key for key in keyed if key.startswith("sink.rolling-policy.")}
    assert keyed["sink.partition-commit.policy.kind"] == "success-file"
    assert not {key for key in CONNECTORS["filesystem"].options(PLAIN) if "partition-commit" in key}


def test_topic_and_group_patterns() -> None:
    config = dataclasses.replace(CONFIG, topic_pattern="prod.{name}", group_id_pattern="{job}-{db}-{table}")
    context = ConnectorContext("shop-analytics.marts.daily revenue", "bq.build", config)
    options = CONNECTORS["kafka"].options(context)
    assert options["topic"] == "prod.shop-analytics.marts.daily_revenue"  # unsafe characters replaced
    assert options["properties.group.id"] == "bq.build-marts-daily revenue"
    assert ConnectorContext("orders", "j", CONFIG).db == "default"


# ----------------------------------------------------------------------------------- checks


def _sink_cases() -> list[Any]:
    cases = yaml.safe_load((DATA / "sink_modes.yml").read_text(encoding="utf-8"))
    return [pytest.param(case, id=f"{case['name']}:{case['mode']}") for case in cases]


@pytest.mark.parametrize("case", _sink_cases())
def test_sink_for(case: dict[str, Any]) -> None:
    if case.get("ok"):
        assert sink_for(case["name"], case["mode"]) is CONNECTORS[case["name"]]
        return
    with pytest.raises(UsageError) as raised:
        sink_for(case["name"], case["mode"])
    assert case["error"] in str(raised.value)


def test_sink_for_takes_the_models_sink_mode() -> None:
    assert sink_for("jdbc", SinkMode.UPSERT).name == "jdbc"
    with pytest.raises(UsageError, match="append-only"):
        sink_for("filesystem", SinkMode.UPSERT)


def test_check_options_names_what_is_missing() -> None:
    assert check_options(CONNECTORS["upsert-kafka"], {"connector": "upsert-kafka", "topic": "t"}) == [
        "properties.bootstrap.servers",
        "key.format",
        "value.format",
    ]
    kafka = {"connector": "kafka", "topic": "t", "properties.bootstrap.servers": "b", "format": "json"}
    # the default start (group-offsets) needs a consumer group
    assert check_options(CONNECTORS["kafka"], kafka) == ["properties.group.id"]
    assert check_options(CONNECTORS["kafka"], {**kafka, "scan.startup.mode": "latest-offset"}) == []
    assert check_options(CONNECTORS["kafka"], {**kafka, "properties.group.id": "g"}) == []
    assert check_options(CONNECTORS["jdbc"], {"connector": "jdbc", "url": "", "table-name": "t"}) == ["url"]


def test_check_context() -> None:
    assert check_context(CONNECTORS["upsert-kafka"], PLAIN) == ["upsert-kafka sink for shop.orders needs a PRIMARY KEY"]
    assert check_context(CONNECTORS["jdbc"], PLAIN, "append") == []
    assert check_context(CONNECTORS["jdbc"], PLAIN, "upsert") == ["jdbc sink for shop.orders needs a PRIMARY KEY"]
    outside = dataclasses.replace(KEYED, primary_key=("country",))
    assert check_context(CONNECTORS["iceberg"], outside, "upsert") == [
        "iceberg upsert into lake.daily_sales needs its partition columns in the primary key: dt"
    ]
    assert check_context(CONNECTORS["iceberg"], KEYED, "upsert") == []


@pytest.mark.slow
def test_bundled_connector_options_pass_the_flink_planner(tmp_path: Path, flink_jvm: None) -> None:
    """EXPLAIN instantiates the factories and validates every option (flink_semantics.md §5)."""
    pyflink_table = pytest.importorskip("pyflink.table")
    t_env = pyflink_table.TableEnvironment.create(pyflink_table.EnvironmentSettings.in_streaming_mode())
    config = dataclasses.replace(CONFIG, filesystem_path=tmp_path.as_uri())

    def create(name: str, connector: str, key: tuple[str, ...] = (), partitions: tuple[str, ...] = ()) -> None:
        options = CONNECTORS[connector].options(ConnectorContext(f"lake.{name}", "d.t", config, key, partitions))
        with_ = ", ".join(f"'{k}' = '{v}'" for k, v in options.items())
        pk = f", PRIMARY KEY ({', '.join(key)}) NOT ENFORCED" if key else ""
        partitioned = f" PARTITIONED BY ({', '.join(partitions)})" if partitions else ""
        t_env.execute_sql(f"CREATE TABLE {name} (k BIGINT, dt STRING, v STRING{pk}){partitioned} WITH ({with_})")

    create("src", "datagen")
    create("files_in", "filesystem")
    create("files", "filesystem", partitions=("dt",))
    create("printed", "print", ("k",))
    create("dropped", "blackhole", ("k",))
    for sink in ("files", "printed", "dropped"):
        assert "Sink(" in t_env.explain_sql(f"INSERT INTO {sink} SELECT k, dt, v FROM src")
    assert "files_in" in t_env.explain_sql("INSERT INTO printed SELECT * FROM files_in")


# ----------------------------------------------------------------------------------- config


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_generate_config(tmp_path, None)
    assert config == GenerateConfig()
    assert (config.bootstrap_servers, config.sink, config.startup_mode) == (
        "kafka:9092",
        "upsert-kafka",
        "earliest-offset",
    )
    assert (config.jdbc_username, config.jdbc_password) == ("${JDBC_USER}", "${JDBC_PASSWORD}")
    assert config.event_time_columns == DEFAULT_EVENT_TIME_COLUMNS
    assert config.event_time_columns[0] == "event_time"
    assert (config.watermark_delay, config.checkpoint_interval) == ("5 SECOND", "1 min")
    assert load_generate_config(None, None) == GenerateConfig()


def test_config_override_from_kappa_toml(tmp_path: Path) -> None:
    (tmp_path / "kappa.toml").write_text(
        'default_dialect = "hive"\n'
        "[generate]\n"
        'bootstrap_servers = "b1:9092,b2:9092"\n'
        'topic_pattern = "prod.{db}.{table}"\n'
        'sink = "iceberg"\n'
        'jdbc_password = "${WAREHOUSE_PASSWORD}"\n'
        'event_time_columns = ["Occurred_At", "event_time"]\n'
        'watermark_delay = "30  second"\n',
        encoding="utf-8",
    )
    config = load_generate_config(tmp_path, None)
    assert config.bootstrap_servers == "b1:9092,b2:9092"
    assert config.sink == "iceberg"
    assert config.jdbc_password == "${WAREHOUSE_PASSWORD}"
    assert config.event_time_columns == ("occurred_at", "event_time")
    assert config.watermark_delay == "30 SECOND"
    assert config.source == "kappa.toml"
    assert config.group_id_pattern == "kappa-{job}"  # untouched keys keep their defaults
    assert CONNECTORS["kafka"].options(ConnectorContext("raw.events", "j", config))["topic"] == "prod.raw.events"


def test_config_from_pyproject_and_explicit_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kappa.generate]\nsink = "paimon"\n', encoding="utf-8")
    assert load_generate_config(tmp_path, None).sink == "paimon"
    explicit = tmp_path / "other.toml"
    explicit.write_text('[generate]\nsink = "jdbc"\n', encoding="utf-8")
    config = load_generate_config(tmp_path, explicit)
    assert (config.sink, config.source) == ("jdbc", str(explicit))
    (tmp_path / "kappa.toml").write_text('default_dialect = "hive"\n', encoding="utf-8")
    assert load_generate_config(tmp_path, None) == GenerateConfig(source="kappa.toml")  # kappa.toml first


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[generate]\nbootstrap = "x"\n', "kappa.toml: unknown key generate.bootstrap"),
        (
            '[generate]\njdbc_password = "hunter2"\n',
            "generate.jdbc_password: credentials go in as ${ENV_VAR}",
        ),
        ('[generate]\njdbc_username = "${A} ${B}"\n', "generate.jdbc_username: credentials"),
        ('[generate]\njdbc_url = "jdbc:postgresql://h/db?user=a&password=x"\n', "literal password"),
        ('[generate]\ntopic_pattern = "{db}.{tabel}"\n', "unknown placeholder {tabel}"),
        ('[generate]\ngroup_id_pattern = "{job"\n', "generate.group_id_pattern: not a valid pattern"),
        ('[generate]\nsink = "datagen"\n', "'datagen' is not a sink connector"),
        ('[generate]\nstartup_mode = "timestamp"\n', "generate.startup_mode: 'timestamp' is not one of"),
        ('[generate]\ncdc_format = "json"\n', "generate.cdc_format"),
        (
            '[generate]\nwatermark_delay = "5s"\n',
            "generate.watermark_delay: '5s' is not of the form '5 SECOND'",
        ),
        ('[generate]\ncheckpoint_interval = "often"\n', "generate.checkpoint_interval"),
        ("[generate]\nevent_time_columns = []\n", "generate.event_time_columns"),
        ("[generate]\nbootstrap_servers = 9092\n", "generate.bootstrap_servers: expected a non-empty string"),
        ('generate = "yes"\n', "kappa.toml: `generate` must be a table"),
        ("[generate\n", "cannot read kappa.toml"),
    ],
)
def test_bad_config_is_a_usage_error_naming_key_and_file(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "kappa.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_generate_config(tmp_path, None)
    assert message in str(raised.value)


def test_missing_explicit_config_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_generate_config(tmp_path, tmp_path / "missing.toml")


def test_every_setting_has_a_check() -> None:
    fields = {field.name for field in dataclasses.fields(GenerateConfig)} - {"source"}
    assert set(config_module._CHECKS) == fields


@pytest.mark.parametrize("value", ["1 min", "30 s", "10min", "60000", "2 h"])
def test_checkpoint_intervals_in_flink_syntax(tmp_path: Path, value: str) -> None:
    (tmp_path / "kappa.toml").write_text(f'[generate]\ncheckpoint_interval = "{value}"\n', encoding="utf-8")
    assert load_generate_config(tmp_path, None).checkpoint_interval == value


def test_docstring_examples() -> None:
    for module in (connectors_module, config_module):
        failures, _ = doctest.testmod(module)
        assert failures == 0, module.__name__


def test_kafka_credentials_are_placeholders_in_every_kafka_table() -> None:
    config = replace(PLAIN.config, kafka_security_protocol="SASL_SSL")
    for name in ("kafka", "upsert-kafka", "kafka-debezium"):
        for role in ("source", "sink"):
            options = CONNECTORS[name].options(replace(PLAIN, config=config, role=role))
            assert options["properties.security.protocol"] == "SASL_SSL"
            assert options["properties.sasl.mechanism"] == "SCRAM-SHA-512"
            assert options["properties.sasl.jaas.config"] == (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                'username="${KAFKA_USER}" password="${KAFKA_PASSWORD}";'
            )
    assert "properties.security.protocol" not in CONNECTORS["kafka"].options(PLAIN)


def test_a_literal_kafka_password_is_refused() -> None:
    with pytest.raises(UsageError, match="placeholders only"):
        generate_config_from_mapping({"kafka_password": "hunter2"}, "kappa.toml")
