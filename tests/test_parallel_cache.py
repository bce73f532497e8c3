"""Parallel and cached scans give the same analysis.json bytes as a plain scan.

One worker or several, cold cache or warm: the same bytes. A cache entry is reused only while
everything its file's scan read is unchanged (the file, the repository modules it imports, the
SQL files and templates it reads, the configuration, kappa itself); a corrupt entry is a miss.
"""

from __future__ import annotations

import pickle
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer import pipeline
from analyzer.cache import CACHE_DIR_NAME, Dependency, Manifest, ScanCache, safe_loads, write_object_entry
from analyzer.cli import app
from analyzer.contract import dumps
from analyzer.pipeline import scan, scan_with_stats

from .conftest import PROJECT, SAMPLES, synthetic_repository, write_tree


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_repository(tmp_path_factory.mktemp("synthetic"), dags=6, seed=3)


@pytest.fixture(scope="module")
def synthetic_plain(synthetic: Path) -> str:
    return dumps(scan(synthetic))


@pytest.fixture(scope="module")
def samples_plain() -> str:
    return dumps(scan(SAMPLES))


def _scan(root: Path, cache: Path | None, jobs: int = 1) -> tuple[str, pipeline.ScanStats]:
    analysis, stats = scan_with_stats(root, jobs=jobs, cache_dir=cache, min_parallel_files=0)
    return dumps(analysis), stats


# ----------------------------------------------------------------------------- same bytes


def test_samples_two_workers_same_bytes(samples_plain: str) -> None:
    document, stats = _scan(SAMPLES, None, jobs=2)
    assert stats.workers == 2
    assert document == samples_plain


def test_samples_cold_and_warm_cache_same_bytes(samples_plain: str, tmp_path: Path) -> None:
    cold, cold_stats = _scan(SAMPLES, tmp_path / "cache", jobs=2)
    warm, warm_stats = _scan(SAMPLES, tmp_path / "cache", jobs=2)
    assert cold == warm == samples_plain
    assert cold_stats.reused == 0
    assert warm_stats.parsed == 0
    assert warm_stats.reused == warm_stats.python_files + warm_stats.sql_files


def test_synthetic_repository_same_bytes_every_way(synthetic: Path, synthetic_plain: str, tmp_path: Path) -> None:
    assert _scan(synthetic, None, jobs=2)[0] == synthetic_plain
    assert _scan(synthetic, tmp_path / "c", jobs=2)[0] == synthetic_plain  # cold, in workers
    assert _scan(synthetic, tmp_path / "c", jobs=1)[0] == synthetic_plain  # warm, in this process
    assert '"dag_id": "team_000_' in synthetic_plain


