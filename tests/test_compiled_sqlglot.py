"""kappa with sqlglot's compiled build (sqlglotc) installed.

`.ci/setup.d/50-sqlglotc.sh` installs the project's sqlglot version with sqlglotc into
build/sqlglotc; each run here puts that folder first on PYTHONPATH, as if it were installed, and
runs the `kappa` entry point in a process of its own. `kappa scan` runs on the compiled build;
`kappa generate` imports sqlglot's sources in its own process (kappa's Flink dialect subclasses
sqlglot's classes, which mypyc refuses to instantiate) while its workers scan on the compiled
build; both give the files the pure-Python sqlglot gives, byte for byte. Without the folder the
tests are skipped locally and fail in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

from generators.workers import PARALLEL_JOBS

from .conftest import PROJECT, SAMPLES, synthetic_repository

pytestmark = pytest.mark.slow

COMPILED = PROJECT / "build" / "sqlglotc"

# the `kappa` script, telling on stderr how many sqlglot modules its own process imported compiled
KAPPA = """
import atexit, sys
def compiled_sqlglot_modules():
    return [name for name, module in list(sys.modules.items()) if name.split(".")[0] == "sqlglot"
            and not (getattr(module, "__file__", None) or ".py").endswith(".py")]
atexit.register(lambda: print(f"compiled sqlglot modules: {len(compiled_sqlglot_modules())}", file=sys.stderr))
sys.argv[0] = "kappa"
from analyzer.launch import main
main()
"""


@pytest.fixture(scope="module")
def compiled() -> Path:
    version = (COMPILED / "VERSION").read_text().strip() if (COMPILED / "VERSION").is_file() else None
    if version != sqlglot.__version__:
        found = f"sqlglot {version}" if version else "nothing"
        reason = (
            f"{COMPILED.relative_to(PROJECT)} holds {found}, not sqlglot {sqlglot.__version__} compiled: "
            "run `bash .ci/setup` (.ci/setup.d/50-sqlglotc.sh)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return COMPILED


def _kappa(arguments: list[str], compiled: Path | None) -> tuple[str, int]:
    """Run `kappa ARGUMENTS` (exit status 0 or 1); its output, and how many sqlglot modules its
    own process imported compiled."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    if compiled is not None:
        environment["PYTHONPATH"] = str(compiled)
    command = [sys.executable, "-c", KAPPA, *arguments]
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=PROJECT, env=environment)
    assert done.returncode in (0, 1), done.stderr
    counted = done.stderr.rsplit("compiled sqlglot modules: ", 1)[1]
    return done.stdout, int(counted.split()[0])


def _files(folder: Path) -> dict[Path, bytes]:
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_the_version_names_the_sqlglot_build(compiled: Path) -> None:
    assert f"(sqlglot {sqlglot.__version__}, compiled)" in _kappa(["--version"], compiled)[0]
    assert f"(sqlglot {sqlglot.__version__}, Python)" in _kappa(["--version"], None)[0]


def test_scan_runs_on_the_compiled_build_with_the_same_result(compiled: Path, tmp_path: Path) -> None:
    arguments = ["scan", str(SAMPLES), "--format", "json", "--no-cache", "--jobs", "1", "--out"]
    _, loaded = _kappa([*arguments, str(tmp_path / "compiled.json")], compiled)
    assert loaded > 0, "the scan did not run on the compiled sqlglot"
    _, loaded = _kappa([*arguments, str(tmp_path / "python.json")], None)
    assert loaded == 0
    assert (tmp_path / "compiled.json").read_bytes() == (tmp_path / "python.json").read_bytes()


def test_generate_runs_on_the_sources_and_writes_the_same_files(compiled: Path, tmp_path: Path) -> None:
    """With the compiled build, two workers: the scan's and the typing's workers run it, the
    assembling workers and the generating process the sources; the files are those of a run on
    the Python build in one process."""
    repo = synthetic_repository(tmp_path / "repo", dags=100, seed=4)
    for name, build, workers in (("compiled", compiled, "2"), ("python", None, "1")):
        arguments = ["generate", str(repo), "--out", str(tmp_path / name), "--jobs", workers, "--no-cache"]
        output, loaded = _kappa(arguments, build)
        assert loaded == 0, f"the generating process imported compiled sqlglot modules ({name})"
        assert "Flink dialect cannot run" not in output
    written = _files(tmp_path / "compiled")
    assert any(path.name == "job.sql" for path in written)
    assert written == _files(tmp_path / "python")
    jobs = len(json.loads(written[Path("analysis.json")])["jobs"])
    assert jobs >= PARALLEL_JOBS, "too few jobs for generate's workers to start"
