"""Benchmark: grade the hw4 reference once and print wall time, peak memory and per-phase times.

    python benchmarks/grade_hw4.py [SUBMISSION] [--json benchmarks/out/grade_hw4.json]

Peak memory is sampled every 0.2 s over the grader and all its student processes, as the sum of
proportional set sizes (PSS: shared library pages split between the processes that map them,
which is what a memory-limited container is charged) and, for comparison, the sum of resident set
sizes (RSS, which counts shared pages once per process). Targets for a 2-core machine: wall time
<= 90 s and peak memory <= 768 MB (Gradescope's default autograder box).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

TARGET_WALL_S = 90.0
TARGET_MEMORY_MB = 768.0


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _memory_kb(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


class MemorySampler(threading.Thread):
    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval, self.peak_pss, self.peak_rss, self.stopped = interval, 0, 0, False

    def run(self):
        while not self.stopped:
            totals = [_memory_kb(pid) for pid in _tree(os.getpid())]
            self.peak_pss = max(self.peak_pss, sum(t[0] for t in totals))
            self.peak_rss = max(self.peak_rss, sum(t[1] for t in totals))
            time.sleep(self.interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", default=str(KIT / "solutions" / "hw4"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from autograder.grade import grade

    phases: list[tuple[str, float, float, float]] = []
    sampler = MemorySampler()
    sampler.start()
    start = time.monotonic()

    def progress(result):
        phases.append((result.name, result.seconds, result.score, result.max_score))

    results = grade("hw4", Path(args.submission), progress=progress)
    wall = time.monotonic() - start
    sampler.stopped = True
    sampler.join()

    pss_mb, rss_mb = sampler.peak_pss / 1024, sampler.peak_rss / 1024
    print(f"hw4 grading of {args.submission}: score {results['score']:g}/100 on {os.cpu_count()} cores")
    print(f"  wall time     {wall:7.1f} s   (target <= {TARGET_WALL_S:g} s: {'met' if wall <= TARGET_WALL_S else 'NOT met'})")
    print(f"  peak PSS      {pss_mb:7.0f} MB  (target <= {TARGET_MEMORY_MB:g} MB: "
          f"{'met' if pss_mb <= TARGET_MEMORY_MB else 'NOT met'})")
    print(f"  peak RSS sum  {rss_mb:7.0f} MB  (counts shared library pages once per process)")
    print("  per test (seconds; the first training test waits for both trainings, which run side by side):")
    for name, seconds, score, max_score in phases:
        print(f"    {seconds:7.1f}  {score:>4g}/{max_score:<3g} {name[:70]}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "wall_s": wall, "peak_pss_mb": pss_mb, "peak_rss_mb": rss_mb, "score": results["score"],
            "phases": [{"name": n, "seconds": s} for n, s, _, _ in phases]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
