"""The adversarial corpus (`tests/adversarial/cases.yml`): every attack ends as its finding, the scan
stays within its time and memory limits, no payload runs, and `kappa generate` on the corpus
writes only safe, unique names inside its output folder, the same bytes twice."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from analyzer.cli import app

from .conftest import PROJECT, TESTS

CORPUS = TESTS / "adversarial"
CASES: list[dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yml").read_text(encoding="utf-8"))
SCAN_SECONDS = 240  # the whole corpus, on a loaded 2-core machine; most of it is the 5 MB literal
MEMORY_LIMIT = 3 * 1024**3  # address space of the scanning process (RLIMIT_AS)
PEAK_RSS = 1536 * 1024**2  # what the scan may actually hold at its peak
runner = CliRunner()

# ------------------------------------------------------------------ inputs made at test time

DAG_HEAD = "from airflow import DAG\nfrom airflow.providers.postgres.operators.postgres import PostgresOperator\n"


def _dag(dag_id: str, sql_expression: str) -> str:
    return DAG_HEAD + (
        f"with DAG({dag_id!r}, schedule=None) as dag:\n"
        f"    PostgresOperator(task_id='t', postgres_conn_id='shop_pg', sql={sql_expression})\n"
    )


def huge_python_file(path: Path) -> None:
    with path.open("wb") as handle:  # sparse: 50 MB on paper, nothing on disk
        handle.write(b"from airflow import DAG\n# " + b"x" * 1000 + b"\n")
        handle.truncate(50 * 1024 * 1024)


def huge_sql_file(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b"SELECT 1;\n")
        handle.truncate(50 * 1024 * 1024)


def binary_file(path: Path) -> None:
    path.write_bytes(b"from airflow import DAG\x00\x01\x02\xff\xfe" + bytes(range(256)) * 16)


def latin1_file(path: Path) -> None:
    path.write_bytes(_dag("adv_latin1", "'SELECT 1 -- caf\xe9'").encode("latin-1"))


def file_symlink_loop(path: Path) -> None:
    os.symlink(path.name, path)


def directory_symlink_loop(path: Path) -> None:
    os.symlink(".", path)


def file_symlink_outside(path: Path) -> None:
    os.symlink("/etc/hostname", path)


def directory_symlink_outside(path: Path) -> None:
    os.symlink("/etc", path)


def fifo_file(path: Path) -> None:
    os.mkfifo(path)


def deep_python_parentheses(path: Path) -> None:
    path.write_text(DAG_HEAD + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n")


def deep_python_unary(path: Path) -> None:
    path.write_text(DAG_HEAD + "x = " + "-" * 200_000 + "1\n" + _dag("adv_deep_unary", "'SELECT 1'"))


def deep_python_attributes(path: Path) -> None:
    path.write_text(DAG_HEAD + "x = a" + ".b" * 100_000 + "\n" + _dag("adv_deep_attributes", "'SELECT ' + x"))


def deep_sql(path: Path) -> None:
    sql = "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " AS x"
    path.write_text(_dag("adv_deep_sql", repr(sql)))


def deep_jinja(path: Path) -> None:
    path.write_text("{% if ds %}" * 2000 + "SELECT 1 AS x" + "{% endif %}" * 2000 + "\n")


def huge_sql_literal(path: Path) -> None:
    sql = "SELECT '" + "x" * 4_800_000 + "' AS x"
    path.write_text(_dag("adv_huge_literal", repr(sql)))


def huge_include(path: Path) -> None:
    (path.parent / "huge_included.txt").write_text("-- " + "x" * 6_000_000 + "\n")
    path.write_text("SELECT 1 AS x\n{% include 'sql/huge_included.txt' %}\n")


def include_symlink_outside(path: Path) -> None:
    os.symlink("/etc/hostname", path.parent / "hostname_link.txt")
    path.write_text("SELECT 1 AS x -- {% include 'sql/hostname_link.txt' %}\n")


MAKERS: dict[str, Callable[[Path], None]] = {
    function.__name__: function
    for function in (
        huge_python_file,
        huge_sql_file,
        binary_file,
        latin1_file,
        file_symlink_loop,
        directory_symlink_loop,
        file_symlink_outside,
        directory_symlink_outside,
        fifo_file,
        deep_python_parentheses,
        deep_python_unary,
        deep_python_attributes,
        deep_sql,
        deep_jinja,
        huge_sql_literal,
        huge_include,
        include_symlink_outside,
    )
}


def build_corpus(root: Path) -> Path:
    """The corpus as a repository, with every `make:` input created."""
    shutil.copytree(CORPUS, root, symlinks=True, ignore=shutil.ignore_patterns("cases.yml"))
    for case in CASES:
        if "make" in case:
            MAKERS[case["make"]](root / case["file"])
    return root


# ------------------------------------------------------------------ one bounded scan of it all

SCAN = """
import resource, sys
from analyzer.cli import main
sys.argv = ["kappa", "scan", sys.argv[1], "--format", "json", "--out", sys.argv[2], "--no-cache", "--jobs", "1"]
try:
    main()
