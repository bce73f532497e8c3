"""`analysis.json`, schema_version 1 (DESIGN.md §3): the contract `generate` and `report` read.

Deterministic: lists are sorted, keys are sorted, paths are relative to the scanned root, and no
absolute path, time or host name is written, so two scans of the same tree give identical bytes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from . import __version__
from .history import batch_hours_per_day, history_to_dict, task_history_to_dict
from .models import Analysis, Dag, Job, JobOrigin, SqlSource, SqlStatus, Statement
from .schemas import table_defs_to_dict

SCHEMA_VERSION = 1


def summary_of(analysis: Analysis) -> dict[str, Any]:
    """The figures the CLI prints and the report shows, all derived from the jobs."""
    status = Counter(job.sql_status.value for job in analysis.jobs)
    parsed, unparsed = status.get(SqlStatus.PARSED.value, 0), status.get(SqlStatus.UNPARSED.value, 0)
    statements = [s for job in analysis.jobs for s in job.statements]
    all_findings = [*analysis.findings, *(f for job in analysis.jobs for f in job.findings)]
    errors = Counter(f.code for f in all_findings if f.code.startswith("E"))
    return {
        "dag_files": len({dag.file for dag in analysis.dags}),
        "dags": len(analysis.dags),
        "tasks": sum(len(dag.tasks) for dag in analysis.dags),
        "edges": sum(len(dag.edges) for dag in analysis.dags),
        "jobs": len(analysis.jobs),
        "control_tasks": int(analysis.extra.get("control_tasks", 0)),
        "sql_status": {s.value: status.get(s.value, 0) for s in SqlStatus},
        "statements": len(statements),
        "statements_parsed": sum(1 for s in statements if s.parsed),
        "sql_parse_rate": round(parsed / (parsed + unparsed), 4) if parsed + unparsed else 1.0,
        "pattern": dict(sorted(Counter(job.pattern.value for job in analysis.jobs).items())),
        "classification": dict(sorted(Counter(job.classification.value for job in analysis.jobs).items())),
        "errors": dict(sorted(errors.items())),
        "dialects": dict(sorted(Counter(job.dialect or "none" for job in analysis.jobs).items())),
        "origins": {
            origin.value: {
                "jobs": sum(1 for job in analysis.jobs if job.origin is origin),
                "parsed": sum(1 for j in analysis.jobs if j.origin is origin and j.sql_status is SqlStatus.PARSED),
            }
            for origin in JobOrigin
        },
    }


def _source(source: SqlSource) -> dict[str, Any]:
    return {
        "origin": source.origin.value,
        "file": source.file,
        "line": source.line,
        "reference": source.reference,
        "via": source.via,
        "resolved": source.resolved,
    }


def _statement(statement: Statement) -> dict[str, Any]:
    return {
        "index": statement.index,
        "file": statement.file,
        "line": statement.line,
        "dialect": statement.dialect,
        "kind": statement.kind,
        "parsed": statement.parsed,
        "error": statement.error,
        "sql": statement.sql,
    }


def dag_to_dict(dag: Dag) -> dict[str, Any]:
    return {
        "dag_id": dag.dag_id,
        "file": dag.file,
        "line": dag.line,
        "schedule": dag.schedule,
        "schedule_datasets": list(dag.schedule_datasets),
        "catchup": dag.catchup,
        "start_date": dag.start_date,
        "end_date": dag.end_date,
        "tags": list(dag.tags),
        "params": dict(dag.params),
        "default_args": dict(dag.default_args),
        "description": dag.description,
        "doc_md": dag.doc_md,
        "template_searchpath": list(dag.template_searchpath),
        "task_ids": sorted(task.task_id for task in dag.tasks),
        "tasks": [
            {
                "task_id": task.task_id,
                "operator": task.operator,
                "line": task.line,
                "group": task.group,
                "mapped": task.mapped,
                "conn_id": task.conn_id,
                "outlets": list(task.outlets),
                **({"meta": dict(task.meta)} if task.meta else {}),
            }
            for task in sorted(dag.tasks, key=lambda t: t.task_id)
        ],
        "edges": [list(edge) for edge in dag.edges],
    }


def job_to_dict(job: Job, outcome: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {
        "id": job.id,
        "origin": job.origin.value,
        "dag_id": job.dag_id,
        "task_id": job.task_id,
        "file": job.file,
        "line": job.line,
        "operator": job.operator,
        "dialect": job.dialect,
        "dialect_source": job.dialect_source,
        "dialect_confidence": job.dialect_confidence,
        "sql_status": job.sql_status.value,
        "sources": [_source(s) for s in job.sources],
        "statements": [_statement(s) for s in job.statements],
        "time_variables": list(job.time_variables),
        "lookback_days": list(job.lookback_days),
        "reads": sorted(job.reads),
        "writes": sorted(job.writes),
        "maintains": sorted(job.maintains),
        "pattern": job.pattern.value,
        "pattern_confidence": job.pattern_confidence,
        "classification": job.classification.value,
        "state_ttl_days": job.state_ttl_days,
        "allowed_lateness_days": job.allowed_lateness_days,
        "sink_mode": job.sink_mode.value,
        "upsert_key": list(job.upsert_key),
        "findings": [f.to_dict() for f in job.findings],
        "generated": dict(outcome) if outcome else {"status": "none", "path": None, "reason": ""},
        "validation": {"status": "skipped", "message": "not validated yet"},
        "equivalence": {"status": "skipped", "message": "not verified yet"},
    }


def analysis_to_dict(analysis: Analysis, outcomes: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The whole document; `outcomes` (job id -> generated status) comes from `kappa generate`."""
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "kappa-migrate", "version": __version__},
        "summary": summary_of(analysis),
        "dags": [dag_to_dict(d) for d in sorted(analysis.dags, key=lambda d: (d.dag_id, d.file))],
        "jobs": [job_to_dict(j, (outcomes or {}).get(j.id)) for j in sorted(analysis.jobs, key=lambda j: j.id)],
        "findings": [f.to_dict() for f in analysis.findings],
    }
    _add_history(document, analysis)
    graph = analysis.extra.get("graph")
    if graph is not None:
        document["graph"] = graph
    schemas = analysis.extra.get("schemas")
    if schemas:
        document["schemas"] = table_defs_to_dict(schemas)
    return document


