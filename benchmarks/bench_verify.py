"""Benchmark `kappa verify`: JVM start-up, the DuckDB batch replay, then time per verified job.

Scans and generates the sample repository, starts one `StreamRunner` (one JVM) and verifies every
generated job over `samples/data` `--repeat` times after one warm-up pass (the first Flink job of
a process pays for class loading and the mini-cluster's code generation). A job's time is its
batch statements (the jobs that write its table, replayed in DuckDB) plus its Flink run.

    python benchmarks/bench_verify.py --repeat 2
    python benchmarks/bench_verify.py --repeat 1 --only bq_marts_daily.build_daily_revenue
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from analyzer.pipeline import scan  # noqa: E402
from analyzer.render import render_sql  # noqa: E402
from generators.config import load_generate_config  # noqa: E402
from generators.flink import catalog_for, generate  # noqa: E402
from generators.verify import Equivalence, StreamRunner, Warehouse, run_batch, verify_jobs  # noqa: E402


def _percentile(values: list[float], share: float) -> float:
    return sorted(values)[int(share * (len(values) - 1))]


def run(repo: Path, data: Path, repeat: int, only: list[str] | None, budget: float, rerun: str) -> int:
    analysis = scan(repo)
    catalog = catalog_for(analysis, analysis.extra.get("schemas") or {}, {})
    generated = generate(analysis, catalog, load_generate_config(repo.resolve(), None))

    warehouse = Warehouse(analysis.extra.get("schemas") or {})
    replay_start = time.perf_counter()
    for path in sorted(data.glob("*.csv")):
        warehouse.load_csv(path.stem.lower(), path)
    loaded = time.perf_counter()
    batch = run_batch(analysis, warehouse, render_sql, budget)
    replayed = time.perf_counter()
    warehouse.close()
    print(f"load CSVs (DuckDB)   {loaded - replay_start:6.2f} s  ({len(list(data.glob('*.csv')))} tables)")
    print(
        f"batch replay         {replayed - loaded:6.2f} s  ({len(batch.ran)} jobs over {len(batch.days)} days, "
        f"{len(batch.errors)} failed)"
    )

    started = time.perf_counter()
    runner = StreamRunner()
    ready = time.perf_counter()
    print(f"JVM + TableEnv       {ready - started:6.2f} s")

    per_job: list[Equivalence] = []
    first_pass = 0.0
    with runner:
        for round_number in range(repeat + 1):
            round_start = time.perf_counter()
            verdicts = verify_jobs(
                analysis, generated, data, runner, render=render_sql, budget_seconds=budget, only=only
            )
            if round_number:  # round 0 is the warm-up
                per_job.extend(verdicts)
            else:
                first_pass = time.perf_counter() - round_start
                warm_up = verdicts
    if not per_job:
        print("no generated job to verify", file=sys.stderr)
        return 2
    seconds = [v.seconds for v in per_job]
    counts = Counter(v.status for v in warm_up)
    print(f"first pass (warm-up) {first_pass:6.2f} s for {len(warm_up)} jobs ({first_pass / len(warm_up):.2f} s/job)")
    print(f"verdicts             {dict(counts)}")
    print(
        f"per job              mean {statistics.mean(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
        f"p95 {_percentile(seconds, 0.95):.2f} s, max {max(seconds):.2f} s  ({len(per_job)} timed runs)"
    )
    slowest: dict[str, float] = {}
    for verdict in per_job:
        slowest[verdict.job_id] = max(slowest.get(verdict.job_id, 0.0), verdict.seconds)
    print("slowest jobs:")
    for job_id, value in sorted(slowest.items(), key=lambda item: -item[1])[:5]:
        status = next(v.status for v in warm_up if v.job_id == job_id)
        print(f"  {value:6.2f} s  {status:9} {job_id}")
    print(f"end to end           {ready - started + first_pass:.1f} s to verify the set once from a cold start")
    print(f"\nrerun: {rerun}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=PROJECT / "samples", help="Airflow repository (default: samples)")
    parser.add_argument("--data", type=Path, help="folder of <table>.csv files (default: REPO/data)")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes over the job set (after one warm-up)")
    parser.add_argument("--only", action="append", help="verify only this job id (repeatable)")
    parser.add_argument("--budget", type=float, default=120.0, help="time budget per job and side, in seconds")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    repo = args.repo.resolve()
    data = (args.data or repo / "data").resolve()
    rerun = f"python benchmarks/bench_verify.py --repeat {args.repeat}"
    if args.repo != PROJECT / "samples":
        rerun += f" --repo {args.repo}"
    if args.data is not None:
        rerun += f" --data {args.data}"
    rerun += "".join(f" --only {job}" for job in args.only or [])
    return run(repo, data, args.repeat, args.only, args.budget, rerun)


if __name__ == "__main__":
    sys.exit(main())
