"""Timed probes that `run.py` starts in fresh processes, one measurement each.

    python benchmarks/probes.py scan REPO --format json --out a.json --jobs 2   # `kappa scan`, + peak RSS
    python benchmarks/probes.py bare-parse statements.json      # sqlglot.parse of the same statements
    python benchmarks/probes.py bare-parse statements.json --tuned-gc  # the same, with kappa's GC settings
    python benchmarks/probes.py dag-stage REPO                   # kappa's DAG stage only (what DagBag does)
    python benchmarks/probes.py lineage statements.json          # kappa's table lineage per statement
    python benchmarks/probes.py kappa generate REPO --out OUT    # any command, through the `kappa` entry point

Each prints one JSON line (`{"seconds": ..., ...}`) on stdout; `scan` prints it on stderr, after
the command's own output.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing


def _report(values: dict[str, object], stream: object = sys.stdout) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    values["self_max_rss_kb"] = usage.ru_maxrss
    values["self_cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print("KAPPA_PROBE " + json.dumps(values), file=stream, flush=True)  # type: ignore[call-overload]


def scan(arguments: list[str]) -> int:
    """`kappa scan ARGUMENTS`, exactly as the command line runs it, then its peak RSS."""
    return kappa(["scan", *arguments])


def kappa(arguments: list[str]) -> int:
    """`kappa ARGUMENTS` through the entry point, as installed (generate, verify and migrate load
    sqlglot's sources there when the compiled build is installed), then its peak RSS."""
    from analyzer.launch import main  # noqa: PLC0415 - nothing may import sqlglot before it

    started = time.perf_counter()
    sys.argv = ["kappa", *arguments]
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    _report({"seconds": time.perf_counter() - started, "exit": code}, sys.stderr)
    return code


def _statements(path: Path) -> list[tuple[str, str]]:
    return [(sql, dialect) for sql, dialect in json.loads(path.read_text(encoding="utf-8"))]


def bare_parse(path: Path, tuned_gc: bool = False) -> int:
    """`sqlglot.parse` of every statement, one process, nothing else (with `tuned_gc`, under the
    garbage-collector settings kappa's own processes use, `analyzer.pipeline.tune_gc`)."""
    import sqlglot  # noqa: PLC0415

    if tuned_gc:
        from analyzer.pipeline import tune_gc  # noqa: PLC0415 - only for this variant

        tune_gc()
    items = _statements(path)
    failed = 0
    started = time.perf_counter()
    for sql, dialect in items:
        try:
            sqlglot.parse(sql, read=dialect)
        except Exception:
            failed += 1
    seconds = time.perf_counter() - started
    compiled = sqlglot.parser.__file__ is not None and not sqlglot.parser.__file__.endswith(".py")
    _report({"seconds": seconds, "statements": len(items), "failed": failed, "compiled": compiled})
    return 0


def lineage(path: Path) -> int:
    """kappa's table lineage of each statement: split and parse it, then read its tables."""
    from analyzer.sql import analyze_statement, parse_statements  # noqa: PLC0415

    items = _statements(path)
    tables = 0
    started = time.perf_counter()
    for sql, dialect in items:
        statements, _ = parse_statements(sql, dialect, file="x.sql", line=1)
        for statement in statements:
            result = analyze_statement(statement)
            tables += len(result.reads) + len(result.writes)
    _report({"seconds": time.perf_counter() - started, "statements": len(items), "tables": tables})
    return 0


def dag_stage(root: Path) -> int:
    """Find every DAG and task without reading any SQL: discover, class index, interpret each file."""
    from analyzer.config import load_config  # noqa: PLC0415
    from analyzer.dags import ClassInfo, index_classes, parse_dag_file  # noqa: PLC0415
    from analyzer.discover import discover  # noqa: PLC0415
    from analyzer.pipeline import FileCache, load_module  # noqa: PLC0415

    started = time.perf_counter()
    root = root.resolve()
    inventory = discover(root)
    config, _ = load_config(root, None)
    files = FileCache(root)
    modules = [load_module(file, files) for file in inventory.python_files]
    classes: dict[str, ClassInfo] = {}
    for module in modules:
        if module.tree is not None:
            for name, info in index_classes(module.file, module.tree).items():
                classes.setdefault(name, info)
    dags = tasks = 0
    for module in modules:
        if module.tree is not None and module.might_contain_dag:
            result = parse_dag_file(module.file, module.tree, root, classes, config, files.read)
            dags += len(result.dags)
            tasks += sum(len(dag.tasks) for dag in result.dags)
    _report({"seconds": time.perf_counter() - started, "dags": dags, "tasks": tasks})
    return 0


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    command, argument = sys.argv[1], sys.argv[2]
    if command == "scan":
        return scan(sys.argv[2:])
    if command == "kappa":
        return kappa(sys.argv[2:])
    if command == "bare-parse":
        return bare_parse(Path(argument), tuned_gc="--tuned-gc" in sys.argv[3:])
    probes = {"lineage": lineage, "dag-stage": dag_stage}
    if command not in probes:
        print(f"unknown probe {command!r}", file=sys.stderr)
        return 2
    return probes[command](Path(argument))


if __name__ == "__main__":
    sys.exit(main())
