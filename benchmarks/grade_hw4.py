"""Benchmark: grade the hw4 reference once and print wall time, peak memory and per-phase times.

    python benchmarks/grade_hw4.py [SUBMISSION] [--jobs 1|2] [--no-isolation] [--only TEXT]
                                   [--json benchmarks/out/grade_hw4.json]

``--no-isolation`` runs the student's processes without their own user and network namespace
(still a separate process with limits): comparing the two wall times gives the cost of isolation.

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
        self.per_process: dict[str, int] = {}  # role -> its own peak PSS (kB)
        self.at_peak: dict[str, int] = {}      # role -> PSS (kB) when the total peaked

    def run(self):
        me = os.getpid()
        while not self.stopped:
            sample = {}
            for pid in _tree(me):
                pss, rss = _memory_kb(pid)
                role = "grader" if pid == me else _role(pid)
                sample[f"{role} [{pid}]"] = (pss, rss)
            total_pss = sum(v[0] for v in sample.values())
            if total_pss > self.peak_pss:
                self.peak_pss, self.at_peak = total_pss, {k: v[0] for k, v in sample.items()}
            self.peak_rss = max(self.peak_rss, sum(v[1] for v in sample.values()))
            for key, (pss, _) in sample.items():
                self.per_process[key] = max(self.per_process.get(key, 0), pss)
            time.sleep(self.interval)


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return "process"
    return "student process" if b"autograder.pipeline.child" in words else "process"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submission", nargs="?", default=str(KIT / "solutions" / "hw4"))
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2),
                        help="training processes at once, as in `python -m autograder grade --jobs`")
    parser.add_argument("--no-isolation", action="store_true",
                        help="no own user, no network namespace (to measure what isolation costs)")
    parser.add_argument("--only", help="grade only the tests whose name contains this text")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)

    from autograder.grade import grade
    from autograder.homeworks import load_tests
    from autograder.pipeline.isolate import Limits

    tests = [t for t in load_tests("hw4") if not args.only or args.only.lower() in t.name.lower()]

    phases: list[tuple[str, float, float, float]] = []
    sampler = MemorySampler()
    sampler.start()
    start = time.monotonic()

    def progress(result):
        phases.append((result.name, result.seconds, result.score, result.max_score))

    results = grade("hw4", Path(args.submission), progress=progress, options={"jobs": args.jobs}, tests=tests,
                    limits=Limits(isolate=not args.no_isolation))
    wall = time.monotonic() - start
    sampler.stopped = True
    sampler.join()

    pss_mb, rss_mb = sampler.peak_pss / 1024, sampler.peak_rss / 1024
    mode = "without isolation" if args.no_isolation else "isolated"
    print(f"hw4 grading of {args.submission} with --jobs {args.jobs}, {mode}: score {results['score']:g}/"
          f"{sum(t.points for t in tests):g} on {os.cpu_count()} cores")
    print(f"  wall time     {wall:7.1f} s   (target <= {TARGET_WALL_S:g} s: {'met' if wall <= TARGET_WALL_S else 'NOT met'})")
    print(f"  peak PSS      {pss_mb:7.0f} MB  (target <= {TARGET_MEMORY_MB:g} MB: "
          f"{'met' if pss_mb <= TARGET_MEMORY_MB else 'NOT met'})")
    print(f"  peak RSS sum  {rss_mb:7.0f} MB  (counts shared library pages once per process)")
    print("  memory by process when the total peaked (PSS, MB):")
    for key, kb in sorted(sampler.at_peak.items()):
        print(f"    {kb / 1024:7.0f}  {key}")
    print("  per test (seconds; the first training test waits for both trainings, which run side by side):")
    for name, seconds, score, max_score in phases:
        print(f"    {seconds:7.1f}  {score:>4g}/{max_score:<3g} {name[:70]}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({
            "jobs": args.jobs, "isolated": not args.no_isolation, "wall_s": wall, "peak_pss_mb": pss_mb, "peak_rss_mb": rss_mb, "score": results["score"],
            "phases": [{"name": n, "seconds": s} for n, s, _, _ in phases]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
