"""Profile one scan with pyinstrument (the `dev` extra) and print where the time goes.

The scan runs in this process, with one worker and no cache (what `kappa scan --jobs 1
--no-cache` does); sampling makes it about twice as slow, so read shares, not seconds.

python benchmarks/profile_scan.py /tmp/repo-100
python benchmarks/profile_scan.py /tmp/repo-100 --html /tmp/profile.html
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # run from a checkout without installing

from analyzer.pipeline import scan  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--html", type=Path, help="write pyinstrument's HTML page here")
    parser.add_argument("--interval", type=float, default=0.001, help="sampling interval in seconds")
    args = parser.parse_args()
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
