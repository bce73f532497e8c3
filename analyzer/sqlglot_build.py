"""Which sqlglot a kappa process runs: the compiled build (the `sqlglotc` package) or its sources.

sqlglotc installs mypyc-compiled modules beside sqlglot's Python sources, and Python imports a
compiled module before a source file of the same name. The scan gains from it (about half the
CPU), but mypyc refuses to instantiate a Python subclass of a compiled class (tobymao/sqlglot#7923,
by design), and kappa's Flink dialect is made of such subclasses. So a command that writes or
reads Flink SQL imports sqlglot from its sources in its own process (`prefer_sqlglot_sources`,
before anything imports sqlglot), while its scan's worker processes, started fresh, still run
the compiled build. Both builds are the same sources: the same results, byte for byte
(tests/test_compiled_sqlglot.py).

Nothing here imports sqlglot: the choice has to be made before it is imported.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec, PathFinder
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

_PACKAGE = "sqlglot"


def _package_folders() -> tuple[Path, ...]:
    """Where the sqlglot package would be imported from, found without importing it."""
    spec = PathFinder.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return ()
    return tuple(Path(folder) for folder in spec.submodule_search_locations)


def compiled_sqlglot_installed() -> bool:
    """Whether importing sqlglot's parser would load a compiled module (sqlglotc is installed)."""
    return any((folder / f"parser{suffix}").is_file() for folder in _package_folders() for suffix in EXTENSION_SUFFIXES)


def _sources_present() -> bool:
    return any((folder / "parser.py").is_file() for folder in _package_folders())


class _SqlglotSources(MetaPathFinder):
    """Finds sqlglot's modules as their source files, never as the compiled extension modules
    installed beside them; every other module is left to the usual finders."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != _PACKAGE and not fullname.startswith(f"{_PACKAGE}."):
            return None
        name = fullname.rpartition(".")[2]
        for folder in map(Path, sys.path if path is None else path):
            package = folder / name / "__init__.py"
            if package.is_file():
                return spec_from_file_location(fullname, package, submodule_search_locations=[str(package.parent)])
            module = folder / f"{name}.py"
            if module.is_file():
                return spec_from_file_location(fullname, module)
        return None


def prefer_sqlglot_sources() -> bool:
    """Make this process import sqlglot from its Python sources when the compiled build is
    installed beside them. Returns whether sqlglot will come from its sources because of it;
    False when sqlglot is already imported (too late to choose), not compiled, or has no sources."""
    if any(isinstance(finder, _SqlglotSources) for finder in sys.meta_path):
        return True
    if _PACKAGE in sys.modules or not compiled_sqlglot_installed() or not _sources_present():
        return False
    sys.meta_path.insert(0, _SqlglotSources())
    return True


def loaded_build() -> str:
    """The sqlglot build this process has imported, "compiled" or "Python" (importing it)."""
    import sqlglot.parser  # noqa: PLC0415 - only once the build has been chosen

    return "Python" if (sqlglot.parser.__file__ or "").endswith(".py") else "compiled"
