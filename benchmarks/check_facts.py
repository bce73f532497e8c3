"""Check that the scan's statement analysis gives each statement the facts full qualification gives.

The analysis runs sqlglot's `qualify` on a statement only when its facts can depend on it: a join
whose keys need their columns resolved (`analyzer.sql._join_keys_need_columns`) or a table name
that may name a CTE once case is ignored (`_names_need_normalizing`); otherwise it reads the
written tree, which is several times cheaper. This analyses every parsed statement of a scan's
analysis.json both ways and lists those whose facts differ. Run it after upgrading sqlglot or
after changing either test; it exits 1 when any statement differs.

    kappa scan REPO --format json --out /tmp/analysis.json
    python benchmarks/check_facts.py /tmp/analysis.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from analyzer import sql  # noqa: E402
from analyzer.sql import StatementAnalysis  # noqa: E402


def statements(analysis_json: Path) -> list[tuple[str, str]]:
    """The distinct parsed statements of an analysis.json, with their dialects, in order."""
    document = json.loads(analysis_json.read_text(encoding="utf-8"))
    found = {
        (statement["sql"], statement["dialect"]): None
        for job in document["jobs"]
        for statement in job["statements"]
        if statement["parsed"]
    }
    return list(found)


def facts(text: str, dialect: str) -> StatementAnalysis | None:
    try:
        tree = sql._parse(text, dialect)
    except Exception:  # parsed by the scan, not now: nothing to compare
        return None
    return sql._analyze(tree, text, dialect, {})


def fully_qualified(text: str, dialect: str) -> StatementAnalysis | None:
    """`facts` with every statement qualified (columns too), as before the shortcut."""
    always: Callable[[object], bool] = lambda _nodes: True  # noqa: E731
    saved = sql._join_keys_need_columns
    sql._join_keys_need_columns = always  # type: ignore[assignment]
    try:
        return facts(text, dialect)
    finally:
        sql._join_keys_need_columns = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("analysis", type=Path, help="an analysis.json from `kappa scan --format json`")
    parser.add_argument("--show", type=int, default=5, help="differing statements to print")
    args = parser.parse_args()
    items = statements(args.analysis)
    started = time.perf_counter()
    differing: list[tuple[str, str, list[str]]] = []
    for text, dialect in items:
        shortcut, reference = facts(text, dialect), fully_qualified(text, dialect)
        if shortcut is None or reference is None or shortcut == reference:
            continue
        fields = [
            f.name for f in dataclasses.fields(reference) if getattr(shortcut, f.name) != getattr(reference, f.name)
        ]
        differing.append((text, dialect, fields))
    seconds = time.perf_counter() - started
    print(f"{len(items):,} statements, {len(differing)} with other facts than fully qualified ({seconds:.1f} s)")
    for text, dialect, fields in differing[: args.show]:
        print(f"\n[{dialect}] differs in {', '.join(fields)}:\n{text[:600]}")
    print(f"\nrerun: python benchmarks/check_facts.py {args.analysis}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
