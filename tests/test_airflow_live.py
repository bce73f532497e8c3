"""A real Airflow 3 in the test: `kappa scan --airflow-url` against it agrees with the repository.

`.ci/setup.d/40-airflow.sh` installs apache-airflow (pinned) into build/airflow-venv, its own
virtual environment. The fixture starts `airflow standalone` on a free port of 127.0.0.1 with the
sample DAGs (samples/dags), a SQLite database in a throw-away AIRFLOW_HOME, and the stand-ins of
tests/data/airflow_stand_ins for the warehouse providers (so six sample DAGs import; the other nine
fail, as DAGs do, and their import errors are evidence). The test then unpauses, backfills,
triggers and clears runs through the REST API, scans, and the fixture stops Airflow, always, with
bounded waits. Without the venv the test is skipped locally and fails in CI.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from analyzer.airflow_api import AirflowSettings, Credentials, read_airflow
from analyzer.cli import app
from analyzer.models import Analysis
from analyzer.pipeline import scan_live

from .conftest import PROJECT, SAMPLES, TESTS

pytestmark = pytest.mark.slow

VENV = PROJECT / "build" / "airflow-venv"
STAND_INS = TESTS / "data" / "airflow_stand_ins"
USER, PASSWORD = "kappa", "live-test-password"
IMPORTABLE = {  # sample DAGs that import in Airflow 3 with the stand-ins; the others use Airflow 2 idioms
    "bq_customer_360",
    "bq_marts_daily",
    "lake_late_data_fix",
    "lake_table_maintenance",
    "manual_full_refresh_sales",
    "shop_customer_sync",
}
START_TIMEOUT, RUNS_TIMEOUT, STOP_TIMEOUT = 240.0, 240.0, 30.0
FINISHED = {"success", "failed"}
API_TRIES = 8
SCHEDULER_DIED = "Exception when executing SchedulerJob"


@dataclass
class LiveAirflow:
    url: str
    home: Path
    token: str = ""

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(API_TRIES):
            request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as error:
                detail = error.read().decode("utf-8", "replace")[:500]
                # SQLite takes one writer: while the scheduler writes, Airflow answers 503 "Database is
                # locked" having rolled the request back, so it is safe to send again (reads: any 5xx)
                again = (error.code == 503 and "locked" in detail.lower()) or (error.code >= 500 and method == "GET")
                if not again or attempt == API_TRIES - 1:
                    raise AssertionError(f"{method} {path}: {error.code} {detail}") from None
            time.sleep(2.0)
        raise AssertionError("unreachable")

    def log(self) -> str:
        path = self.home / "standalone.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def log_tail(self) -> str:
        return self.log()[-4000:]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], bool], timeout: float, airflow: LiveAirflow) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if SCHEDULER_DIED in airflow.log():
            pytest.fail(f"Airflow's scheduler stopped while waiting for {what}\n{airflow.log_tail()}")
        try:
            if check():
                return
        except (OSError, urllib.error.URLError, ValueError, AssertionError):
            pass
        time.sleep(1.0)
    pytest.fail(f"Airflow: {what} not within {timeout:.0f} s\n{airflow.log_tail()}")


def airflow_environment(home: Path, port: int) -> dict[str, str]:
    """A clean environment for the venv's Airflow: nothing of the project's Python leaks in."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "AIRFLOW", "KAPPA"))}
    (home / "passwords.json").write_text(json.dumps({USER: PASSWORD}), encoding="utf-8")
    return {
        **keep,
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",  # standalone starts `airflow ...`
        "PYTHONPATH": f"{SAMPLES}{os.pathsep}{STAND_INS}",  # `plugins.operators...`, the provider stand-ins
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(SAMPLES / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(SAMPLES / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
    }


def dag_files() -> set[str]:
    """The files of the sample DAG folder that Airflow parses (safe mode: they name airflow and dag)."""
    folder = SAMPLES / "dags"
    found = set()
    for path in folder.rglob("*.py"):
        text = path.read_text(encoding="utf-8", errors="replace").lower()
        if "airflow" in text and "dag" in text:
            found.add(path.relative_to(folder).as_posix())
    return found


def parsed_files(live: LiveAirflow) -> set[str]:
    """The DAG files Airflow has parsed so far: those with a DAG, and those it could not import."""
    dags = live.api("GET", "/api/v2/dags?limit=100")["dags"]
    errors = live.api("GET", "/api/v2/importErrors?limit=100")["import_errors"]
    return {d["relative_fileloc"] for d in dags} | {e["filename"] for e in errors}


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Airflow's whole process group, SIGKILL what is left after STOP_TIMEOUT."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)  # anyone of the group still there?
            except ProcessLookupError:
                process.wait(timeout=5)
                return
            process.poll()
            time.sleep(0.5)


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAirflow]:
    if not (VENV / "bin" / "airflow").exists():
        reason = f"no Airflow in {VENV.relative_to(PROJECT)}: run `bash .ci/setup` (.ci/setup.d/40-airflow.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("airflow-home")
    port = free_port()
    live = LiveAirflow(f"http://127.0.0.1:{port}", home)
    with (home / "standalone.log").open("wb") as log:
        process = subprocess.Popen(
            [str(VENV / "bin" / "airflow"), "standalone"],
            cwd=home,
            env=airflow_environment(home, port),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped whole
        )
        try:
            wait_for("the API server", lambda: live.api("GET", "/api/v2/version")["version"] > "", START_TIMEOUT, live)
            live.token = live.api("POST", "/auth/token", {"username": USER, "password": PASSWORD})["access_token"]
            wait_for("every sample DAG file parsed", lambda: parsed_files(live) >= dag_files(), START_TIMEOUT, live)
            yield live
        finally:
            stop(process)


def runs_finished(airflow: LiveAirflow, dag_id: str, expected: int) -> Callable[[], bool]:
    def check() -> bool:
        runs = airflow.api("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100")["dag_runs"]
        return len(runs) >= expected and all(r["state"] in FINISHED for r in runs)

    return check


@pytest.fixture(scope="module")
def history(airflow: LiveAirflow) -> LiveAirflow:
    """Runs of every kind, one step at a time (SQLite takes one writer: a scheduler that creates a
    run while the API creates another can fail): a scheduled run, a two-day backfill, the
    backfilled dates cleared and run again, a hand-triggered run."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=8), today - timedelta(days=6)
    airflow.api("PATCH", "/api/v2/dags/lake_late_data_fix", {"is_paused": False})  # catchup=False: one run
    wait_for("the scheduled run", runs_finished(airflow, "lake_late_data_fix", 1), RUNS_TIMEOUT, airflow)
    backfill = {"dag_id": "lake_late_data_fix", "from_date": start.isoformat(), "to_date": end.isoformat()}
    airflow.api("POST", "/api/v2/backfills", backfill)
    wait_for("the backfill", runs_finished(airflow, "lake_late_data_fix", 3), RUNS_TIMEOUT, airflow)
    clear = {
        "dry_run": False,
        "only_failed": False,
        "reset_dag_runs": True,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
    }
    airflow.api("POST", "/api/v2/dags/lake_late_data_fix/clearTaskInstances", clear)
    time.sleep(2)  # the cleared instances are queued before their runs show running again
    wait_for("the cleared runs", runs_finished(airflow, "lake_late_data_fix", 3), RUNS_TIMEOUT, airflow)
    airflow.api("PATCH", "/api/v2/dags/manual_full_refresh_sales", {"is_paused": False})
    airflow.api("POST", "/api/v2/dags/manual_full_refresh_sales/dagRuns", {"logical_date": None})
    wait_for("the manual run", runs_finished(airflow, "manual_full_refresh_sales", 1), RUNS_TIMEOUT, airflow)
    return airflow


def settings(airflow: LiveAirflow) -> AirflowSettings:
    return AirflowSettings(airflow.url, Credentials(user=USER, password=PASSWORD), history_days=30)


@pytest.fixture(scope="module")
def live_scan(history: LiveAirflow) -> tuple[Analysis, float]:
    started = time.monotonic()
    live = read_airflow(settings(history))
    analysis = scan_live(live, config_path=SAMPLES / "kappa.toml")
    return analysis, time.monotonic() - started


def test_live_scan_agrees_with_the_repository(live_scan: tuple[Analysis, float], samples_analysis: Analysis) -> None:
    analysis, seconds = live_scan
    imported = {dag.dag_id for dag in analysis.dags}
    assert imported >= IMPORTABLE
    repository = {dag.dag_id: dag for dag in samples_analysis.dags}
    for dag in analysis.dags:  # every DAG Airflow imported, as the repository has it
        ours = repository[dag.dag_id]
        assert [(t.task_id, t.operator) for t in dag.tasks] == [(t.task_id, t.operator) for t in ours.tasks]
        assert dag.edges == ours.edges and dag.schedule == ours.schedule
    # the SQL too, for the DAGs whose SQL is all in their own file (the API has no other file)
    jobs = {job.id: job for job in samples_analysis.jobs}
    live_jobs = [job for job in analysis.jobs if job.dag_id in IMPORTABLE]
    assert {job.id for job in live_jobs} == {job.id for job in jobs.values() if job.dag_id in IMPORTABLE}
    for job in live_jobs:
        ours = jobs[job.id]
        assert (job.sql_status, job.dialect) == (ours.sql_status, ours.dialect), job.id
        assert [s.sql for s in job.statements] == [s.sql for s in ours.statements], job.id
        assert (job.reads, job.writes) == (ours.reads, ours.writes), job.id
    # every other DAG file of the DAG folder is one of Airflow's import errors
    not_imported = {f.file for f in analysis.findings if f.code == "E070"}
    in_dag_folder = [dag for dag in samples_analysis.dags if dag.file.startswith("dags/")]
    assert not_imported == {dag.file.removeprefix("dags/") for dag in in_dag_folder if dag.dag_id not in imported}
    assert len(not_imported) >= 9
    assert seconds < 60, seconds
    artifacts = TESTS / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "airflow_live_scan.txt").write_text(
        f"live scan of the samples (read + analyse): {seconds:.2f} s, {len(analysis.dags)} DAGs, "
        f"{len(analysis.jobs)} jobs, {len(not_imported)} import errors\n",
        encoding="utf-8",
    )


def test_run_history_is_evidence(live_scan: tuple[Analysis, float]) -> None:
    analysis, _ = live_scan
    dags = {dag.dag_id: dag for dag in analysis.dags}
    fix = dags["lake_late_data_fix"].history
    assert fix is not None and fix.runs.get("backfill") == 2 and fix.runs.get("scheduled", 0) >= 1
    restate = fix.task("restate_daily_sales")
    assert restate is not None and restate.reruns >= 2 and restate.seconds > 0
    manual = dags["manual_full_refresh_sales"].history
    assert manual is not None and manual.runs.get("manual") == 1
    jobs = {job.id: job for job in analysis.jobs}
    assert {"F107", "R305"} <= {f.code for f in jobs["lake_late_data_fix.restate_daily_sales"].findings}
    assert "R305" in {f.code for f in jobs["manual_full_refresh_sales.refresh_daily_sales"].findings}
    assert analysis.extra["airflow"]["version"].startswith("3.")


def test_cli_merges_the_live_airflow_with_the_repository(history: LiveAirflow, tmp_path: Path) -> None:
    out = tmp_path / "analysis.json"
    env = {"KAPPA_AIRFLOW_USER": USER, "KAPPA_AIRFLOW_PASSWORD": PASSWORD}
    arguments = ["scan", str(SAMPLES), "--airflow-url", history.url, "--format", "json", "--out", str(out)]
    result = CliRunner().invoke(app, [*arguments, "--no-cache"], env=env)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    with_history = {dag["dag_id"] for dag in document["dags"] if "history" in dag}
    assert with_history >= IMPORTABLE  # every DAG Airflow knows, as the repository has it
    assert len(document["dags"]) > len(with_history)  # and the repository's other DAGs
    located = {f["file"] for f in document["findings"] if f["code"] == "E070"}
    assert "dags/lake_daily_sales.py" in located
    assert document["airflow"]["batch_hours_per_day"] > 0
    assert PASSWORD not in out.read_text(encoding="utf-8") and PASSWORD not in result.output
