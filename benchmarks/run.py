"""Benchmarks of issue 8, side by side in one run, as a table of figures and targets.

    python benchmarks/run.py --quick     # a 100-DAG repository; peers only if their environments exist
    python benchmarks/run.py --full      # 1,000 and 10,000 DAGs; builds the peers' environments; JVM

B1 throughput of `kappa scan` (files/s, statements/s), cold, all CPUs. B2 scan time over a bare
`sqlglot.parse` of the same statements in one process, with one worker and with all. B3 Airflow's
`DagBag` loading the same DAG folder (Airflow installed in its own virtual environment). B4
sqllineage on the same statements, for table lineage. B5 re-scan of an unchanged repository,
and after one file changed. B6 peak memory (the scanning process and its workers). B7 planning
per job in one JVM after start-up, and verification per job (`bench_validate.py`,
`bench_verify.py`; needs the `flink` extra and Java). G `kappa generate` of the same repository
as B2 with its scan cached, R `kappa report` of its output (no targets: the rest of `migrate`).
With the compiled sqlglot (`--sqlglotc`, always in `--full`; installed in a folder of its own put
first on PYTHONPATH, so that the same run measures both builds), B1 and B6 on the largest
repository and B2's parallel scan again under it.

Machines are noisy: every ratio compares figures taken minutes apart in the same run, and the load
average is printed with them. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
VENVS = HERE / ".venvs"
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(PROJECT))  # run from a checkout without installing

import synth  # noqa: E402

from analyzer.pipeline import RUN_ENTRY  # noqa: E402

PEERS = {
    "airflow": ["apache-airflow", "apache-airflow-providers-common-sql", "apache-airflow-providers-standard"],
    "sqllineage": ["sqllineage"],
}
GIB = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Profile:
    name: str
    sizes: tuple[int, ...]  # DAG files: B1 for each, B5 and B6 on the largest
    compare_size: int  # the repository for B2, B3 and B4
    lineage_statements: int  # statements given to sqllineage and kappa (B4)
    build_peers: bool
    jvm: bool
    validate_repeat: int


PROFILES = {
    "quick": Profile("quick", (100,), 100, 24, build_peers=False, jvm=False, validate_repeat=1),
    "full": Profile("full", (1000, 10000), 1000, 200, build_peers=True, jvm=True, validate_repeat=3),
}


@dataclass
class Row:
    benchmark: str
    figure: str
    value: str
    target: str = ""
    met: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, benchmark: str, figure: str, value: str, target: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(benchmark, figure, value, target, "" if met is None else ("yes" if met else "no")))
        print(f"  {benchmark:3} {figure}: {value}" + (f"  (target {target}: {self.rows[-1].met})" if target else ""))

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}")


# ------------------------------------------------------------------------------ processes


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall time of the whole process
    probe: dict[str, object]  # the probe's own JSON line
    peak_rss: int  # bytes: the process
    worker_rss: tuple[int, ...]  # bytes: each descendant's peak
    output: str
    cpu: float = 0.0  # CPU seconds of the process and every process it started (less noisy than wall time)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(parent, []).append(int(entry.name))
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _high_water(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(command: list[str], env: dict[str, str] | None = None, timeout: float = 7200) -> Measured:
    """Run a command, following the peak RSS of it and of every process it starts.

    Python may keep its bytecode (an installed package has it compiled at install time): with
    PYTHONDONTWRITEBYTECODE set, every run would compile every module of kappa and its peers again.
    """
    environment = dict(os.environ if env is None else env)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=environment, cwd=PROJECT, text=True
        )
        peaks: dict[int, int] = {}
        cpu: dict[int, float] = {}
        while process.poll() is None:
            if time.perf_counter() - started > timeout:
                process.kill()
                raise TimeoutError(" ".join(command))
            if Path("/proc").is_dir():
                for pid in _children(process.pid):
                    peaks[pid] = max(peaks.get(pid, 0), _high_water(pid))
                    cpu[pid] = max(cpu.get(pid, 0.0), _cpu_seconds(pid))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.25)  # samples every 0.25 s, and the end is seen at once
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    probe: dict[str, object] = {}
    for line in output.splitlines():
        if line.startswith("KAPPA_PROBE "):
            probe = json.loads(line.removeprefix("KAPPA_PROBE "))
    if process.returncode not in (0, 1) or not probe:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{output[-3000:]}")
    own = int(probe.get("self_max_rss_kb", 0)) * 1024  # type: ignore[call-overload]
    workers = tuple(sorted((p for p in peaks.values() if p), reverse=True))
    own_cpu = float(probe.get("self_cpu_seconds", 0.0))  # type: ignore[arg-type]
    return Measured(seconds, probe, own, workers, output, own_cpu + sum(cpu.values()))


def probe(*arguments: str, env: dict[str, str] | None = None) -> Measured:
    return run([sys.executable, str(HERE / "probes.py"), *arguments], env)


def kappa_scan(repo: Path, *options: str, env: dict[str, str] | None = None) -> Measured:
    return probe("scan", str(repo), *options, env=env)


# ---------------------------------------------------------------------------- environments


def _venv_python(name: str) -> Path:
    return VENVS / name / "bin" / "python"


def ensure_peer(name: str, build: bool, report: Report) -> Path | None:
    """The Python of a peer's own virtual environment, built here once when allowed."""
    python = _venv_python(name)
    marker = VENVS / name / "kappa-bench-ready"
    if marker.is_file():
        return python
    if not build:
        report.note(f"{name} skipped: its environment is not built (python benchmarks/run.py --build-peers)")
        return None
    print(f"  building the {name} environment in {VENVS / name} (once) ...", flush=True)
    log = VENVS / f"{name}.log"
    VENVS.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True, stdout=out, stderr=out)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        done = subprocess.run([*pip, *PEERS[name]], stdout=out, stderr=out, check=False)
    if done.returncode != 0:
        report.note(f"{name} skipped: pip install failed, see {log}")
        return None
    marker.write_text(" ".join(PEERS[name]) + "\n")
    return python