def test_cache_keeps_out_of_version_control(tmp_path: Path) -> None:
    repo = write_tree(tmp_path / "repo", {"dags/x.py": "from airflow import DAG\n"})
    _scan(repo, tmp_path / CACHE_DIR_NAME)
    assert (tmp_path / CACHE_DIR_NAME / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"


# ------------------------------------------------------------------------------ invalidation


@pytest.fixture
def repo(synthetic: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(synthetic, copy)
    return copy


def _warm(repo: Path, cache: Path) -> None:
    _, stats = _scan(repo, cache)
    assert stats.reused == 0
    _, stats = _scan(repo, cache)
    assert stats.parsed == 0
    assert stats.whole_run_reused


def _rescan_matches_plain(repo: Path, cache: Path) -> pipeline.ScanStats:
    document, stats = _scan(repo, cache)
    assert document == dumps(scan(repo))
    return stats


def _first_dag(repo: Path) -> Path:
    return sorted((repo / "dags").glob("team_*/*.py"))[0]


def test_one_changed_dag_file_reparses_one_file(repo: Path, tmp_path: Path) -> None:
    _warm(repo, tmp_path / "c")
    dag = _first_dag(repo)
    dag.write_text(dag.read_text(encoding="utf-8").replace("notify_owners", "tell_owners") + "\n# edited\n")
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.parsed == 1


def test_changed_imported_module_reparses_its_importers(repo: Path, tmp_path: Path) -> None:
    _warm(repo, tmp_path / "c")
    settings = repo / "dags" / "common" / "settings.py"
    settings.write_text(settings.read_text(encoding="utf-8").replace('"retries": 2', '"retries": 5'))
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    dag_files = len(list((repo / "dags").glob("team_*/*.py")))
    assert stats.parsed == dag_files + 1  # every DAG imports the settings, and the module itself
    assert '"retries": 5' in dumps(scan(repo))


def test_changed_sql_file_reparses_the_dag_that_reads_it(repo: Path, tmp_path: Path) -> None:
    _warm(repo, tmp_path / "c")
    sql_file = sorted((repo / "include" / "sql").rglob("*.sql"))[0]
    sql_file.write_text(sql_file.read_text(encoding="utf-8").replace("COUNT(*)", "COUNT(1)") + "\n-- edited\n")
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.parsed == 2  # the .sql file (its table definitions) and the DAG that reads it


def test_changed_config_reparses_everything(repo: Path, tmp_path: Path) -> None:
    _warm(repo, tmp_path / "c")
    config = repo / "kappa.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('lake = "spark"', 'lake = "hive"'))
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.reused == 0


def test_added_file_reparses_everything(repo: Path, tmp_path: Path) -> None:
    """A new file can change what an import or a template look-up finds."""
    _warm(repo, tmp_path / "c")
    (repo / "dags" / "team_000" / "helpers.py").write_text("X = 1\n")
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.reused == 0


def test_new_tool_version_reparses_everything(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _warm(repo, tmp_path / "c")
    monkeypatch.setattr(pipeline, "tool_digest", lambda: "a newer kappa")
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.reused == 0


def test_changed_included_template_reparses_the_dag(tmp_path: Path) -> None:
    repo = write_tree(
        tmp_path / "repo",
        {
            "dags/daily.py": (
                "from airflow import DAG\n"
                "from airflow.providers.postgres.operators.postgres import PostgresOperator\n"
                "with DAG(dag_id='daily', schedule='@daily') as dag:\n"
                "    PostgresOperator(task_id='load', sql='sql/load.sql')\n"
            ),
            "dags/sql/load.sql": "INSERT INTO mart.t {% include 'sql/select.sql' %}\n",
            "dags/sql/select.sql": "SELECT id FROM raw.a WHERE dt = '{{ ds }}'\n",
        },
    )
    _warm(repo, tmp_path / "c")
    (repo / "dags" / "sql" / "select.sql").write_text("SELECT id FROM raw.b WHERE dt = '{{ ds }}'\n")
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert stats.parsed == 2  # the included file itself, and the DAG whose template includes it
    assert "raw.b" in dumps(scan(repo))


def test_changed_dbt_properties_end_the_reuse_of_the_run(tmp_path: Path, samples_plain: str) -> None:
    """A dbt YAML file is read by the model scan, not by any DAG file's: the run's entry knows it."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLES, repo)
    _warm(repo, tmp_path / "c")
    properties = repo / "dbt" / "shop_dbt" / "models" / "marts" / "schema.yml"
    properties.write_text(properties.read_text(encoding="utf-8").replace("varchar(20)", "varchar(40)", 1))
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert not stats.whole_run_reused
    assert stats.parsed == 0  # no DAG or SQL file read it
    assert dumps(scan(repo)).replace(str(repo), "") != samples_plain.replace(str(SAMPLES.resolve()), "")


def test_other_scan_options_end_the_reuse_of_the_run(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    _warm(SAMPLES, cache)
    analysis, stats = scan_with_stats(SAMPLES, cache_dir=cache, dialect="snowflake")
    assert not stats.whole_run_reused
    assert dumps(analysis) == dumps(scan(SAMPLES, dialect="snowflake"))
    assert scan_with_stats(SAMPLES, cache_dir=cache, dialect="snowflake")[1].whole_run_reused


def test_other_configuration_findings_end_the_reuse_of_the_run(repo: Path, tmp_path: Path) -> None:
    """An unknown dialect is dropped from the configuration: a second one leaves the same
    configuration, and another finding."""
    config = repo / "kappa.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[operators.Mine]\nsql_arg = "q"\ndialect = "nosuch"\n')
    _warm(repo, tmp_path / "c")
    config.write_text(config.read_text(encoding="utf-8").replace('"nosuch"', '"nosuch_either"'))
    stats = _rescan_matches_plain(repo, tmp_path / "c")
    assert not stats.whole_run_reused
    assert "nosuch_either" in dumps(scan(repo))


def _run_entry(cache: Path) -> Path:
    [entry] = cache.rglob(pipeline.RUN_ENTRY)
    return entry


def test_corrupt_entries_are_ignored(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    _warm(repo, cache)
    run = _run_entry(cache)
    entries = sorted(path for path in cache.rglob("*.entry") if path != run)
    entries[0].write_bytes(b"not a cache entry")
    entries[1].write_bytes(entries[1].read_bytes()[:-40])  # truncated payload
    entries[2].write_bytes(b"")
    stats = _rescan_matches_plain(repo, cache)
    assert stats.whole_run_reused  # the files did not change: the run's own entry still holds
    run.write_bytes(run.read_bytes()[:-40])
    stats = _rescan_matches_plain(repo, cache)
    assert not stats.whole_run_reused
    assert 1 <= stats.parsed <= 3
    assert _scan(repo, cache)[1].parsed == 0  # rewritten


def test_an_entry_replaced_after_its_manifest_was_read_is_a_miss(tmp_path: Path) -> None:
    """Another scan may replace an entry between reading its manifest and its body."""
    store = ScanCache(tmp_path, tmp_path / "repo", "context")
    store.prepare()
    name = store.slot("run", "").name
    first = Manifest("context", Dependency("text", "a.py", "1"))
    write_object_entry(store.folder, name, first, ["first"])
    entry = store.entry("run", "")
    assert entry is not None and entry.payload_parts() == ["first"]
    write_object_entry(store.folder, name, Manifest("context", Dependency("text", "a.py", "2")), ["second"])
    assert entry.payload_parts() is None
    assert store.entry("run", "", "another context") is None


def test_a_large_entry_reads_back_its_parts_in_order(tmp_path: Path) -> None:
    """Parts are pickled here and compressed on another thread: more parts than may wait at once."""
    store = ScanCache(tmp_path, tmp_path / "repo", "context")
    store.prepare()
    name = store.slot("run", "").name
    parts = [{"part": index, "text": f"{index} " * 50_000} for index in range(12)]
    write_object_entry(store.folder, name, Manifest("context", Dependency("text", "a.py", "1")), parts)
    entry = store.entry("run", "")
    assert entry is not None and entry.payload_parts() == parts


def test_an_entry_that_cannot_be_written_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed write (the disk full while compressing, a part that does not pickle) leaves no
    entry and no temporary file; a write error is a cache that is simply not written."""
    store = ScanCache(tmp_path, tmp_path / "repo", "context")
    store.prepare()
    name = store.slot("run", "").name
    manifest = Manifest("context", Dependency("text", "a.py", "1"))
    real_compressobj = zlib.compressobj

    class FullDisk:
        def __init__(self, level: int) -> None:
            self._real = real_compressobj(level)

        def compress(self, data: bytes) -> bytes:
            raise OSError(28, "No space left on device")

        def flush(self) -> bytes:
            return self._real.flush()

    monkeypatch.setattr(zlib, "compressobj", FullDisk)
    write_object_entry(store.folder, name, manifest, ["a", "b", "c", "d", "e", "f"])
    monkeypatch.undo()
    with pytest.raises((pickle.PicklingError, AttributeError)):
        write_object_entry(store.folder, name, manifest, ["a", lambda: None])
    assert sorted(p.name for p in store.folder.iterdir()) == []


def test_every_model_pickles_as_its_field_values_and_back() -> None:
    """Models keep their fields in slots and pickle as one tuple of values (`fast_pickling`): the
    samples' whole analysis, statement analyses included, comes back equal through the cache's
    own unpickler, and each model class carries the tuple pickling."""
    from analyzer.models import MODELS, Finding  # noqa: PLC0415 - the registry under test
    from analyzer.sql import DedupShape, JoinInfo, PartitionPredicate, StatementAnalysis  # noqa: PLC0415

    collected = pipeline.collect_files(SAMPLES)
    analysis = pipeline.analyze(collected.analysis, collected.analyses)
    payload = (analysis, tuple(collected.analyses.values()))
    assert safe_loads(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)) == payload
    finding = Finding("E001", "name", "message", "dags/a.py", 3, 4)
    assert finding.__getstate__() == ("E001", "name", "message", "dags/a.py", 3, 4)
    for model in (*MODELS, DedupShape, JoinInfo, PartitionPredicate, StatementAnalysis):
        assert "__slots__" in vars(model), model
        assert model.__getstate__.__qualname__ == "fast_pickling.<locals>.getstate", model


_FREEZE_PROBE = """
import gc, sys
from pathlib import Path
from analyzer import pipeline
if sys.argv[2] == "owned":
    pipeline.tune_gc()
before = gc.get_freeze_count()
analysis, _ = pipeline.scan_with_stats(Path(sys.argv[1]))
print(before, gc.get_freeze_count(), len(analysis.jobs))
"""


@pytest.mark.parametrize(("owned", "frozen"), [("owned", True), ("library", False)])
def test_what_the_scan_keeps_is_frozen_only_in_its_own_process(owned: str, frozen: bool) -> None:
    """The command line's process freezes the results it keeps (no collection walks them again);
    a program that calls the scan as a library keeps its garbage collector as it was."""
    command = [sys.executable, "-c", _FREEZE_PROBE, str(SAMPLES), owned]
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, check=True)
    before, after, jobs = map(int, done.stdout.split())
    assert jobs > 0
    assert (after > before) is frozen


_FROZEN_GARBAGE_PROBE = """
import gc, sys
from pathlib import Path
from sqlglot import exp
from analyzer import pipeline
pipeline.tune_gc()
analysis, _ = pipeline.scan_with_stats(Path(sys.argv[1]), jobs=1)  # parsed in this process
gc.unfreeze()
gc.set_debug(gc.DEBUG_SAVEALL)  # what is unreachable goes to gc.garbage instead of being freed
gc.collect()
trees = sum(isinstance(item, exp.Expr) for item in gc.garbage)
graphs = sum(type(item).__name__ == "DiGraph" for item in gc.garbage)
print(len(analysis.jobs), trees, graphs)
"""


def test_no_garbage_is_frozen_with_what_the_scan_keeps() -> None:
    """The parse trees of a scan without workers and the lineage graph are cyclic garbage: frozen
    with the results, they were never freed (a 1,000-DAG `--jobs 1` scan peaked at 918 MiB)."""
    command = [sys.executable, "-c", _FROZEN_GARBAGE_PROBE, str(SAMPLES)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, check=True)
    jobs, trees, graphs = map(int, done.stdout.split())
    assert jobs > 0
    assert (trees, graphs) == (0, 0)


class _Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("a cache entry ran code",))