def dumps(analysis: Analysis, outcomes: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    return "".join(iter_json(analysis_to_dict(analysis, outcomes)))


def iter_json(document: Mapping[str, Any]) -> Iterator[str]:
    """`json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\\n"`, the same bytes,
    in pieces: one per top-level value and one per item of a top-level list.

    `json.dumps` with an indent encodes in Python, collecting every token of the document in one
    list before joining it: for 10,000 DAGs (a 250 MB analysis.json) that list and the string
    took more memory than the analysis itself. Each piece here is encoded on its own and
    indented by its depth (encoded JSON has no raw line break inside a string, so indenting every
    line is exact).

    >>> document = {"b": [{"x": 1}, []], "a": {}, "c": []}
    >>> "".join(iter_json(document)) == json.dumps(document, indent=2, sort_keys=True) + "\\n"
    True
    """
    if not document:
        yield "{}\n"
        return
    for index, key in enumerate(sorted(document)):
        yield ("{" if index == 0 else ",") + "\n  " + json.dumps(key, ensure_ascii=False) + ": "
        value = document[key]
        if isinstance(value, list) and value:
            for position, item in enumerate(value):
                yield ("[" if position == 0 else ",") + "\n    " + _encoded(item).replace("\n", "\n    ")
            yield "\n  ]"
        else:
            yield _encoded(value).replace("\n", "\n  ")
    yield "\n}\n"


def _encoded(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _add_history(document: dict[str, Any], analysis: Analysis) -> None:
    """A live Airflow's run history (`kappa scan --airflow-url`), where the scan had one: `history`
    on each DAG and job it ran, and the top-level `airflow` block with the batch hours a day."""
    airflow = analysis.extra.get("airflow")
    if airflow is None:
        return
    histories = {dag.dag_id: dag.history for dag in analysis.dags if dag.history is not None}
    for dag in document["dags"]:
        history = histories.get(dag["dag_id"])
        if history is not None:
            dag["history"] = history_to_dict(history)
    for job in document["jobs"]:
        history = histories.get(job["dag_id"])
        task = history.task(job["task_id"]) if history is not None else None
        if history is not None and task is not None:
            job["history"] = task_history_to_dict(task, history.days)
    document["airflow"] = {**airflow, "batch_hours_per_day": batch_hours_per_day(analysis.dags)}
