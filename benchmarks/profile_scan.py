"""Profile one scan and print where the time goes: pyinstrument's tree, or (`--stages`) the
seconds of each stage of the scan.

The scan runs in this process, with one worker and no cache (what `kappa scan --jobs 1
--no-cache` does), under the garbage-collector settings of the command line. Sampling makes it
about twice as slow, and slows sqlglot's many small calls more than the rest, so read shares of
the tree, not seconds; `--stages` times each stage's calls with the clock instead (a few
microseconds each), which is what B2's overhead over a bare `sqlglot.parse` is made of.

python benchmarks/profile_scan.py /tmp/repo-100
python benchmarks/profile_scan.py /tmp/repo-100 --html /tmp/profile.html
python benchmarks/profile_scan.py /tmp/repo-1000 --stages
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from analyzer.pipeline import scan, tune_gc  # noqa: E402

# (module, attribute: a function or Class.method, what the stage does), none called from another
STAGES = (
    ("analyzer.pipeline", "load_module", "DAG files read and parsed by ast"),
    ("analyzer.pipeline", "parse_dag_file", "DAG files interpreted (DAGs, tasks, operators)"),
    ("analyzer.pipeline", "find_secrets", "secrets looked for"),
    ("analyzer.pipeline", "extract_sql", "SQL found in each task"),
    ("analyzer.pipeline", "render_sql", "templates rendered (Jinja sandbox)"),
    ("analyzer.pipeline", "parse_statements", "SQL split and parsed (sqlglot: what B2 compares with)"),
    ("analyzer.pipeline", "statement_analyses", "statements analysed (qualify, scopes, facts)"),
    ("analyzer.pipeline", "FileScanner.scan_sql_file", ".sql files read for table definitions"),
    ("analyzer.pipeline", "freeze_kept", "cyclic garbage collected at each file's end"),
    ("analyzer.pipeline", "analyze", "rules, classification, lineage (repository-wide)"),
)


def _timed(function: Callable[..., Any], label: str, spent: Counter[str]) -> Callable[..., Any]:
    @wraps(function)
    def timed(*arguments: Any, **keywords: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*arguments, **keywords)
        finally:
            spent[label] += time.perf_counter() - started

    return timed


def stages(repo: Path) -> str:
    """The scan's seconds per stage, the rest, and the total, as a Markdown table."""
    spent: Counter[str] = Counter()
    for module_name, attribute, label in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        setattr(owner, name, _timed(getattr(owner, name), label, spent))
    started = time.perf_counter()
    analysis = scan(repo)
    total = time.perf_counter() - started
    rows = [(label, spent[label]) for _, _, label in STAGES]
    rows.append(("everything else", total - sum(spent.values())))
    lines = [f"{len(analysis.jobs)} jobs, one process, no cache", "", "| stage | seconds | share |", "|---|---|---|"]
    lines.extend(f"| {label} | {seconds:.2f} | {seconds / total:.1%} |" for label, seconds in rows)
    lines.append(f"| scan | {total:.2f} | 100% |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--html", type=Path, help="write pyinstrument's HTML page here")
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval in seconds")
    parser.add_argument("--stages", action="store_true", help="time each stage instead of sampling")
    args = parser.parse_args()
    tune_gc()  # as the command line does
    if args.stages:
        print(stages(args.repo))
        print(f"rerun: python benchmarks/profile_scan.py {args.repo} --stages")
        return 0
    from pyinstrument import Profiler  # noqa: PLC0415 - a dev tool, only needed here

    profiler = Profiler(interval=args.interval)
    with profiler:
        analysis = scan(args.repo)
    print(f"{len(analysis.jobs)} jobs", file=sys.stderr)
    if args.html is not None:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"rerun: python benchmarks/profile_scan.py {args.repo}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
