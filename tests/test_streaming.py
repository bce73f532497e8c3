"""Batch-to-stream rewrites as data: each case's streaming query, notes and TODOs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import generators.flink_dialect  # noqa: F401  (registers the Flink dialect)
from generators.streaming import StreamContext, to_stream

DATA = Path(__file__).parent / "data" / "streaming"
CONTEXT = {
    "markers": {"2024-01-15": "ds", "20240115": "ds_nodash"},
    "time_attributes": {"raw.changes": "updated_at", "s.a": "ts", "s.b": "ts"},
    "dimensions": frozenset(),
}


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{path.stem}:{case['name']}")
        for path in sorted(DATA.glob("*.yml"))
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize("case", _cases())
def test_streaming_rewrite(case: dict[str, Any]) -> None:
    plan = to_stream(case["sql"], StreamContext(dialect=case["dialect"], **CONTEXT))
    assert plan.query is not None, plan.skipped
    assert plan.query.sql(dialect="flink") == case["stream"]
    for expected in case["notes"]:
        assert any(expected in note for note in plan.notes), (expected, plan.notes)
    for expected in case["todos"]:
        assert any(expected in todo for todo in plan.todos), (expected, plan.todos)
    if not case["todos"]:
        assert not plan.todos


def test_a_daily_snapshot_of_an_unfiltered_source_is_left_to_a_person() -> None:
    sql = "INSERT INTO out SELECT k, SUM(v) AS n, DATE '2024-01-15' AS snapshot_date FROM s.a GROUP BY k"
    plan = to_stream(sql, StreamContext(dialect="postgres", **CONTEXT))
    assert plan.query is None
    assert plan.skipped.startswith("a daily snapshot: the run date (snapshot_date)")


@pytest.mark.parametrize(
    ("order", "convertible"),
    [("ts", True), ("dt", False)],
)
def test_lag_needs_a_time_attribute_order(order: str, convertible: bool) -> None:
    sql = f"INSERT INTO out SELECT k, LAG(v) OVER (PARTITION BY k ORDER BY {order}) AS prev FROM s.a"
    plan = to_stream(sql, StreamContext(dialect="spark", **CONTEXT))
    assert (plan.query is not None) is convertible
    if not convertible:
        assert plan.skipped.startswith("LAG() ordered by dt, not a time attribute")
