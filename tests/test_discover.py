"""Bad files are findings with a code and a line, and never stop the scan."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from analyzer.discover import MAX_FILE_BYTES
from analyzer.pipeline import scan

GOOD_DAG = """
from airflow import DAG
from airflow.providers.postgres.operators.postgres import PostgresOperator
with DAG("good", schedule=None) as dag:
    PostgresOperator(task_id="q", sql="SELECT 1")
"""


def binary(root: Path) -> None:
    (root / "dags" / "blob.py").write_bytes(b"import airflow\x00\x01\x02DAG")


def latin1(root: Path) -> None:
    (root / "dags" / "latin.py").write_bytes(b"from airflow import DAG\n# caf\xe9\n")


def huge(root: Path) -> None:
    (root / "dags" / "huge.py").write_bytes(b"# DAG\n" + b"x = 1\n" * (MAX_FILE_BYTES // 6 + 10))


def syntax_error(root: Path) -> None:
    (root / "dags" / "broken.py").write_text("from airflow import DAG\n\nwith DAG('x') as d\n    pass\n")


def directory_loop(root: Path) -> None:
    os.symlink(root / "dags", root / "dags" / "loop")


def link_outside(root: Path) -> None:
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("from airflow import DAG\n")
    os.symlink(outside, root / "dags" / "external")


def file_link_outside(root: Path) -> None:
    (root.parent / "elsewhere.sql").write_text("SELECT 1")
    os.symlink(root.parent / "elsewhere.sql", root / "dags" / "elsewhere.sql")


def broken_link(root: Path) -> None:
    os.symlink(root / "missing.py", root / "dags" / "dangling.py")


CASES: list[tuple[Callable[[Path], None], str, str, int]] = [
    (binary, "E004", "dags/blob.py", 1),
    (latin1, "E002", "dags/latin.py", 2),
    (huge, "E005", "dags/huge.py", 1),
    (syntax_error, "E001", "dags/broken.py", 3),
    (directory_loop, "E006", "dags/loop", 1),
    (link_outside, "E007", "dags/external", 1),
    (file_link_outside, "E007", "dags/elsewhere.sql", 1),
    (broken_link, "E006", "dags/dangling.py", 1),
]


@pytest.mark.parametrize(("make", "code", "file", "line"), CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_is_a_finding(make: Callable[[Path], None], code: str, file: str, line: int, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "good.py").write_text(GOOD_DAG)
    make(root)
    analysis = scan(root)
    assert (code, file, line) in {(f.code, f.file, f.line) for f in analysis.findings}, analysis.findings
    # the good DAG next to the bad file is still scanned
    assert [job.id for job in analysis.jobs] == ["good.q"]
    assert all(not f.file.startswith("/") and ".." not in f.file for f in analysis.findings)
