"""Shared fixtures: the sample repository and one scan of it per test session."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from analyzer.models import Analysis
from analyzer.pipeline import scan

PROJECT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT / "samples"
TESTS = PROJECT / "tests"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", help="rewrite golden files from the current output")


@pytest.fixture(scope="session")
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture(scope="session")
def samples_analysis() -> Analysis:
    return scan(SAMPLES)


@pytest.fixture(scope="session")
def flink_jvm() -> None:
    """pyflink's one JVM, started as kappa starts it (`generators.gateway.JVM_OPTIONS`) whichever
    test reaches pyflink first."""
    pytest.importorskip("pyflink")
    from generators.gateway import flink_gateway  # noqa: PLC0415 - pyflink is optional

    flink_gateway()


def write_tree(root: Path, files: dict[str, str], dirs: list[str] | None = None) -> Path:
    """Materialise a small repository described as data (path -> text)."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for relative in dirs or []:
        (root / relative).mkdir(parents=True, exist_ok=True)
    return root


def synthetic_repository(root: Path, dags: int, seed: int) -> Path:
    """The benchmarks' synthetic Airflow repository (`benchmarks/synth.py`), `dags` DAG files."""
    spec = importlib.util.spec_from_file_location("kappa_bench_synth", PROJECT / "benchmarks" / "synth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    module.generate(root, dags=dags, seed=seed)
    return root
