"""Safe outputs: names made from hostile ids, nothing written outside the output folder, files
written atomically (a run killed half-way leaves no half-written file, and the next run cleans up
after it), analysis.json last, the same bytes on every run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import generators.output
from analyzer.cli import app
from analyzer.errors import UsageError
from generators.output import (
    MAX_NAME_CHARS,
    RESERVED_NAMES,
    TEMPORARY_PREFIX,
    remove_temporary_files,
    resolve_inside,
    safe_name,
    write_outputs,
)

from .conftest import PROJECT

runner = CliRunner()


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_id_becomes_a_safe_file_name(name: str) -> None:
    safe = safe_name(name)
    assert safe and safe not in (".", "..") and safe[0] not in ".-_" and safe.isascii()
    assert all(c.isalnum() or c in "._-" for c in safe)
    assert len(safe) <= MAX_NAME_CHARS + 9
    assert safe.split(".", 1)[0].upper() not in RESERVED_NAMES
    assert safe_name(name) == safe  # the same name on every run


@pytest.mark.parametrize(
    "relative", ["../escape.sql", "/etc/passwd", "jobs/../../escape.sql", "jobs/a\x00b/job.sql", "jobs/../.."]
)
def test_paths_outside_the_output_folder_are_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(UsageError):
        resolve_inside(tmp_path / "out", relative)


def test_a_symlink_in_the_output_folder_cannot_redirect_a_write(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "jobs").mkdir(parents=True)
    os.symlink(tmp_path, out / "jobs" / "d")
    with pytest.raises(UsageError):
        write_outputs(out, {"jobs/d/escape.sql": "x"}, force=True)
    assert not (tmp_path / "escape.sql").exists()


def test_analysis_json_is_written_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    monkeypatch.setattr(generators.output, "write_atomically", lambda path, _: order.append(path.name))
    write_outputs(tmp_path / "out", {"analysis.json": "{}", "jobs/a/b/job.sql": "", "z.yaml": ""})
    assert order == ["job.sql", "z.yaml", "analysis.json"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_have_the_mode_the_umask_gives(tmp_path: Path, umask: int, mode: int) -> None:
    """Not mkstemp's private 0600: a team shares the report and the jobs like any file it writes."""
    before = os.umask(umask)
    try:
        written = write_outputs(tmp_path / "out", {"analysis.json": "{}", "jobs/a/b/job.sql": ""})
    finally:
        os.umask(before)
    assert [path.stat().st_mode & 0o777 for path in written] == [mode, mode]


def test_leftover_temporary_files_are_removed_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "jobs" / "d").mkdir(parents=True)
    stale = out / "jobs" / "d" / f"{TEMPORARY_PREFIX}job.sql.abc123.tmp"
    stale.write_text("half a jo")
    mine = out / "jobs" / "d" / "notes.tmp"
    mine.write_text("the user's")
    assert remove_temporary_files(out) == [stale]
    assert not stale.exists() and mine.exists()
    # a folder that held only what a killed run left is empty again: no --force needed
    mine.unlink()
    (out / "jobs" / "d" / f"{TEMPORARY_PREFIX}x.tmp").write_text("")
    write_outputs(out, {"analysis.json": "{}"})


# ------------------------------------------------------------------ a run killed half-way

GENERATE = 'import sys; sys.argv[0] = "kappa"; from analyzer.launch import main; main()'


def _many_jobs(root: Path, files: int = 10, tasks: int = 100) -> Path:
    """A repository of `files` DAGs of `tasks` append-only copies each: a thousand small jobs."""
    for number in range(files):
        (root / "dags").mkdir(parents=True, exist_ok=True)
        (root / "dags" / f"load_{number:02d}.py").write_text(
            "from airflow import DAG\n"
            "from airflow.providers.postgres.operators.postgres import PostgresOperator\n"
            f"with DAG('load_{number:02d}', schedule='@daily') as dag:\n"
            f"    for i in range({tasks}):\n"
            "        PostgresOperator(task_id=f'copy_{i:03d}', postgres_conn_id='shop_pg',\n"
            f'            sql=f"INSERT INTO mart_{number:02d}.copy_{{i:03d}} SELECT order_id, total_amount"\n'
            "                f\" FROM shop.orders_{i:03d} WHERE status = 'paid'\")\n"
        )
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _kill_while_writing(repo: Path, out: Path, delay: float) -> None:
    """Start `kappa generate`, and SIGKILL it `delay` seconds after its first job file appears."""
    process = subprocess.Popen(
        [sys.executable, "-c", GENERATE, "generate", str(repo), "--out", str(out)],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            if (out / "jobs").is_dir():
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.mark.slow
def test_a_run_killed_while_writing_leaves_no_partial_file(tmp_path: Path) -> None:
    repo = _many_jobs(tmp_path / "repo")
    reference = tmp_path / "reference"
    result = runner.invoke(app, ["generate", str(repo), "--out", str(reference)])
    assert result.exit_code == 0, result.output
    complete = _files(reference)
    assert len(complete) > 1000
    for attempt, delay in enumerate((0.05, 0.01, 0.0, 0.1)):
        out = tmp_path / f"killed-{attempt}"
        _kill_while_writing(repo, out, delay)
        written = _files(out) if out.is_dir() else {}
        if not written or "analysis.json" in written:
            continue  # killed before the first file, or after the last: try another moment
        for name, data in written.items():
            if Path(name).name.startswith(TEMPORARY_PREFIX):
                continue  # a temporary file: never read, removed by the next run
            assert data == complete[name], f"{name} is not the complete file"
        # the next run into the same folder cleans up and writes everything
        result = runner.invoke(app, ["generate", str(repo), "--out", str(out), "--force"])
        assert result.exit_code == 0, result.output
        assert _files(out) == complete  # no temporary file left, every byte as in a clean run
        return
    pytest.fail("the run was never killed while it was writing its files")
