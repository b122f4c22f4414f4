"""Benchmark: batch-grading throughput on a Dask cluster against the local batch, in one run.

    python benchmarks/cluster_throughput.py [--homework hw4] [--copies 6] [--only reparametrize] [--rounds 3]

Grades COPIES copies of the homework's reference solution four ways: the local batch with
``--workers 1`` and ``--workers 2``, and ``--scheduler`` on a real Dask cluster on this machine
(a scheduler and one, then two, workers of one thread each, every one its own process). Each round
runs the four one after the other (the local and the Dask batch in turn, the one that goes first
changing from round to round, so that a machine that gets busier or quieter favours neither), and
each figure is the median over ROUNDS rounds. Prints submissions per hour, the speed-up of 2 Dask
workers over 1 (target: at least 1.8x) and the overhead of the cluster against the local batch at
the same parallelism (target: at most 5 %). ``--only`` limits each grading to some tests
(``--only ''`` grades everything: minutes per copy for hw4).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT / "tests"))
from cluster_support import LocalDask  # noqa: E402

from batch_throughput import run_batch  # noqa: E402  (the same run, timed the same way)

TARGET_SPEEDUP = 1.8
TARGET_OVERHEAD = 0.05


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--homework", default="hw4")
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--only", default="reparametrize")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="aekit-cluster-bench-"))
    subs = work / "submissions"
    for i in range(args.copies):
        shutil.copytree(KIT / "solutions" / args.homework, subs / f"student{i:02d}",
                        ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    print(f"{args.copies} copies of the {args.homework} reference on {os.cpu_count()} cores, "
          + (f"tests matching '{args.only}'" if args.only else "all tests")
          + f"; load average before: {os.getloadavg()[0]:.1f}")
    runs: dict = {}
    for round_ in range(args.rounds):
        for workers in (1, 2):
            for kind in (("local", "dask") if round_ % 2 == 0 else ("dask", "local")):
                if kind == "local":   # no cluster process runs beside the local batch
                    seconds = run_batch(args.homework, subs, args.only, "--workers", str(workers))
                else:                 # the cluster starts before the clock does, and stops after
                    with LocalDask(work / f"dask{round_}-{workers}", workers=workers) as dask:
                        seconds = run_batch(args.homework, subs, args.only, "--scheduler", dask.address)
                runs.setdefault((kind, workers), []).append(seconds)
        print(f"  round {round_ + 1}: " + ", ".join(f"{kind} x{w} {runs[kind, w][-1]:.1f} s"
                                                 for kind, w in sorted(runs)), flush=True)
    times = {key: statistics.median(values) for key, values in runs.items()}
    for (kind, workers), seconds in sorted(times.items()):
        label = f"local --workers {workers}" if kind == "local" else f"Dask, {workers} worker(s)"
        print(f"  {label:22s} {seconds:7.1f} s  ({args.copies / seconds * 3600:6.1f} submissions per hour)"
              f"  median of {len(runs[kind, workers])}")
    speedup = times["dask", 1] / times["dask", 2]
    print(f"  Dask speed-up with 2 workers: {speedup:.2f}x (target >= {TARGET_SPEEDUP}x: "
          f"{'met' if speedup >= TARGET_SPEEDUP else 'NOT met'})")
    for workers in (1, 2):
        overhead = times["dask", workers] / times["local", workers] - 1
        print(f"  Dask overhead against the local batch, {workers} at a time: {overhead:+.1%} "
              f"(target <= {TARGET_OVERHEAD:.0%}: {'met' if overhead <= TARGET_OVERHEAD else 'NOT met'})")
    print(f"  load average after: {os.getloadavg()[0]:.1f} (figures on a shared machine are noisy)")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
