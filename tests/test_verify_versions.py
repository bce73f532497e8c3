"""The stream side of verification sees a versioned table's history, as the daily batch runs did."""

from __future__ import annotations

from datetime import datetime

import pytest

from generators.verify import EARLIEST, Versioned, Warehouse, versioned_tables, warehouse_feed

JOB = """
-- source lake.dim (versioned)
CREATE TABLE `lake_dim` (
  `id` BIGINT, `name` STRING, `updated_at` TIMESTAMP(3),
  WATERMARK FOR `updated_at` AS `updated_at` - INTERVAL '1' DAY,
  PRIMARY KEY (`id`) NOT ENFORCED
) WITH ('connector' = 'upsert-kafka');
CREATE TABLE `raw_facts` (
  `id` BIGINT, `ts` TIMESTAMP(3), WATERMARK FOR `ts` AS `ts` - INTERVAL '5' SECOND
) WITH ('connector' = 'kafka');
-- a comment that names FOR SYSTEM_TIME AS OF is not a join
INSERT INTO out SELECT f.id, d.name FROM raw_facts AS f JOIN lake_dim FOR SYSTEM_TIME AS OF f.ts AS d ON d.id = f.id;
"""


def test_versioned_tables_come_with_their_key_and_time_attribute() -> None:
    assert versioned_tables(JOB) == [Versioned("lake_dim", ("id",), "updated_at")]


@pytest.fixture
def warehouse() -> Warehouse:
    pytest.importorskip("duckdb")
    house = Warehouse({})
    house.con.execute("CREATE SCHEMA lake")
    house.con.execute("CREATE TABLE lake.dim (id BIGINT, name VARCHAR, updated_at TIMESTAMP)")
    return house


def test_the_feed_holds_every_version_and_the_first_is_valid_from_the_start(warehouse: Warehouse) -> None:
    warehouse.con.execute("INSERT INTO lake.dim VALUES (1, 'new', TIMESTAMP '2024-01-11 10:00:00')")
    warehouse.record_versions("lake.dim")
    warehouse.con.execute("UPDATE lake.dim SET name = 'vip', updated_at = TIMESTAMP '2024-01-13 09:00:00'")
    warehouse.record_versions("lake.dim")
    warehouse.record_versions("lake.dim")  # an unchanged table adds no version

    feed = warehouse_feed(warehouse, ["lake.dim"], versioned_tables(JOB))
    fed = feed("lake_dim")
    assert fed is not None
    columns, rows = fed
    assert columns == ["id", "name", "updated_at"]
    assert rows[0] == (1, "new", EARLIEST)  # the backdated first version comes first
    assert sorted(rows[1:]) == [(1, "new", datetime(2024, 1, 11, 10)), (1, "vip", datetime(2024, 1, 13, 9))]
    # a table the job does not join as of a time gets its final rows only
    plain = warehouse_feed(warehouse, ["lake.dim"])("lake.dim")
    assert plain is not None and plain[1] == [(1, "vip", datetime(2024, 1, 13, 9))]
