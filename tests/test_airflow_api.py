"""`kappa scan --airflow-url` against recorded answers of a real Airflow 3.3.2 (tests/airflow_fake.py):
what it reads, how run history becomes evidence, and one readable message and exit code for each
way it can fail, without ever showing a credential."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer import airflow_api
from analyzer.airflow_api import AirflowSettings, Credentials, base_url, read_airflow, safe_url
from analyzer.cli import app
from analyzer.contract import analysis_to_dict, dumps
from analyzer.errors import AIRFLOW_EXIT_CODES, SCAN_ERRORS, AirflowError
from analyzer.history import summarize_history, task_history
from analyzer.models import LiveAirflow, LiveDag, LiveTask, LiveTaskInstance
from analyzer.pipeline import scan_live

from .airflow_fake import PASSWORD, TOKEN, USER, fake_airflow
from .conftest import SAMPLES

runner = CliRunner()
SECRETS = (PASSWORD, TOKEN)


def settings(url: str, **changes: object) -> AirflowSettings:
    base = AirflowSettings(url, Credentials(user=USER, password=PASSWORD), timeout=5.0, retries=1, backoff=0.0)
    return replace(base, **changes)  # type: ignore[arg-type]


def read(url: str, **changes: object) -> LiveAirflow:
    return read_airflow(settings(url, **changes))


def failure(url: str, **changes: object) -> AirflowError:
    with pytest.raises(AirflowError) as caught:
        read(url, **changes)
    for secret in SECRETS:
        assert secret not in str(caught.value)
    return caught.value


# ------------------------------------------------------------------ what it reads


def test_reads_dags_tasks_sources_import_errors_and_runs() -> None:
    with fake_airflow() as fake:
        live = read(fake.url)
    assert live.version == "3.3.2"
    assert [d.dag_id for d in live.dags] == ["lake_late_data_fix", "manual_full_refresh_sales"]
    tasks = {d.dag_id: [(t.task_id, t.operator) for t in d.tasks] for d in live.dags}
    assert tasks["lake_late_data_fix"] == [
        ("refresh_daily_sales_stats", "SparkSqlOperator"),
        ("restate_daily_sales", "HiveOperator"),
    ]
    assert [file for file, _ in live.sources] == ["lake_late_data_fix.py", "manual_full_refresh_sales.py"]
    assert all("DAG" in text for _, text in live.sources)
    assert len(live.import_errors) == 9
    assert ("lake_daily_sales.py", "ModuleNotFoundError: No module named 'airflow.datasets'") in {
        (e.file, e.message) for e in live.import_errors
    }
    assert {r.run_type for r in live.runs} == {"backfill", "manual", "scheduled"}
    assert len(live.task_instances) == 9
    # one token from /auth/token, then that token on every API call; the password went nowhere else
    token_requests = [r for r in fake.requests if r[1] == "/auth/token"]
    assert len(token_requests) == 1
    api_calls = [r for r in fake.requests if r[1].startswith("/api/v2/") and not r[1].startswith("/api/v2/version")]
    assert api_calls and all(headers.get("Authorization") == f"Bearer {TOKEN}" for _, _, headers in api_calls)


def test_a_given_token_is_used_as_it_is() -> None:
    with fake_airflow() as fake:
        live = read(fake.url, credentials=Credentials(token=TOKEN))
    assert len(live.dags) == 2
    assert not [r for r in fake.requests if r[1] == "/auth/token"]


def test_listings_are_paged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(airflow_api, "PAGE_SIZE", 1)
    with fake_airflow() as fake:
        live = read(fake.url)
    assert len(live.dags) == 2 and len(live.import_errors) == 9 and len(live.task_instances) == 9
    dag_pages = [path for _, path, _ in fake.requests if path.startswith("/api/v2/dags?")]
    assert len(dag_pages) == 2 and "offset=1" in dag_pages[1]


def test_an_oversized_source_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(airflow_api, "MAX_FILE_BYTES", 1000)
    with fake_airflow() as fake:
        live = read(fake.url)
    assert live.sources == ()
    assert {f.code for f in live.findings} == {"E005"} and len(live.findings) == 2


def test_history_window_is_asked_for() -> None:
    with fake_airflow() as fake:
        read(fake.url, history_days=7, now=airflow_api.datetime(2026, 11, 28, tzinfo=airflow_api.UTC))
    runs = next(path for _, path, _ in fake.requests if path.startswith("/api/v2/dags/~/dagRuns?"))
    assert "run_after_gte=2026-11-21" in runs


def test_urls_are_shown_without_credentials() -> None:
    assert safe_url("https://user:pw@airflow.example.com:8443/af/?token=x") == "https://airflow.example.com:8443/af"
    assert base_url("http://127.0.0.1:8080/api/v2/") == "http://127.0.0.1:8080"
    assert PASSWORD not in repr(Credentials(user=USER, password=PASSWORD))
    assert TOKEN not in repr(Credentials(token=TOKEN))


# ------------------------------------------------------------------ run history as evidence


def test_run_history_becomes_evidence_and_cost() -> None:
    with fake_airflow() as fake:
        analysis = scan_live(read(fake.url))
    jobs = {job.id: job for job in analysis.jobs}
    restate = jobs["lake_late_data_fix.restate_daily_sales"]
    codes = {f.code for f in restate.findings}
    assert {"F101", "F107", "R305"} <= codes and restate.pattern.value == "fix"
    f107 = next(f for f in restate.findings if f.code == "F107")
    assert "2026-11-20, 2026-11-21" in f107.message and f107.file == "lake_late_data_fix.py"
    refresh = jobs["manual_full_refresh_sales.refresh_daily_sales"]
    assert {"R303", "R305"} <= {f.code for f in refresh.findings} and refresh.pattern.value == "reprocess"
    e050 = [f for f in analysis.findings if f.code == "E070"]
    assert len(e050) == 9 and all(f.message.startswith("Airflow cannot import ") for f in e050)
    document = analysis_to_dict(analysis)
    dag = next(d for d in document["dags"] if d["dag_id"] == "lake_late_data_fix")
    assert dag["history"]["runs"] == {"backfill": 2, "scheduled": 1}
    assert dag["history"]["backfill_dates"] == ["2026-11-20", "2026-11-21"]
    job = next(j for j in document["jobs"] if j["id"] == "lake_late_data_fix.restate_daily_sales")
    assert job["history"]["reruns"] == 2 and job["history"]["retries"] == 0 and job["history"]["seconds"] > 0
    assert document["airflow"]["version"] == "3.3.2" and document["airflow"]["batch_hours_per_day"] > 0
    text = dumps(analysis)
    assert not any(secret in text for secret in SECRETS) and fake.url not in text


def test_merged_with_the_repository() -> None:
    with fake_airflow() as fake:
        analysis = scan_live(read(fake.url), SAMPLES)
    files = {dag.dag_id: dag.file for dag in analysis.dags}
    assert files["lake_late_data_fix"] == "dags/lake_late_data_fix.py"  # the repository's DAG, with its history
    assert len(analysis.dags) >= 15
    histories = {dag.dag_id for dag in analysis.dags if dag.history is not None}
    assert histories == {"lake_late_data_fix", "manual_full_refresh_sales"}
    located = {f.file for f in analysis.findings if f.code == "E070"}
    assert "dags/lake_daily_sales.py" in located  # Airflow's file name, found in the repository


def test_a_dag_only_airflow_has_comes_from_its_source(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "lake_late_data_fix.py").write_bytes((SAMPLES / "dags" / "lake_late_data_fix.py").read_bytes())
    with fake_airflow() as fake:
        analysis = scan_live(read(fake.url), tmp_path)
    files = {dag.dag_id: dag.file for dag in analysis.dags}
    assert files == {
        "lake_late_data_fix": "dags/lake_late_data_fix.py",  # the repository's
        "manual_full_refresh_sales": "manual_full_refresh_sales.py",  # Airflow's, named as Airflow names it
    }
    assert any(job.id == "manual_full_refresh_sales.refresh_daily_sales" for job in analysis.jobs)


def test_credentials_in_the_url_are_used_and_not_shown() -> None:
    with fake_airflow() as fake:
        url = fake.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        live = read_airflow(AirflowSettings(url, retries=0))
        assert len(live.dags) == 2
        error = failure(url.replace(PASSWORD, "wrong"), credentials=Credentials())
    assert error.code == "E082" and "wrong" not in error.message


def test_tasks_airflow_runs_but_the_source_does_not_show() -> None:
    with fake_airflow() as fake:
        live = read(fake.url)
    dag = live.dags[0]
    extended = replace(dag, tasks=(*dag.tasks, LiveTask("generated_task_7", "PythonOperator")))
    analysis = scan_live(replace(live, dags=(extended, *live.dags[1:])))
    unseen = [f for f in analysis.findings if f.code == "E071"]
    assert len(unseen) == 1 and "generated_task_7" in unseen[0].message


def test_retries_clears_and_repeated_dates_are_told_apart() -> None:
    def instance(run: str, date: str, tries: int, max_tries: int) -> LiveTaskInstance:
        return LiveTaskInstance("d", run, "t", "success", date, tries, max_tries, 10.0)

    retried = task_history("t", [instance("r1", "2024-01-01", 3, 2)], retries=2)  # failed twice, then passed
    assert (retried.retries, retried.reruns, retried.rerun_dates) == (2, 0, ())
    cleared = task_history("t", [instance("r1", "2024-01-01", 2, 3), instance("r2", "2024-01-02", 1, 2)], retries=2)
    assert (cleared.retries, cleared.reruns, cleared.rerun_dates) == (0, 1, ("2024-01-01",))
    twice = task_history("t", [instance("s", "2024-01-03", 1, 2), instance("b", "2024-01-03", 1, 2)], retries=2)
    assert (twice.reruns, twice.rerun_dates, twice.seconds) == (1, ("2024-01-03",), 20.0)
    never_ran = LiveTaskInstance("d", "r", "t", "upstream_failed", "2024-01-04", 0, 0)
    live = LiveAirflow("3.3.2", 30, dags=(LiveDag("d", "d.py", tasks=(LiveTask("t", "BashOperator"),)),))
    assert summarize_history(replace(live, task_instances=(never_ran,)))["d"].tasks == ()


# ------------------------------------------------------------------ failures: one message, one exit code


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_host() -> None:
    error = failure(f"http://127.0.0.1:{closed_port()}")
    assert error.code == "E080" and "Connection refused" in error.message


def test_tls_handshake_failure() -> None:
    with fake_airflow() as fake:  # a plain HTTP server: the TLS handshake cannot succeed
        error = failure(fake.url.replace("http://", "https://"))
    assert error.code == "E081" and error.message.startswith("TLS handshake with https://127.0.0.1:")


def test_timeout_with_retries_is_bounded() -> None:
    with fake_airflow("slow", delay=2.0) as fake:
        started = time.monotonic()
        error = failure(fake.url, timeout=0.3, retries=1)
        elapsed = time.monotonic() - started
    assert error.code == "E084" and "in time" in error.message
    assert elapsed < 2.0
    assert len([r for r in fake.requests if r[1] == "/api/v2/version"]) == 2  # one try, one retry


def test_refused_credentials() -> None:
    with fake_airflow() as fake:
        error = failure(fake.url, credentials=Credentials(user=USER, password="wrong-" + PASSWORD))
    assert error.code == "E082" and "refused the user and password" in error.message


def test_missing_credentials() -> None:
    with fake_airflow() as fake:
        error = failure(fake.url, credentials=Credentials())
    assert error.code == "E082" and "--airflow-token" in error.message


def test_forbidden() -> None:
    with fake_airflow("forbidden") as fake:
        error = failure(fake.url)
    assert error.code == "E083" and "403" in error.message


def test_airflow_2_is_recognised() -> None:
    with fake_airflow("airflow2") as fake:
        error = failure(fake.url)
    assert error.code == "E085" and "Airflow 2.10.5" in error.message and "v1" in error.message
    v1 = next(headers for _, path, headers in fake.requests if path == "/api/v1/version")
    assert v1.get("Authorization", "").startswith("Basic ")  # Airflow 2's basic auth


def test_not_an_airflow() -> None:
    with fake_airflow("not-airflow") as fake:
        error = failure(fake.url)
    assert error.code == "E086" and "no Airflow REST API" in error.message


def test_server_errors_are_retried_then_reported() -> None:
    with fake_airflow("unavailable") as fake:
        error = failure(fake.url, retries=2)
    assert error.code == "E086" and "503" in error.message and "scheduler is restarting" in error.message
    assert len(fake.requests) == 3


def test_an_answer_that_is_not_json() -> None:
    with fake_airflow("not-json") as fake:
        error = failure(fake.url)
    assert error.code == "E086" and "not JSON" in error.message


def test_every_failure_code_has_an_exit_code_and_a_catalogue_entry() -> None:
    assert set(AIRFLOW_EXIT_CODES) == {code for code in SCAN_ERRORS if code.startswith("E08")}
    assert len(set(AIRFLOW_EXIT_CODES.values())) == len(AIRFLOW_EXIT_CODES)
    assert min(AIRFLOW_EXIT_CODES.values()) > 2  # 0 ran, 1 threshold, 2 usage


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize(
    ("behaviour", "password", "code"),
    [
        ("ok", "wrong", "E082"),
        ("forbidden", PASSWORD, "E083"),
        ("airflow2", PASSWORD, "E085"),
        ("not-airflow", PASSWORD, "E086"),
    ],
)
def test_cli_failure_is_one_line_and_an_exit_code(behaviour: str, password: str, code: str) -> None:
    with fake_airflow(behaviour) as fake:
        env = {"KAPPA_AIRFLOW_URL": fake.url, "KAPPA_AIRFLOW_USER": USER, "KAPPA_AIRFLOW_PASSWORD": password}
        result = runner.invoke(app, ["scan"], env=env)
    assert result.exit_code == AIRFLOW_EXIT_CODES[code], result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"kappa scan: {code} "), result.output
    assert PASSWORD not in result.output


def test_cli_unreachable() -> None:
    result = runner.invoke(
        app, ["scan", "--airflow-url", f"http://127.0.0.1:{closed_port()}", "--airflow-token", TOKEN]
    )
    assert result.exit_code == 3 and "E080" in result.output and TOKEN not in result.output


def test_cli_scan_writes_history(tmp_path: Path) -> None:
    out = tmp_path / "analysis.json"
    with fake_airflow() as fake:
        arguments = ["scan", "--airflow-url", fake.url, "--format", "json", "--out", str(out), "--history-days", "14"]
        result = runner.invoke(app, arguments, env={"KAPPA_AIRFLOW_USER": USER, "KAPPA_AIRFLOW_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert "Airflow 3.3.2: 2 DAGs, 9 import errors, 4 runs in the last 14 days" in result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["airflow"]["history_days"] == 14
    assert {d["dag_id"] for d in document["dags"]} == {"lake_late_data_fix", "manual_full_refresh_sales"}
    text = out.read_text(encoding="utf-8")
    assert PASSWORD not in text and TOKEN not in text and PASSWORD not in result.output


def test_cli_needs_a_path_or_a_url() -> None:
    result = runner.invoke(app, ["scan"], env={"KAPPA_AIRFLOW_URL": ""})
    assert result.exit_code == 2


def test_help_shows_no_secret_from_the_environment() -> None:
    result = runner.invoke(
        app, ["scan", "--help"], env={"KAPPA_AIRFLOW_PASSWORD": PASSWORD, "KAPPA_AIRFLOW_TOKEN": TOKEN}
    )
    assert result.exit_code == 0 and PASSWORD not in result.output and TOKEN not in result.output
