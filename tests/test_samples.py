"""The sample repository end to end: the golden inventory, the edge cases, and proof that no DAG
code runs during a scan."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer.models import Analysis, Job
from analyzer.pipeline import scan

from .conftest import SAMPLES, TESTS

GOLDEN = TESTS / "golden" / "samples_inventory.json"
MARKER = Path(tempfile.gettempdir()) / "kappa_booby_trap_marker"


def job_summary(job: Job) -> dict[str, Any]:
    return {
        "sql_status": job.sql_status.value,
        "operator": job.operator,
        "dialect": job.dialect,
        "dialect_source": job.dialect_source,
        "statements": [f"{s.file}:{s.line} {s.kind}" for s in job.statements],
        "reads": list(job.reads),
        "writes": list(job.writes),
        "pattern": job.pattern.value,
        "classification": job.classification.value,
        "sink_mode": job.sink_mode.value,
        "upsert_key": list(job.upsert_key),
        "findings": [f"{f.file}:{f.line} {f.code}" for f in job.findings],
    }


def inventory(analysis: Analysis) -> dict[str, Any]:
    """What the golden file pins: every DAG, task, dependency and job verdict (no SQL text)."""
    return {
        "dags": {
            dag.dag_id: {
                "file": f"{dag.file}:{dag.line}",
                "schedule": dag.schedule,
                "catchup": dag.catchup,
                "start_date": dag.start_date,
                "tasks": {t.task_id: f"{t.operator} line {t.line}" for t in sorted(dag.tasks, key=lambda t: t.task_id)},
                "edges": [f"{a} >> {b}" for a, b in dag.edges],
            }
            for dag in analysis.dags
        },
        "jobs": {job.id: job_summary(job) for job in analysis.jobs},
        "findings": [f.format() for f in analysis.findings],
    }


def test_golden_inventory(samples_analysis: Analysis, update_goldens: bool) -> None:
    actual = json.dumps(inventory(samples_analysis), indent=2, sort_keys=True) + "\n"
    if update_goldens or not GOLDEN.exists():
        GOLDEN.write_text(actual, encoding="utf-8")
    assert actual == GOLDEN.read_text(encoding="utf-8"), "run pytest --update-goldens and review the diff"


def test_every_sql_task_parses(samples_analysis: Analysis) -> None:
    unparsed = [j.id for j in samples_analysis.jobs if j.sql_status.value in {"unparsed", "missing"}]
    assert unparsed == ["edge_bad_sql.daily_status_counts"]


def test_every_pattern_and_class_occurs(samples_analysis: Analysis) -> None:
    patterns = Counter(job.pattern.value for job in samples_analysis.jobs)
    classes = Counter(job.classification.value for job in samples_analysis.jobs)
    assert {"fix", "optimize", "reprocess", "transform"} <= set(patterns)
    assert {"stateless", "stateful", "sink-update"} <= set(classes)
    assert {job.sink_mode.value for job in samples_analysis.jobs} >= {"append", "upsert"}


def test_every_sample_dialect_is_found(samples_analysis: Analysis) -> None:
    dialects = {job.dialect for job in samples_analysis.jobs}
    assert {"bigquery", "snowflake", "hive", "spark", "postgres", "trino"} <= dialects
    assert len(samples_analysis.dags) >= 12


EDGE_CASES = yaml.safe_load((TESTS / "data" / "edge_cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", EDGE_CASES, ids=[f"{c['file']} {c['code']}" for c in EDGE_CASES])
def test_edge_case_is_reported_with_its_line(samples_analysis: Analysis, case: dict[str, Any]) -> None:
    everything = [*samples_analysis.findings, *(f for j in samples_analysis.jobs for f in j.findings)]
    assert (case["file"], case["code"], case["line"]) in {(f.file, f.code, f.line) for f in everything}


def test_scanning_never_runs_dag_code() -> None:
    MARKER.unlink(missing_ok=True)
    analysis = scan(SAMPLES)
    assert not MARKER.exists(), "a DAG file was imported or executed during the scan"
    # and the booby-trapped file was still read, statically
    assert any(job.dag_id == "edge_booby_trap" and job.sql_status.value == "parsed" for job in analysis.jobs)
