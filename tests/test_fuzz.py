"""Fuzzing the whole scan (and generate) with hypothesis: mutated sample DAG files, SQL files and
Jinja templates, and DAG files built from scratch (tests/fuzzing.py). A bounded number of examples
so CI stays fast (KAPPA_FUZZ_EXAMPLES overrides it); `python benchmarks/fuzz.py --examples N` runs
longer and keeps going after a failure."""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings

from . import fuzzing

EXAMPLES = int(os.environ.get("KAPPA_FUZZ_EXAMPLES", "80"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the time bound is the scanner's own budget, checked in run_example
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PEAK_GROWTH = 1024**3  # how much the fuzzed scans may add to this process's peak RSS


@pytest.fixture(scope="module", autouse=True)
def bounded_memory() -> object:
    for marker in fuzzing.MARKERS:
        marker.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    yield None
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert grown < PEAK_GROWTH, f"the fuzzed scans grew the peak RSS by {grown / 1024**2:.0f} MiB"


@FUZZ
@given(fuzzing.MUTATED_DAGS)
def test_mutated_sample_dags(files: Mapping[str, str]) -> None:
    fuzzing.run_example(files)


@FUZZ
@given(fuzzing.RANDOM_DAGS)
def test_dags_built_from_scratch(files: Mapping[str, str]) -> None:
    fuzzing.run_example(files)


@FUZZ
@given(fuzzing.MUTATED_SQL)
def test_mutated_sql_files_and_templates(files: Mapping[str, str]) -> None:
    fuzzing.run_example(files)


@FUZZ
@given(fuzzing.MUTATED_BYTES)
def test_dag_files_with_raw_bytes(files: Mapping[str, str | bytes]) -> None:
    fuzzing.run_example(files)
