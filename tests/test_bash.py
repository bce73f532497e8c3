"""SQL clients found in shell command lines (tests/data/bash.yml)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from analyzer.bash import parse_bash

from .conftest import TESTS

CASES = yaml.safe_load((TESTS / "data" / "bash.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bash(case: dict[str, Any]) -> None:
    facts = parse_bash(case["command"])
    found = [[s.client, s.dialect, s.text, s.file, s.line_offset] for s in facts.sql]
    assert found == case["sql"]
    assert list(facts.backfill) == case.get("backfill", [])
    assert bool(facts.error) == case.get("error", False)
