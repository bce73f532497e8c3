"""Choosing the sqlglot build without importing it (`analyzer.sqlglot_build`), on stand-in
installations: the real compiled build is exercised by tests/test_compiled_sqlglot.py."""

from __future__ import annotations

import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from analyzer import sqlglot_build

from .conftest import write_tree

COMPILED_SUFFIX = EXTENSION_SUFFIXES[0]


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sqlglot installation of sources only, first on sys.path."""
    root = write_tree(
        tmp_path / "site",
        {"sqlglot/__init__.py": "", "sqlglot/parser.py": "", "sqlglot/dialects/__init__.py": ""},
    )
    monkeypatch.setattr(sys, "path", [str(root), *sys.path])
    return root


def test_sources_alone_are_not_the_compiled_build(installed: Path) -> None:
    assert not sqlglot_build.compiled_sqlglot_installed()


def test_a_compiled_parser_beside_the_sources_is(installed: Path) -> None:
    (installed / "sqlglot" / f"parser{COMPILED_SUFFIX}").write_bytes(b"")
    assert sqlglot_build.compiled_sqlglot_installed()


def test_the_finder_gives_sources_where_compiled_modules_sit_beside_them(installed: Path) -> None:
    for name in ("parser", "dialects/__init__"):
        (installed / "sqlglot" / f"{name}{COMPILED_SUFFIX}").write_bytes(b"")
    finder = sqlglot_build._SqlglotSources()
    package = finder.find_spec("sqlglot", None)
    assert package is not None and package.origin == str(installed / "sqlglot" / "__init__.py")
    assert package.submodule_search_locations == [str(installed / "sqlglot")]
    parser = finder.find_spec("sqlglot.parser", [str(installed / "sqlglot")])
    assert parser is not None and parser.origin == str(installed / "sqlglot" / "parser.py")
    dialects = finder.find_spec("sqlglot.dialects", [str(installed / "sqlglot")])
    assert dialects is not None and dialects.origin == str(installed / "sqlglot" / "dialects" / "__init__.py")
    assert finder.find_spec("sqlglot.missing", [str(installed / "sqlglot")]) is None
    assert finder.find_spec("sqlglotrs", None) is None  # not sqlglot: left to the usual finders
    assert finder.find_spec("jinja2", None) is None


def test_too_late_once_sqlglot_is_imported(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (installed / "sqlglot" / f"parser{COMPILED_SUFFIX}").write_bytes(b"")
    before = list(sys.meta_path)
    monkeypatch.setattr(sys, "meta_path", list(before))
    assert "sqlglot" in sys.modules
    assert not sqlglot_build.prefer_sqlglot_sources()
    assert sys.meta_path == before
    monkeypatch.delitem(sys.modules, "sqlglot")
    assert sqlglot_build.prefer_sqlglot_sources()
    assert isinstance(sys.meta_path[0], sqlglot_build._SqlglotSources)
    assert sqlglot_build.prefer_sqlglot_sources()  # once only
    assert sum(isinstance(finder, sqlglot_build._SqlglotSources) for finder in sys.meta_path) == 1


def test_this_process_runs_the_python_build() -> None:
    assert sqlglot_build.loaded_build() == "Python"