def test_entries_cannot_run_code() -> None:
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(pickle.dumps(_Boom()))


def test_deleted_files_leave_the_cache(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "c"
    _warm(repo, cache)
    before = len(list(cache.rglob("*.entry")))
    _first_dag(repo).unlink()
    _rescan_matches_plain(repo, cache)
    assert len(list(cache.rglob("*.entry"))) == before - 1


# -------------------------------------------------------------------------------------- CLI


def test_cli_scan_jobs_and_cache(tmp_path: Path, samples_plain: str) -> None:
    runner = CliRunner()
    out = tmp_path / "analysis.json"
    arguments = ["scan", str(SAMPLES), "--format", "json", "--out", str(out), "--jobs", "2"]
    result = runner.invoke(app, [*arguments, "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == samples_plain
    assert list((tmp_path / "c").rglob("*.entry"))
    result = runner.invoke(app, [*arguments, "--no-cache", "--cache-dir", str(tmp_path / "none")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "none").exists()
    assert out.read_text(encoding="utf-8") == samples_plain


@pytest.fixture(scope="module")
def larger_synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic_repository(tmp_path_factory.mktemp("larger"), dags=120, seed=5)


def _entries(cache: Path) -> int:
    return sum(1 for _ in cache.rglob("*.entry"))


class _Interrupted(Exception):
    pass


def test_a_scan_stopped_early_drops_the_files_its_workers_have_not_started(
    larger_synthetic: Path, tmp_path: Path
) -> None:
    """An exception while the results are merged (Ctrl-C, SIGTERM, a bug) ends the scan after
    the files the workers hold, not after every queued file: each scanned file leaves its entry."""

    def interrupt(_file: str, _total: int) -> None:
        raise _Interrupted

    cache = tmp_path / "cache"
    with pytest.raises(_Interrupted):
        pipeline.collect_files(larger_synthetic, jobs=2, cache_dir=cache, progress=interrupt, min_parallel_files=0)
    python_files = sum(1 for _ in larger_synthetic.rglob("*.py"))
    assert 0 < _entries(cache) < python_files  # without dropping them, every file was scanned


def _descendants(pid: int) -> set[int]:
    """The processes under `pid` (its forkserver and resource tracker, and their workers)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_sigterm_ends_the_command_line_scan_and_its_workers(larger_synthetic: Path, tmp_path: Path) -> None:
    """SIGTERM ends `kappa scan` with status 143, no output, and no worker left behind (before,
    the workers and their forkserver stayed, idle, after the scanning process was gone)."""
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", "from analyzer.cli import main; main()", "scan", str(larger_synthetic)]
    command += ["--jobs", "2", "--cache-dir", str(cache), "--format", "json", "--out", str(tmp_path / "a.json")]
    errors = tmp_path / "stderr"  # a file, not a pipe: workers left behind would hold a pipe open
    with errors.open("w") as stderr:
        process = subprocess.Popen(command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=stderr)
        while process.poll() is None and not (cache.is_dir() and _entries(cache) > 0):
            time.sleep(0.01)
        helpers = _descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, errors.read_text()
    assert not (tmp_path / "a.json").exists()  # no output from a scan that did not finish
    assert len(helpers) >= 3  # forkserver, workers (and the resource tracker)
    for _ in range(600):  # they end once the scanning process has let go of them
        if not any(map(_running, helpers)):
            break
        time.sleep(0.05)
    assert not [pid for pid in helpers if _running(pid)]
