"""Every exception kappa raises on purpose derives from `KappaError` and survives pickling:
an exception raised in a worker process reaches the pool's owner pickled, and one that does not
round-trip turns into a TypeError there (or into the wrong fields, silently)."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest

from analyzer.errors import AirflowError, KappaError, UsageError
from analyzer.render import _IncludeRejected, _RenderAborted
from generators.flink_dialect import CompiledSqlglot
from generators.validate import PlannerUnavailable

# one instance of every KappaError class, with what it must keep
EXAMPLES: dict[type[KappaError], KappaError] = {
    KappaError: KappaError("something went wrong"),
    UsageError: UsageError("--jobs must be at least 1"),
    AirflowError: AirflowError("E082", "http://127.0.0.1:8080 refused the user and password (401)"),
    _RenderAborted: _RenderAborted("E008", "the template rendered more than 1,000,000 characters"),
    _IncludeRejected: _IncludeRejected("E007", "../secrets.sql", "the include resolves outside the repository"),
    PlannerUnavailable: PlannerUnavailable("pyflink is not installed"),
    CompiledSqlglot: CompiledSqlglot("the compiled sqlglot refuses the Flink dialect"),
}


def _every_module() -> None:
    """Import every module of both packages, so that every class defined anywhere is listed."""
    import analyzer  # noqa: PLC0415
    import generators  # noqa: PLC0415

    for package in (analyzer, generators):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def _all_subclasses(root: type[KappaError]) -> set[type[KappaError]]:
    found = {root}
    for child in root.__subclasses__():
        found |= _all_subclasses(child)
    return found


def test_every_exception_class_has_an_example() -> None:
    _every_module()
    assert _all_subclasses(KappaError) == set(EXAMPLES)


@pytest.mark.parametrize("error", EXAMPLES.values(), ids=[kind.__name__ for kind in EXAMPLES])
def test_an_exception_survives_pickling(error: KappaError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)
