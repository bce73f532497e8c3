"""A live Airflow's run history as evidence, and its DAGs merged with a static scan.

Pure functions over plain models: `summarize_history(live)` turns the DAG runs and task
instances that `airflow_api.read_airflow` listed into a `DagHistory` per DAG (run types, the dates
that backfills and hand-triggered runs recomputed, retries and re-runs of the same dates, running
time); `merge_live` puts a live Airflow's DAGs, import errors and histories together with what the
static parser found, so the rules (R305, F107) see the runs beside the SQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from .errors import scan_error
from .models import (
    Analysis,
    Dag,
    DagHistory,
    Finding,
    Job,
    LiveAirflow,
    LiveDag,
    LiveTaskInstance,
    TaskHistory,
)

FAILED = "failed"


def summarize_history(live: LiveAirflow) -> dict[str, DagHistory]:
    """Each DAG's `DagHistory` over the window Airflow was asked about.

    A *rerun* is a run again of a date already run: an instance cleared after it ran (Airflow
    raises its `max_tries` by the task's retries at each clear, so `max_tries - retries` counts the
    clears), or a second instance of the task for the same date (a backfill that reprocessed a
    date, a manual run of it). Tries beyond those are Airflow's own retries after a failure.
    """
    retries = {(dag.dag_id, task.task_id): task.retries for dag in live.dags for task in dag.tasks}
    runs_by_dag: dict[str, list[Any]] = defaultdict(list)
    for run in live.runs:
        runs_by_dag[run.dag_id].append(run)
    instances: dict[tuple[str, str], list[LiveTaskInstance]] = defaultdict(list)
    for instance in live.task_instances:
        if instance.try_number > 0:  # an instance that never ran (upstream failed, skipped) is no run
            instances[(instance.dag_id, instance.task_id)].append(instance)
    dag_ids = sorted({dag.dag_id for dag in live.dags} | set(runs_by_dag))
    histories: dict[str, DagHistory] = {}
    for dag_id in dag_ids:
        runs = runs_by_dag.get(dag_id, [])
        task_ids = sorted({task_id for d, task_id in instances if d == dag_id})
        histories[dag_id] = DagHistory(
            days=live.history_days,
            runs=dict(sorted(Counter(run.run_type for run in runs).items())),
            backfill_dates=tuple(sorted({run.date for run in runs if run.run_type == "backfill" and run.date})),
            manual_dates=tuple(sorted({run.date for run in runs if run.run_type == "manual" and run.date})),
            failed_runs=sum(1 for run in runs if run.state == FAILED),
            run_seconds=round(sum(run.seconds for run in runs), 3),
            tasks=tuple(
                task_history(task_id, instances[(dag_id, task_id)], retries.get((dag_id, task_id), 0))
                for task_id in task_ids
            ),
        )
    return histories


def task_history(task_id: str, instances: Iterable[LiveTaskInstance], retries: int) -> TaskHistory:
    """One task's instances summed up; see `summarize_history` for what a rerun is."""
    listed = list(instances)
    by_date: dict[str, list[LiveTaskInstance]] = defaultdict(list)
    for instance in listed:
        by_date[instance.date].append(instance)
    reruns = 0
    rerun_dates = []
    for date, same_date in sorted(by_date.items()):
        clears = sum(max(0, i.max_tries - retries) for i in same_date)
        again = clears + len(same_date) - 1
        if again > 0:
            reruns += again
            rerun_dates.append(date)
    tries = sum(i.try_number for i in listed)
    return TaskHistory(
        task_id=task_id,
        instances=len(listed),
        tries=tries,
        retries=max(0, tries - len(listed) - sum(max(0, i.max_tries - retries) for i in listed)),
        reruns=reruns,
        rerun_dates=tuple(rerun_dates),
        failed=sum(1 for i in listed if i.state == FAILED),
        seconds=round(sum(i.seconds for i in listed), 3),
    )


def merge_live(static: Analysis, from_airflow: Analysis, live: LiveAirflow) -> Analysis:
    """The static scan (of a repository, or empty), completed by a live Airflow.

    `from_airflow` is the static parse of the DAG sources Airflow returned: its DAGs count where
    the repository has no DAG of that id. Each DAG Airflow knows gets its run history; Airflow's
    import errors, the tasks it runs that the sources do not show, and the DAGs it holds no source
    for become findings (E070, E071, E072).
    """
    known = {dag.dag_id for dag in static.dags}
    live_ids = {dag.dag_id for dag in live.dags}
    added = [dag for dag in from_airflow.dags if dag.dag_id not in known and dag.dag_id in live_ids]
    added_ids = {dag.dag_id for dag in added}
    histories = summarize_history(live)
    dags = [replace(dag, history=histories.get(dag.dag_id)) for dag in (*static.dags, *added)]
    jobs: list[Job] = [*static.jobs, *(job for job in from_airflow.jobs if job.dag_id in added_ids)]
    files = sorted({dag.file for dag in static.dags} | {dag.file for dag in added})
    findings = [
        *static.findings,
        *(f for f in from_airflow.findings if f.file in {dag.file for dag in added}),
        *live.findings,
        *(import_error_finding(error.file, error.message, files) for error in live.import_errors),
        *unseen_tasks(live.dags, dags),
    ]
    extra = {
        **from_airflow.extra,
        **static.extra,
        "airflow": {
            "version": live.version,
            "history_days": live.history_days,
            "dags": len(live.dags),
            "import_errors": len(live.import_errors),
            "runs": len(live.runs),
        },
    }
    return replace(
        static,
        dags=tuple(sorted(dags, key=lambda d: (d.dag_id, d.file, d.line))),
        jobs=tuple(sorted(jobs, key=lambda j: j.id)),
        findings=tuple(sorted(set(findings), key=Finding.sort_key)),
        files_scanned=static.files_scanned + len(live.sources),
        extra=extra,
    )