finally:
    print(f"peak-rss-kib {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _markers() -> list[Path]:
    return [Path(marker) for case in CASES for marker in case.get("markers", [])]


@pytest.fixture(scope="module")
def corpus_scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    for marker in _markers():
        marker.unlink(missing_ok=True)
    folder = tmp_path_factory.mktemp("adversarial")
    root = build_corpus(folder / "repo")
    out = folder / "analysis.json"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", SCAN, str(root), str(out)],
        cwd=PROJECT,
        preexec_fn=_limit_memory,  # noqa: PLW1509 - only setrlimit, in the child before exec
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "KAPPA_ADVERSARIAL_IMPORTED": ""},
    )
    try:
        _, stderr = process.communicate(timeout=SCAN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"the scan of the adversarial corpus took over {SCAN_SECONDS} s")
    elapsed = time.monotonic() - started
    errors = stderr.decode(errors="replace")
    assert process.returncode == 0, errors[-3000:]
    document: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    peak = [line for line in errors.splitlines() if line.startswith("peak-rss-kib ")]
    document["_elapsed"], document["_peak"] = elapsed, int(peak[-1].split()[1]) * 1024
    return document


def _codes_by_file(document: dict[str, Any]) -> dict[str, set[str]]:
    codes: dict[str, set[str]] = defaultdict(set)
    for finding in [*document["findings"], *(f for job in document["jobs"] for f in job["findings"])]:
        codes[finding["file"]].add(finding["code"])
    return codes


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_each_attack_gives_its_finding(corpus_scan: dict[str, Any], case: dict[str, Any]) -> None:
    found = _codes_by_file(corpus_scan)[case["file"]]
    assert set(case["expect"]) <= found, f"{case['file']}: expected {case['expect']}, found {sorted(found)}"


def test_no_payload_ran(corpus_scan: dict[str, Any]) -> None:
    assert not [marker for marker in _markers() if marker.exists()]
    assert "KAPPA_ADVERSARIAL_IMPORTED" not in os.environ or not os.environ["KAPPA_ADVERSARIAL_IMPORTED"]


def test_every_case_is_a_file_of_the_corpus() -> None:
    committed = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()} - {"cases.yml"}
    listed = {case["file"] for case in CASES}
    made = {case["file"] for case in CASES if "make" in case}
    assert listed - made <= committed, sorted((listed - made) - committed)
    assert made.isdisjoint(committed), sorted(made & committed)
    assert set(MAKERS) == {case["make"] for case in CASES if "make" in case}


def test_findings_stay_inside_the_root(corpus_scan: dict[str, Any]) -> None:
    for finding in [*corpus_scan["findings"], *(f for job in corpus_scan["jobs"] for f in job["findings"])]:
        assert not finding["file"].startswith("/") and ".." not in finding["file"].split("/"), finding
        assert finding["line"] >= 1 and finding["col"] >= 1


def test_the_scan_is_bounded(corpus_scan: dict[str, Any]) -> None:
    # it ran under RLIMIT_AS and a timeout; this is what it actually needed
    assert corpus_scan["_elapsed"] < SCAN_SECONDS
    assert corpus_scan["_peak"] < PEAK_RSS, f"peak RSS {corpus_scan['_peak'] / 1024**2:.0f} MiB"


# ------------------------------------------------------------------ safe outputs


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_hostile_ids_become_safe_unique_names_inside_the_output(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "dags"
    root.mkdir(parents=True)
    shutil.copy(CORPUS / "dags" / "hostile_ids.py", root)
    outputs = []
    for run in ("first", "second"):
        out = tmp_path / run
        result = runner.invoke(app, ["generate", str(root.parent), "--out", str(out)])
        assert result.exit_code == 0, result.output
        outputs.append(out)
    document = json.loads((outputs[0] / "analysis.json").read_text(encoding="utf-8"))
    paths = [job["generated"]["path"] for job in document["jobs"] if job["generated"]["path"]]
    assert len(paths) == 14, paths  # every task got a job file
    assert len({p.casefold() for p in paths}) == len(paths)  # unique, even where case is ignored
    for path in paths:
        parts = path.split("/")
        assert parts[0] == "jobs" and all(part not in ("", ".", "..") for part in parts), path
        assert all(len(part.encode()) <= 100 and part.isascii() and "\x00" not in part for part in parts), path
        assert all(part.split(".", 1)[0].upper() not in {"CON", "NUL", "PRN", "AUX"} for part in parts), path
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(tmp_path / "repo" in p.parents or any(o in p.parents for o in outputs) for p in written)
    assert not Path("/tmp/kappa-adversarial-escape").exists()
    assert _tree(outputs[0]) == _tree(outputs[1])  # the same bytes twice


def test_repository_text_cannot_add_statements_to_a_generated_job(tmp_path: Path) -> None:
    root = tmp_path / "repo" / "dags"
    root.mkdir(parents=True)
    shutil.copy(CORPUS / "dags" / "output_injection.py", root)
    out = tmp_path / "out"
    result = runner.invoke(app, ["generate", str(root.parent), "--out", str(out)])
    assert result.exit_code == 0, result.output
    jobs = list(out.rglob("*.sql"))
    assert jobs
    for job in jobs:
        text = job.read_text(encoding="utf-8")
        # outside quoted strings, backquoted names and comments: nothing the repository wrote
        code = re.sub(r"'(?:[^']|'')*'|`(?:[^`]|``)*`|--[^\n]*", " ", text)
        assert not re.search(r"\bDROP\s+TABLE\b", code, re.IGNORECASE), text
        names = re.findall(r"`(?:[^`]|``)*`", text)
        assert all("\n" not in name for name in names), names
