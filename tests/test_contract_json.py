"""analysis.json written in pieces (`iter_json`) is byte for byte what `json.dumps` writes."""

from __future__ import annotations

import doctest
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import analyzer.contract as contract_module
from analyzer.contract import dumps, iter_json
from analyzer.models import Analysis

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


def test_doctests() -> None:
    failures, tried = doctest.testmod(contract_module)
    assert tried and not failures


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(st.text(), JSON_VALUES, max_size=6))
def test_pieces_join_to_json_dumps(document: dict[str, Any]) -> None:
    expected = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "".join(iter_json(document)) == expected


def test_the_samples_analysis_is_unchanged(samples_analysis: Analysis) -> None:
    text = dumps(samples_analysis)
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
