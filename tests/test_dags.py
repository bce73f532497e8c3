"""The static DAG parser and SQL extraction, driven by the YAML cases in tests/data/dags/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer.models import Analysis, Dag, Job
from analyzer.pipeline import scan

from .conftest import TESTS, write_tree

CASES = [
    pytest.param(case, id=f"{path.stem}: {case['name']}")
    for path in sorted((TESTS / "data" / "dags").glob("*.yml"))
    for case in yaml.safe_load(path.read_text(encoding="utf-8"))
]

DAG_FIELDS = ("schedule", "catchup", "start_date", "params", "doc_md", "default_args", "schedule_datasets")


def check_dag(dag: Dag, expected: dict[str, Any]) -> None:
    if "tasks" in expected:
        assert {t.task_id: t.operator for t in dag.tasks} == expected["tasks"]
    if "edges" in expected:
        assert [list(edge) for edge in dag.edges] == sorted(expected["edges"])
    if "tags" in expected:
        assert list(dag.tags) == expected["tags"]
    if "template_searchpath" in expected:
        assert list(dag.template_searchpath) == expected["template_searchpath"]
    for name in DAG_FIELDS:
        if name in expected:
            value = getattr(dag, name)
            assert (list(value) if isinstance(value, tuple) else value) == expected[name], name


def check_job(job: Job, dag: Dag, expected: dict[str, Any]) -> None:
    for name in ("sql_status", "dialect", "dialect_source"):
        if name in expected:
            assert getattr(job, name) == expected[name], (name, job.findings)
    if "lines" in expected:
        assert [s.line for s in job.statements] == expected["lines"]
    if "statements" in expected:
        assert len(job.statements) == expected["statements"]
    if "files" in expected:
        assert sorted({s.file for s in job.sources}) == expected["files"]
    if "time_variables" in expected:
        assert list(job.time_variables) == expected["time_variables"]
    if "writes" in expected:
        assert list(job.writes) == expected["writes"]
    if "pattern" in expected:
        assert job.pattern.value == expected["pattern"], [f.format() for f in job.findings]
    if "mapped" in expected:
        assert next(t.mapped for t in dag.tasks if t.task_id == job.task_id) == expected["mapped"]
    located = {(f.code, f.line) for f in job.findings}
    for code, line in expected.get("findings", []):
        assert (code, line) in located, job.findings


@pytest.mark.parametrize("case", CASES)
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    root = write_tree(tmp_path / "repo", case["files"], case.get("dirs"))
    analysis: Analysis = scan(root)
    expect = case["expect"]
    dags = {dag.dag_id: dag for dag in analysis.dags}
    if "dags" in expect:
        assert sorted(dags) == sorted(expect["dags"])
        for dag_id, expected in expect["dags"].items():
            check_dag(dags[dag_id], expected)
    jobs = {job.id: job for job in analysis.jobs}
    for job_id, expected in expect.get("jobs", {}).items():
        assert job_id in jobs, sorted(jobs)
        check_job(jobs[job_id], dags[jobs[job_id].dag_id], expected)
    located = {(f.code, f.line) for f in analysis.findings}
    for code, line in expect.get("findings", []):
        assert (code, line) in located, analysis.findings