def repository_file(airflow_file: str, files: Iterable[str]) -> str:
    """The repository's path of a file Airflow names relative to its DAG folder, when exactly one
    scanned file ends with it (`lake_daily_sales.py` -> `dags/lake_daily_sales.py`)."""
    matches = [f for f in files if f == airflow_file or f.endswith("/" + airflow_file)]
    return matches[0] if len(matches) == 1 else airflow_file


def import_error_finding(file: str, message: str, files: Iterable[str]) -> Finding:
    located = repository_file(file, files)
    return scan_error("E070", f"Airflow cannot import {file}: {message}", located)


def unseen_tasks(live_dags: Iterable[LiveDag], dags: Iterable[Dag]) -> list[Finding]:
    """E071 for each task Airflow runs that the DAG's source, read statically, does not show."""
    parsed = {dag.dag_id: dag for dag in dags}
    findings = []
    for live in live_dags:
        dag = parsed.get(live.dag_id)
        if dag is None:
            continue
        seen = {task.task_id for task in dag.tasks}
        for task in live.tasks:
            if task.task_id not in seen:
                message = (
                    f"Airflow runs task {task.task_id!r} ({task.operator}) of DAG {live.dag_id}, "
                    "which the scan did not find in its source (built at run time?)"
                )
                findings.append(scan_error("E071", message, dag.file, dag.line))
    return findings


# ------------------------------------------------------------------ analysis.json and test data


def task_history_to_dict(task: TaskHistory, days: int) -> dict[str, Any]:
    return {
        "instances": task.instances,
        "tries": task.tries,
        "retries": task.retries,
        "reruns": task.reruns,
        "rerun_dates": list(task.rerun_dates),
        "failed": task.failed,
        "seconds": task.seconds,
        "hours_per_day": round(task.seconds / 3600 / max(days, 1), 4),
    }


def history_to_dict(history: DagHistory) -> dict[str, Any]:
    """A DAG's `history` in analysis.json: the runs by type and the batch hours a day they cost."""
    return {
        "days": history.days,
        "runs": dict(history.runs),
        "backfill_dates": list(history.backfill_dates),
        "manual_dates": list(history.manual_dates),
        "failed_runs": history.failed_runs,
        "run_seconds": history.run_seconds,
        "hours_per_day": history.hours_per_day(),
        "tasks": {t.task_id: task_history_to_dict(t, history.days) for t in history.tasks},
    }


def history_from_dict(data: Mapping[str, Any]) -> DagHistory:
    """The inverse of `history_to_dict` (the derived hours are recomputed); fields may be left out,
    as in the rule cases of tests/rules/*.yml."""
    tasks = data.get("tasks") or {}
    return DagHistory(
        days=int(data.get("days", 30)),
        runs={str(k): int(v) for k, v in (data.get("runs") or {}).items()},
        backfill_dates=tuple(str(d) for d in data.get("backfill_dates") or ()),
        manual_dates=tuple(str(d) for d in data.get("manual_dates") or ()),
        failed_runs=int(data.get("failed_runs", 0)),
        run_seconds=float(data.get("run_seconds", 0.0)),
        tasks=tuple(
            TaskHistory(
                task_id=str(task_id),
                instances=int(task.get("instances", 0)),
                tries=int(task.get("tries", 0)),
                retries=int(task.get("retries", 0)),
                reruns=int(task.get("reruns", 0)),
                rerun_dates=tuple(str(d) for d in task.get("rerun_dates") or ()),
                failed=int(task.get("failed", 0)),
                seconds=float(task.get("seconds", 0.0)),
            )
            for task_id, task in sorted(tasks.items())
        ),
    )


def batch_hours_per_day(dags: Iterable[Dag]) -> float:
    """The batch hours a day that the DAGs' tasks ran, over their history windows: summed before
    rounding (a DAG whose tasks ran a few seconds in a month rounds to 0 hours a day on its own,
    and many such DAGs are real hours), to the second (6 decimals of an hour)."""
    return round(
        sum(
            sum(task.seconds for task in dag.history.tasks) / 3600 / max(dag.history.days, 1)
            for dag in dags
            if dag.history is not None
        ),
        6,
    )
