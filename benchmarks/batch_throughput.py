"""Benchmark: batch-grading throughput with 1 and with 2 workers.

    python benchmarks/batch_throughput.py [--homework hw4] [--copies 4] [--only TEXT]

Grades COPIES copies of the homework's reference solution with ``python -m autograder batch``,
once with ``--workers 1`` and once with ``--workers 2``, and prints submissions per hour and the
speed-up (target on a 2-core machine: at least 1.8x with 2 workers). ``--only`` limits the
gradings to some tests (quicker, but start-up then weighs more).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
TARGET_SPEEDUP = 1.8


def run_batch(homework: str, subs: Path, only: str | None, *where: str, show: bool = False) -> float:
    """Seconds ``python -m autograder batch`` takes on ``subs`` with the options ``where`` (how many
    workers, which cluster); the batch's first line of output is printed when ``show``."""
    out = Path(tempfile.mkdtemp(prefix="aekit-bench-"))
    command = [sys.executable, "-m", "autograder", "batch", homework, str(subs), *where,
               "--csv", str(out / "grades.csv"), "--out-dir", str(out / "results"), "--quiet"]
    if only:
        command += ["--only", only]
    start = time.monotonic()
    done = subprocess.run(command, cwd=KIT, capture_output=True, text=True)
    seconds = time.monotonic() - start
    shutil.rmtree(out, ignore_errors=True)
    if done.returncode != 0 or "Graded" not in done.stdout:
        raise SystemExit(done.stdout + done.stderr)
    if show:
        print(done.stdout.strip().splitlines()[0])
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homework", default="hw4")
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--only")
    args = parser.parse_args(argv)
    subs = Path(tempfile.mkdtemp(prefix="aekit-subs-"))
    reference = KIT / "solutions" / args.homework
    for i in range(args.copies):
        shutil.copytree(reference, subs / f"student{i:02d}",
                        ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    print(f"{args.copies} copies of the {args.homework} reference on {os.cpu_count()} cores"
          + (f", tests matching '{args.only}'" if args.only else ", all tests"))
    times = {}
    for workers in (1, 2):
        times[workers] = run_batch(args.homework, subs, args.only, "--workers", str(workers), show=True)
        rate = args.copies / times[workers] * 3600
        print(f"  --workers {workers}: {times[workers]:7.1f} s  ({rate:6.1f} submissions per hour)")
    speedup = times[1] / times[2]
    print(f"  speed-up with 2 workers: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
    shutil.rmtree(subs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
