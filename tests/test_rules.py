"""Every rule's cases, as data: tests/rules/<CODE>.yml lists SQL (or DAG) snippets that must make
the rule fire (with the SQL lines) and snippets that must not.

A case becomes a one-DAG repository: its SQL goes into `dags/sql/<task>.sql` run by a generic SQL
operator whose connection speaks the case's dialect, so finding lines are lines of the snippet.
`others` adds more jobs to the same DAG (for rules that ask the lineage who else writes a table);
`bash` replaces the SQL with a shell command. `history` gives the DAG a live Airflow's run history
(`analyzer.history.history_from_dict`), as `kappa scan --airflow-url` would. A `dbt` case is a dbt
project instead (`dbt/case/`, files by path, the case's dialect for its adapter), its job the model
`task_id` (else the first file's name); `dbt_run` adds a DAG whose BashOperator runs that command.

```yaml
- name: three-day lookback overwrite
  dialect: hive
  sql: INSERT OVERWRITE TABLE t PARTITION (dt) SELECT ... WHERE dt BETWEEN '{{ macros.ds_add(ds, -3) }}' ...
  dag: {schedule: "@daily", catchup: true, start_date: "2021-01-01", params: {start: "2024-01-01"}}
  expect: [{code: F101, line: 1}]
  pattern: fix            # optional checks of the job's verdict
  classification: stateful
  sink_mode: upsert
  upsert_key: [k, dt]
```
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from analyzer.history import history_from_dict
from analyzer.models import Analysis
from analyzer.pipeline import analyze, collect, scan
from analyzer.rules import RULES, RULES_BY_CODE

from .conftest import TESTS, write_tree

RULE_FILES = sorted((TESTS / "rules").glob("*.yml"))
CASES = [
    pytest.param(path.stem, case, id=f"{path.stem}: {case['name']}")
    for path in RULE_FILES
    for case in yaml.safe_load(path.read_text(encoding="utf-8"))
]
DIALECTS = (
    "bigquery",
    "snowflake",
    "hive",
    "spark",
    "databricks",
    "postgres",
    "trino",
    "redshift",
    "mysql",
    "tsql",
)


def _task(task_id: str, dialect: str | None, sql: str | None, bash: str | None) -> str:
    if bash is not None:
        return f"    BashOperator(task_id={task_id!r}, bash_command={bash!r})\n"
    arguments = f"task_id={task_id!r}, conn_id={f'conn_{dialect}'!r}, sql={f'{task_id}.sql'!r}"
    return f"    SQLExecuteQueryOperator({arguments})\n"


def build_dbt_repository(root: Path, case: dict[str, Any]) -> str:
    """Write a dbt case as a repository with one dbt project; returns the job id of its model."""
    files = {
        "kappa.toml": f"[sql_folders]\ndialect = {case['dialect']!r}\n",
        "dbt/case/dbt_project.yml": "name: case\nprofile: case\n",
        **{f"dbt/case/{path}": text for path, text in case["dbt"].items()},
    }
    if "dbt_run" in case:
        command = f"{case['dbt_run']} --project-dir /opt/dbt/case"
        files["dags/run.py"] = (
            "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n"
            f"with DAG('run_dbt', schedule='@daily'):\n    BashOperator(task_id='run', bash_command={command!r})\n"
        )
    write_tree(root, files)
    first = Path(next(iter(case["dbt"]))).stem
    return f"dbt:case.{case.get('task_id', first)}"


def build_repository(root: Path, case: dict[str, Any]) -> str:
    """Write the case as a repository; returns the job id of the case's own task."""
    if "dbt" in case:
        return build_dbt_repository(root, case)
    dag_options = {"schedule": "@daily", **case.get("dag", {})}
    start = dag_options.pop("start_date", None)
    task_id = case.get("task_id", "job")
    files = {
        "kappa.toml": "[connections]\n" + "".join(f"conn_{d} = {d!r}\n" for d in DIALECTS),
    }
    lines = [
        "import datetime, os\n",
        "from airflow import DAG\n",
        "from airflow.operators.bash import BashOperator\n",
        "from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator\n",
        "options = " + repr(dag_options) + "\n",
    ]
    if start:
        year, month, day = (int(part) for part in str(start).split("-"))
        lines.append(f"options['start_date'] = datetime.datetime({year}, {month}, {day})\n")
    lines.append(
        f"with DAG({case.get('dag_id', 'case')!r}, "
        "template_searchpath=[os.path.join(os.path.dirname(__file__), 'sql')], **options):\n"
    )
    jobs = [{"task_id": task_id, **case}, *case.get("others", [])]
    for job in jobs:
        dialect = job.get("dialect", case.get("dialect"))
        lines.append(_task(job["task_id"], dialect, job.get("sql"), job.get("bash")))
        if job.get("sql") is not None:
            files[f"dags/sql/{job['task_id']}.sql"] = job["sql"]
    files["dags/case.py"] = "".join(lines)
    write_tree(root, files)
    return f"{case.get('dag_id', 'case')}.{task_id}"


def scan_case(root: Path, case: dict[str, Any]) -> Analysis:
    """The case's repository scanned, its DAG given the case's run history when it has one."""
    if "history" not in case:
        return scan(root)
    collected = collect(root)
    history = history_from_dict(case["history"])
    return analyze(
        dataclasses.replace(collected, dags=tuple(dataclasses.replace(d, history=history) for d in collected.dags))
    )


@pytest.mark.parametrize(("code", "case"), CASES)
def test_rule_case(code: str, case: dict[str, Any], tmp_path: Path) -> None:
    job_id = build_repository(tmp_path / "repo", case)
    analysis = scan_case(tmp_path / "repo", case)
    job = next(j for j in analysis.jobs if j.id == job_id)
    assert not [f for f in job.findings if f.code.startswith("E")], job.findings
    found = sorted((f.code, f.line) for f in job.findings if f.code == code)
    expected = sorted((e["code"], e["line"]) for e in case["expect"])
    assert found == expected, [f.format() for f in job.findings]
    for name in ("pattern", "classification", "sink_mode"):
        if name in case:
            assert getattr(job, name).value == case[name], (name, [f.format() for f in job.findings])
    if "upsert_key" in case:
        assert list(job.upsert_key) == case["upsert_key"]


def test_every_rule_has_cases_that_fire_and_cases_that_do_not() -> None:
    by_code = {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in RULE_FILES}
    for rule in RULES:
        cases = by_code.get(rule.code)
        assert cases, f"tests/rules/{rule.code}.yml is missing"
        assert any(case["expect"] for case in cases), f"{rule.code} has no case that fires"
        assert any(not case["expect"] for case in cases), f"{rule.code} has no case that must not fire"
    assert set(by_code) <= set(RULES_BY_CODE), "a case file names a rule that does not exist"


@pytest.mark.parametrize("rule", RULES, ids=[rule.code for rule in RULES])
def test_rule_is_documented(rule: Any) -> None:
    doc = inspect.getdoc(type(rule)) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith(".") and len(summary) < 120, summary
    assert "**Anti-pattern**" in doc and "**Streaming equivalent**" in doc
    assert rule.code[0] in "FORC" and len(rule.code) == 4 and rule.name == rule.name.lower()
    assert inspect.getsourcefile(type(rule)).endswith(f"{rule.code.lower()}_{rule.name.replace('-', '_')}.py")