def ensure_sqlglotc(build: bool, report: Report) -> Path | None:
    """A folder holding this sqlglot version compiled (sqlglot + sqlglotc), for PYTHONPATH."""
    folder = VENVS / "sqlglotc"
    version = metadata.version("sqlglot")
    marker = folder / f"kappa-bench-ready-{version}"
    if marker.is_file():
        return folder
    if not build:
        report.note("sqlglotc skipped: not built (python benchmarks/run.py --sqlglotc)")
        return None
    print(f"  installing sqlglot {version} + sqlglotc into {folder} (once) ...", flush=True)
    shutil.rmtree(folder, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--target"]
    done = subprocess.run(
        [*command, str(folder), f"sqlglot=={version}", f"sqlglotc=={version}"],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        report.note(f"sqlglotc skipped: no sqlglotc {version} for this platform ({done.stderr.strip()[-200:]})")
        return None
    marker.write_text(version + "\n")
    return folder


def ensure_repo(work: Path, dags: int, seed: int) -> tuple[Path, synth.RepoStats]:
    repo = work / f"repo-{dags}-seed{seed}"
    stats_file = repo.with_suffix(".json")
    if stats_file.is_file() and repo.is_dir():
        return repo, synth.RepoStats(**json.loads(stats_file.read_text()))
    shutil.rmtree(repo, ignore_errors=True)
    started = time.perf_counter()
    stats = synth.generate(repo, dags, seed)
    stats_file.write_text(json.dumps(stats.__dict__))
    print(f"  generated {repo} in {time.perf_counter() - started:.1f} s: {stats.line()}", flush=True)
    return repo, stats


# ------------------------------------------------------------------------------ benchmarks


def _statements(analysis_json: Path) -> list[tuple[str, str]]:
    document = json.loads(analysis_json.read_text(encoding="utf-8"))
    return [
        (statement["sql"], statement["dialect"])
        for job in document["jobs"]
        for statement in job["statements"]
        if statement["parsed"]
    ]


def _mib(value: float) -> str:
    return f"{value / 1024 / 1024:,.0f} MiB"


def _statement_count(output: str) -> int:
    """Statements found, from the summary line `SQL parse rate: ... (parsed/all statements)`."""
    for line in output.splitlines():
        if line.startswith("SQL parse rate:"):
            return int(line.rsplit("/", 1)[1].split()[0])
    return 0


def throughput(
    report: Report, repo: Path, stats: synth.RepoStats, work: Path, jobs: int, sqlglotc: Path | None = None
) -> tuple[Measured, Path]:
    """B1: `kappa scan REPO` cold, on all CPUs, filling a fresh cache (the default command); with
    `sqlglotc`, the same under the compiled sqlglot (its cache is dropped afterwards)."""
    build = "" if sqlglotc is None else "sqlglotc: "
    cache = work / f"cache-{repo.name}" if sqlglotc is None else work / f"cache-{repo.name}-sqlglotc"
    env = None if sqlglotc is None else {**os.environ, "PYTHONPATH": str(sqlglotc)}
    shutil.rmtree(cache, ignore_errors=True)
    measured = kappa_scan(repo, "--jobs", str(jobs), "--cache-dir", str(cache), env=env)
    statements = _statement_count(measured.output)
    files = stats.dag_files + stats.sql_files + 3  # + the `common` package
    dags, seconds = stats.dag_files, measured.seconds
    report.add("B1", f"{build}{dags:,} DAGs cold, {jobs} workers", f"{seconds:.1f} s wall, {measured.cpu:.0f} CPU-s")
    report.add(
        "B1", f"{build}{dags:,} DAGs files/s", f"{files / seconds:,.1f} files/s ({dags / seconds:,.1f} DAG files/s)"
    )
    report.add(
        "B1",
        f"{build}{dags:,} DAGs statements/s",
        f"{statements / seconds:,.1f} statements/s, {stats.sql_bytes / 1024 / seconds:,.0f} KB of SQL/s",
    )
    if dags >= 10000:
        report.add("B1", f"{build}10k DAGs in under 2 min", f"{seconds:.0f} s", "< 120 s", seconds < 120)
    else:
        projected = seconds * 10000 / dags
        report.add("B1", f"{build}10k DAGs, projected linearly", f"{projected:.0f} s", "< 120 s", projected < 120)
    if sqlglotc is not None:
        shutil.rmtree(cache, ignore_errors=True)
    return measured, cache


def incremental(report: Report, repo: Path, cold: Measured, cache: Path, work: Path, jobs: int) -> Measured:
    """B5: the same scan again, unchanged, then after one DAG file changed."""
    warm = kappa_scan(repo, "--jobs", str(jobs), "--cache-dir", str(cache))
    share = warm.seconds / cold.seconds
    value = f"{warm.seconds:.1f} s / {cold.seconds:.1f} s = {share:.1%}"
    report.add("B5", "unchanged re-scan / cold scan", value, "<= 10%", share <= 0.10)
    dags = sorted((repo / "dags").glob("team_*/*.py"))
    victim = dags[len(dags) // 2]
    original = victim.read_text(encoding="utf-8")
    before = time.time()
    time.sleep(0.05)
    try:
        victim.write_text(original.replace('print("finished"', 'print("done"'), encoding="utf-8")
        changed = kappa_scan(repo, "--jobs", str(jobs), "--cache-dir", str(cache))
    finally:
        victim.write_text(original, encoding="utf-8")
    # the files' entries written again; the run's own entry is rewritten whenever anything changed
    rewritten = sum(1 for entry in cache.rglob("*.entry") if entry.stat().st_mtime > before and entry.name != RUN_ENTRY)
    value = f"{changed.seconds:.1f} s ({changed.seconds / cold.seconds:.1%} of cold)"
    report.add("B5", "one DAG file changed: re-scan time", value)
    report.add("B5", "one DAG file changed: files re-parsed", str(rewritten), "1", rewritten == 1)
    out = work / f"analysis-{repo.name}-warm.json"
    return kappa_scan(repo, "--jobs", str(jobs), "--cache-dir", str(cache), "--format", "json", "--out", str(out))


def memory(report: Report, measured: Measured, as_json: Measured | None, dags: int, build: str = "") -> None:
    """B6: peak RSS of the scanning process, of its workers, and their sum."""
    total = measured.peak_rss + sum(measured.worker_rss)
    workers = ", ".join(_mib(r) for r in measured.worker_rss) or "none"
    report.add("B6", f"{build}{dags:,} DAGs peak RSS, scanning process", _mib(measured.peak_rss))
    report.add("B6", f"{build}{dags:,} DAGs peak RSS, its other processes", workers)
    report.add("B6", f"{build}{dags:,} DAGs peak RSS, all processes", _mib(total), "< 1 GiB", total < GIB)
    if as_json is not None:
        report.add("B6", f"{dags:,} DAGs peak RSS with --format json (warm)", _mib(as_json.peak_rss))


def overhead(report: Report, repo: Path, work: Path, jobs: int, sqlglotc: Path | None) -> tuple[dict[str, float], Path]:
    """B2: scan time over a bare sqlglot.parse of the same statements (one process)."""
    out = work / f"analysis-{repo.name}-nocache.json"
    one = kappa_scan(repo, "--format", "json", "--out", str(out), "--jobs", "1", "--no-cache")
    statements = _statements(out)
    listing = work / f"statements-{repo.name}.json"
    listing.write_text(json.dumps(statements))
    bare = probe("bare-parse", str(listing))
    many = kappa_scan(repo, "--jobs", str(jobs), "--no-cache")
    bare_seconds = float(bare.probe["seconds"])  # type: ignore[arg-type]
    times = {"bare": bare_seconds, "one": one.seconds, "many": many.seconds}
    report.add(
        "B2", f"bare sqlglot.parse of {len(statements):,} statements", f"{bare_seconds:.1f} s ({bare.cpu:.1f} CPU-s)"
    )
    ratio = one.seconds / bare_seconds
    value = f"{one.seconds:.1f} s = {ratio:.2f} x bare (CPU: {one.cpu:.1f} s = {one.cpu / bare.cpu:.2f} x)"
    report.add("B2", "scan, 1 worker, no cache", value, "<= 1.3", ratio <= 1.3)
    ratio = many.seconds / bare_seconds
    value = f"{many.seconds:.1f} s = {ratio:.2f} x bare (CPU: {many.cpu:.1f} s over {jobs} workers)"
    report.add("B2", f"scan, {jobs} workers, no cache", value, "< 1.0", ratio < 1.0)
    report.add("B2", f"wall-time speed-up of {jobs} workers over 1", f"{one.seconds / many.seconds:.2f} x")
    # kappa tunes Python's garbage collector (analyzer.pipeline.tune_gc); a bare parse could too
    tuned = probe("bare-parse", str(listing), "--tuned-gc")
    tuned_seconds = float(tuned.probe["seconds"])  # type: ignore[arg-type]
    value = (
        f"{tuned_seconds:.1f} s; scan with 1 worker = {one.seconds / tuned_seconds:.2f} x it, "
        f"{jobs} workers = {many.seconds / tuned_seconds:.2f} x"
    )
    report.add("B2", "bare sqlglot.parse under kappa's GC settings", value)
    if sqlglotc is not None:
        env = {**os.environ, "PYTHONPATH": str(sqlglotc)}
        bare_c = probe("bare-parse", str(listing), env=env)
        many_c = kappa_scan(repo, "--jobs", str(jobs), "--no-cache", env=env)
        seconds_c = float(bare_c.probe["seconds"])  # type: ignore[arg-type]
        report.add("B2", "sqlglotc: bare parse", f"{seconds_c:.1f} s (compiled: {bool(bare_c.probe.get('compiled'))})")
        value = (
            f"{many_c.seconds:.1f} s = {many_c.seconds / seconds_c:.2f} x bare compiled, "
            f"{many_c.seconds / bare_seconds:.2f} x bare pure (CPU {many_c.cpu:.1f} s)"
        )
        report.add("B2", f"sqlglotc: scan, {jobs} workers", value)
        report.add("B2", "sqlglotc: scan speed-up (CPU)", f"{many.cpu / many_c.cpu:.2f} x")
    return times, out


def airflow(report: Report, repo: Path, scans: dict[str, float], warm: float, build: bool) -> None:
    """B3: Airflow's DagBag on the same DAG folder, against kappa's scans and its DAG stage."""
    python = ensure_peer("airflow", build, report)
    stage = probe("dag-stage", str(repo))
    stage_seconds = float(stage.probe["seconds"])  # type: ignore[arg-type]
    report.add("B3", f"kappa DAG stage only (no SQL), {stage.probe['dags']} DAGs", f"{stage_seconds:.1f} s")
    if python is None:
        return
    bag = run([str(python), str(HERE / "peers" / "dagbag_load.py"), str(repo / "dags")])
    fill = float(bag.probe["seconds"])  # type: ignore[arg-type]
    total = fill + float(bag.probe["import_seconds"])  # type: ignore[arg-type]
    value = f"{fill:.1f} s (+ {total - fill:.1f} s importing Airflow)"
    report.add("B3", f"DagBag fill, {bag.probe['dags']} DAGs, {bag.probe['import_errors']} errors", value)
    for label, seconds in (
        ("kappa DAG stage", stage_seconds),
        ("kappa scan, warm cache", warm),
        ("kappa scan, cold, all workers", scans["many"]),
    ):
        ratio = total / seconds
        report.add("B3", f"DagBag (with import) / {label}", f"{ratio:.2f} x", ">= 20", ratio >= 20)


def lineage(report: Report, repo: Path, analysis_json: Path, work: Path, count: int, build: bool) -> None:
    """B4: sqllineage against kappa's table lineage on the same statements."""
    python = ensure_peer("sqllineage", build, report)
    statements = _statements(analysis_json)
    picked = random.Random(8).sample(statements, min(count, len(statements)))
    listing = work / f"lineage-{repo.name}-{len(picked)}.json"
    listing.write_text(json.dumps(picked))
    ours = probe("lineage", str(listing))
    ours_seconds = float(ours.probe["seconds"])  # type: ignore[arg-type]
    size = sum(len(sql) for sql, _ in picked) / len(picked) / 1024
    report.add("B4", f"kappa lineage, {len(picked)} statements ({size:.1f} KB each)", f"{ours_seconds:.2f} s")
    if python is None:
        return
    peer = run([str(python), str(HERE / "peers" / "sqllineage_run.py"), str(listing)])
    seconds = float(peer.probe["seconds"])  # type: ignore[arg-type]
    report.add("B4", f"sqllineage, same statements ({peer.probe['failed']} refused)", f"{seconds:.2f} s")
    report.add("B4", "sqllineage / kappa", f"{seconds / ours_seconds:.1f} x", ">= 10", seconds / ours_seconds >= 10)


def generate_and_report(
    report: Report, repo: Path, dags: int, cache: Path, work: Path, jobs: int, sqlglotc: Path | None
) -> None:
    """G and R (no target in issue 8; kept to see the end of `kappa migrate` scale): `kappa
    generate` of the repository with its scan cached (the generation only: typing the tables,
    assembling the jobs), then `kappa report` of its output."""
    builds = [("Python", None)] + ([("sqlglotc", {**os.environ, "PYTHONPATH": str(sqlglotc)})] if sqlglotc else [])
    out = work / f"generate-{repo.name}"
    for build, env in builds:
        arguments = [
            "generate",
            str(repo),
            "--out",
            str(out),
            "--force",
            "--jobs",
            str(jobs),
            "--cache-dir",
            str(cache),
        ]
        measured = probe("kappa", *arguments, env=env)
        total = measured.peak_rss + sum(measured.worker_rss)
        written = next((line for line in measured.output.splitlines() if line.startswith("wrote ")), "")
        value = f"{measured.seconds:.1f} s wall, {measured.cpu:.0f} CPU-s, peak RSS {_mib(total)} all processes"
        report.add("G", f"{dags:,} DAGs, scan cached, {jobs} workers, {build}", f"{value} ({written})")
    shutil.rmtree(out / "report", ignore_errors=True)
    measured = probe("kappa", "report", str(out), "--timestamp", "2024-01-01T00:00:00Z", env=builds[-1][1])
    pages = sum(1 for _ in (out / "report").glob("*.html")) if (out / "report").is_dir() else 0
    size = (out / "report.html").stat().st_size / 1e6
    value = (
        f"{measured.seconds:.1f} s, peak RSS {_mib(measured.peak_rss)}, report.html {size:.1f} MB, {pages} DAG pages"
    )
    report.add("R", f"report of that output, {builds[-1][0]}", value)


def _flink_ready() -> str | None:
    try:
        metadata.version("apache-flink")
    except metadata.PackageNotFoundError:
        return "the flink extra is not installed"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java"
    return None


def jvm(report: Report, profile: Profile) -> None:
    """B7: bench_validate.py and bench_verify.py, their own figures."""
    missing = _flink_ready()
    if not profile.jvm or missing:
        report.note(f"B7 skipped: {missing or 'the quick run starts no JVM'} (python benchmarks/run.py --full)")
        return
    validate = subprocess.run(
        [sys.executable, str(HERE / "bench_validate.py"), "--repeat", str(profile.validate_repeat)],
        capture_output=True, text=True, cwd=PROJECT, check=False,
    )  # fmt: skip
    lines = {line.split()[0]: line for line in validate.stdout.splitlines() if line.strip()}
    if validate.returncode == 0 and "throughput" in lines:
        one = float(lines["throughput"].split()[1])
        report.add("B7", "validation, jobs/s in one JVM after start-up, one planner", f"{one:.1f} jobs/s")
        if "parallel" in lines:  # what `kappa validate` does: one planner thread per CPU, one JVM
            words = lines["parallel"].split()
            rate, planners = float(words[1]), words[4]
            label = f"validation, jobs/s in one JVM after start-up, {planners} planners"
            report.add("B7", label, f"{rate:.1f} jobs/s", ">= 15", rate >= 15)
        else:
            report.add("B7", "validation, jobs/s in one JVM after start-up", f"{one:.1f} jobs/s", ">= 15", one >= 15)
        report.add("B7", "validation, JVM start-up", " ".join(lines.get("JVM", "JVM + TableEnv ? s").split()[3:5]))
    else:
        report.note(f"B7 validation failed: {validate.stderr.strip()[-300:]}")
    verify = subprocess.run(
        [sys.executable, str(HERE / "bench_verify.py"), "--repeat", "1"],
        capture_output=True, text=True, cwd=PROJECT, check=False,
    )  # fmt: skip
    per_job = next((line for line in verify.stdout.splitlines() if line.startswith("per job")), None)
    if verify.returncode == 0 and per_job:
        report.add("B7", "verification per job", " ".join(per_job.split()[2:5]).rstrip(","))
    else:
        report.note(f"B7 verification failed: {verify.stderr.strip()[-300:]}")


# ------------------------------------------------------------------------------------ main


def machine() -> list[str]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return [
        f"cores (nproc): {cpus}; {model}",
        f"Python {platform.python_version()}, sqlglot {metadata.version('sqlglot')}, "
        f"kappa-migrate {metadata.version('kappa-migrate')}",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


def table(report: Report) -> str:
    lines = ["| | figure | value | target | met |", "|---|---|---|---|---|"]
    lines += [f"| {r.benchmark} | {r.figure} | {r.value} | {r.target} | {r.met} |" for r in report.rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_const", const="quick", dest="profile")
    mode.add_argument("--full", action="store_const", const="full", dest="profile")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "kappa-bench", help="repositories, caches"
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=None, help="workers for the parallel scans (default: all CPUs)")
    parser.add_argument("--build-peers", action="store_true", help="build the Airflow and sqllineage environments")
    parser.add_argument("--sqlglotc", action="store_true", help="also scan with the compiled sqlglot")
    parser.add_argument("--out", type=Path, help="write the table (Markdown) here too")
    parser.add_argument("--sizes", help="repository sizes in DAGs, comma-separated (B5 and B6 on the largest)")
    args = parser.parse_args()
    profile = PROFILES[args.profile]
    if args.sizes:
        sizes = tuple(int(size) for size in args.sizes.split(","))
        profile = replace(profile, sizes=sizes, compare_size=min(profile.compare_size, *sizes))
    jobs = args.jobs or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    args.work.mkdir(parents=True, exist_ok=True)
    report = Report()
    started = time.perf_counter()
    header = machine()
    print("\n".join(header), flush=True)
    build = profile.build_peers or args.build_peers
    sqlglotc = (
        ensure_sqlglotc(args.sqlglotc or profile.name == "full", report)
        if args.sqlglotc or profile.name == "full"
        else None
    )

    compare_repo, compare_stats = ensure_repo(args.work, profile.compare_size, args.seed)
    warm_seconds = 0.0
    for size in profile.sizes:
        repo, stats = ensure_repo(args.work, size, args.seed)
        print(f"B1 {size} DAGs", flush=True)
        cold, cache = throughput(report, repo, stats, args.work, jobs)
        if repo == compare_repo:
            warm_seconds = kappa_scan(repo, "--jobs", str(jobs), "--cache-dir", str(cache)).seconds
        if size == max(profile.sizes):
            print(f"B5, B6 {size} DAGs", flush=True)
            as_json = incremental(report, repo, cold, cache, args.work, jobs)
            memory(report, cold, as_json, size)
            if sqlglotc is not None:
                print(f"B1, B6 {size} DAGs, compiled sqlglot", flush=True)
                compiled, _ = throughput(report, repo, stats, args.work, jobs, sqlglotc)
                memory(report, compiled, None, size, "sqlglotc: ")
    print(f"B2 {profile.compare_size} DAGs", flush=True)
    scans, analysis_json = overhead(report, compare_repo, args.work, jobs, sqlglotc)
    print("B3", flush=True)
    airflow(report, compare_repo, scans, warm_seconds, build)
    print("B4", flush=True)
    lineage(report, compare_repo, analysis_json, args.work, profile.lineage_statements, build)
    print("B7", flush=True)
    jvm(report, profile)
    print(f"G, R {profile.compare_size} DAGs", flush=True)
    cache = args.work / f"cache-{compare_repo.name}"
    generate_and_report(report, compare_repo, compare_stats.dag_files, cache, args.work, jobs, sqlglotc)

    footer = [
        f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"repositories: {compare_stats.line()} (seed {args.seed}, under {args.work})",
        f"benchmarks took {time.perf_counter() - started:.0f} s",
    ]
    rerun = f"python benchmarks/run.py --{profile.name}" + (" --sqlglotc" if args.sqlglotc else "")
    rerun += f" --sizes {args.sizes}" if args.sizes else ""
    document = "\n".join(
        [*header, *footer, "", table(report), "", *(f"- {note}" for note in report.notes), "", f"rerun: {rerun}"]
    )
    print("\n" + document)
    if args.out is not None:
        args.out.write_text(document + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
