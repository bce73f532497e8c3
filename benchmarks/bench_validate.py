"""Benchmark `kappa validate`: JVM start-up, then planning time per generated job.

Generates the sample repository's jobs (or takes a `kappa generate` output folder), starts one
`FlinkPlanner` and validates the whole set `--repeat` times: time per job, one planner. The first
pass is reported on its own: it pays for the planner's class loading and code generation once.
Then, in the same JVM, a `PlannerPool` of `--planners` planners (one thread each; `kappa validate`
starts one per CPU) validates the set `--repeat` times after one warm-up pass: its jobs/s.

    python benchmarks/bench_validate.py --repeat 5
    python benchmarks/bench_validate.py --jobs /tmp/gen --repeat 3 --planners 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from analyzer.pipeline import available_cpus, scan  # noqa: E402
from generators.config import load_generate_config  # noqa: E402
from generators.flink import GENERATED, catalog_for, generate  # noqa: E402
from generators.validate import FlinkPlanner, PlannerPool, Validation, job_files  # noqa: E402


def generate_samples(out: Path) -> None:
    samples = PROJECT / "samples"
    analysis = scan(samples)
    catalog = catalog_for(analysis, analysis.extra.get("schemas") or {}, {})
    for result in generate(analysis, catalog, load_generate_config(samples.resolve(), None)):
        if result.status == GENERATED and result.path and result.sql:
            (out / result.path).parent.mkdir(parents=True, exist_ok=True)
            (out / result.path).write_text(result.sql, encoding="utf-8")


def run(jobs_dir: Path, repeat: int, planners: int, rerun: str) -> int:
    files = job_files(jobs_dir)
    if not files:
        print(f"no jobs/**/job.sql under {jobs_dir}", file=sys.stderr)
        return 2
    texts = [(path.read_text(encoding="utf-8"), path.relative_to(jobs_dir).as_posix()) for path in files]

    started = time.perf_counter()
    import pyflink.table  # noqa: F401, PLC0415 - timed on its own: the import is part of start-up

    imported = time.perf_counter()
    planner = FlinkPlanner()
    ready = time.perf_counter()
    print(f"pyflink import      {imported - started:6.2f} s")
    print(f"JVM + TableEnv      {ready - imported:6.2f} s")

    per_job: list[float] = []
    first_pass = 0.0
    results: list[Validation] = []
    with planner:
        for round_number in range(repeat + 1):
            round_start = time.perf_counter()
            for text, name in texts:
                job_start = time.perf_counter()
                result = planner.validate(text, name)
                if round_number:  # round 0 is the warm-up
                    per_job.append(time.perf_counter() - job_start)
                    results.append(result)
            if not round_number:
                first_pass = time.perf_counter() - round_start
    statuses = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "skipped")}
    total = sum(per_job)
    print(f"first pass (warm-up) {first_pass:6.2f} s for {len(texts)} jobs ({first_pass / len(texts):.3f} s/job)")
    print(f"jobs                 {len(texts)} x {repeat} = {len(per_job)}  ({statuses})")
    print(
        f"per job              mean {statistics.mean(per_job) * 1000:.0f} ms, "
        f"median {statistics.median(per_job) * 1000:.0f} ms, "
        f"p95 {sorted(per_job)[int(0.95 * (len(per_job) - 1))] * 1000:.0f} ms, "
        f"max {max(per_job) * 1000:.0f} ms"
    )
    print(f"throughput           {len(per_job) / total:.1f} jobs/s (warm, one planner)")
    print(f"end to end           {ready - started + first_pass:.1f} s to validate the set once from a cold start")
    if planners > 1:
        with PlannerPool(workers=planners) as pool:
            list(pool.validate_all(texts))  # warm-up: the other planners are built in their threads
            pool_start = time.perf_counter()
            pooled = [result for _ in range(repeat) for result in pool.validate_all(texts)]
            pool_seconds = time.perf_counter() - pool_start
        if pooled != results:
            print("the planners' results differ from one planner's", file=sys.stderr)
            return 1
        print(f"parallel             {len(pooled) / pool_seconds:.1f} jobs/s (warm, {planners} planners, one JVM)")
    print(f"\nrerun: {rerun}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=Path, help="a `kappa generate` output folder (default: generate the samples)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the job set (after one warm-up)")
    parser.add_argument("--planners", type=int, default=available_cpus(), help="planner threads (default: CPUs)")
    args = parser.parse_args()
    if args.repeat < 1 or args.planners < 1:
        parser.error("--repeat and --planners must be at least 1")
    rerun = f"python benchmarks/bench_validate.py --repeat {args.repeat} --planners {args.planners}"
    if args.jobs is not None:
        return run(args.jobs.resolve(), args.repeat, args.planners, f"{rerun} --jobs {args.jobs}")
    with tempfile.TemporaryDirectory(prefix="kappa-bench-") as folder:
        generate_samples(Path(folder))
        return run(Path(folder), args.repeat, args.planners, rerun)


if __name__ == "__main__":
    sys.exit(main())
