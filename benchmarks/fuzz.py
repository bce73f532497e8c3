"""A long fuzzing run of the whole scan (and generate): the CI fuzz tests' inputs, many more of them.

Each kind of input (tests/fuzzing.py: mutated sample DAGs, DAGs built from scratch, mutated SQL
files and templates, DAG files with raw bytes) runs `--examples` times through `run_example`.
Unlike the tests it does not stop at the first failure: every failure is kept, the distinct ones
(by exception type, message and place) are written to `--out` as the files of a repository that
reproduces them, and the run ends with a summary (examples, failures, slowest example, peak RSS).

    python benchmarks/fuzz.py --examples 2000            # every kind, 2000 examples each
    python benchmarks/fuzz.py --examples 500 --kind random-dag --out /tmp/fuzz-failures

Exit code 1 when anything failed. Hypothesis has no database here: every run draws new inputs.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from tests import fuzzing  # noqa: E402 - after the project is on the path


@dataclass
class Tally:
    examples: int = 0
    slowest: float = 0.0
    jobs: int = 0
    generated: int = 0
    failures: dict[str, tuple[Mapping[str, str | bytes], str]] = field(default_factory=dict)
    failed: int = 0


def _signature(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "hypothesis" not in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''} @ {where}"


def run_kind(kind: str, strategy: st.SearchStrategy[Mapping[str, str | bytes]], examples: int) -> Tally:
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # no shrinking: keep going, keep every failure as it was found
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(files: Mapping[str, str | bytes]) -> None:
        tally.examples += 1
        try:
            outcome = fuzzing.run_example(files)
        except Exception as error:  # a failure is a finding of the fuzzer, not the end of the run
            tally.failed += 1
            tally.failures.setdefault(_signature(error), (files, traceback.format_exc()))
            return
        tally.slowest = max(tally.slowest, outcome.seconds)
        tally.jobs += len(outcome.analysis.jobs)
        tally.generated += outcome.generated

    one()
    return tally


def write_failures(out: Path, kind: str, tally: Tally) -> None:
    for number, (signature, (files, trace)) in enumerate(sorted(tally.failures.items()), start=1):
        folder = out / f"{kind}-{number:03d}"
        for relative, content in files.items():
            path = folder / "repo" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        (folder / "failure.txt").write_text(f"{signature}\n\n{trace}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="examples of each kind (default 500)")
    parser.add_argument("--kind", choices=sorted(fuzzing.KINDS), action="append", help="only these kinds")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failures are written")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON")
    options = parser.parse_args()
    kinds = options.kind or sorted(fuzzing.KINDS)
    started = time.monotonic()
    summary: dict[str, dict[str, object]] = {}
    for kind in kinds:
        tally = run_kind(kind, fuzzing.KINDS[kind], options.examples)
        if tally.failures:
            write_failures(options.out, kind, tally)
        summary[kind] = {
            "examples": tally.examples,
            "failed": tally.failed,
            "distinct_failures": sorted(tally.failures),
            "slowest_seconds": round(tally.slowest, 2),
            "jobs": tally.jobs,
            "job_files": tally.generated,
        }
        print(
            f"{kind:14} {tally.examples:6} examples  {tally.failed:4} failed ({len(tally.failures)} distinct)  "
            f"slowest {tally.slowest:5.2f} s  {tally.jobs} jobs, {tally.generated} job files",
            flush=True,
        )
        for signature in sorted(tally.failures):
            print(f"    {signature}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = sum(int(str(entry["examples"])) for entry in summary.values())
    print(f"{total} examples in {time.monotonic() - started:.0f} s, peak RSS {peak:.0f} MiB")
    if options.json is not None:
        options.json.write_text(json.dumps({"kinds": summary, "peak_rss_mib": round(peak)}, indent=2) + "\n")
    failed = any(entry["failed"] for entry in summary.values())
    if failed:
        print(f"failures written to {options.out}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
