"""Benchmark: grade each homework's reference and print what a grading box must have.

    python benchmarks/grading_footprint.py [hw1 hw2 ...] [--jobs 1 2] [--no-isolation] [--no-check]
                                           [--json benchmarks/out/footprint.json] [--results DIR]

For every homework (all five by default) and every ``--jobs`` value (1 and 2 by default) it grades
``solutions/hwN`` once and prints:

- wall time of the whole grading;
- the longest single training of the student's model in that run (the seconds the student's own
  epochs took, as the grader's training pool records them): a grading cannot finish before it, so
  wall / longest training is how close the grader comes to that floor (target <= 1.10);
- peak memory, sampled every 0.2 s over the grader and all its student processes, as the sum of
  proportional set sizes (PSS: shared library pages split between the processes that map them,
  which is what a memory-limited container is charged), with the processes at the peak; target
  <= 768 MB with ``--jobs 1`` (Gradescope's default autograder box);
- and the time of the public checks, ``python -m autograder check hwN`` on the stencil and on the
  reference (target <= 3 s).

``--no-isolation`` runs the student's processes without their own user and network namespace
(still a separate process with limits): comparing the two wall times gives the cost of isolation.
Timings depend on the machine and on what else it runs: say both when quoting them.
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


SERVERS: set = set()   # pids of fork servers (their copies are student processes)


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            words = handle.read().split(b"\0")
    except OSError:
        return "process"
    if pid in SERVERS:
        return "fork server"
    forked = b"autograder.pipeline.forkserver" in words
    return "student process" if b"autograder.pipeline.child" in words or forked else "process"


TARGET_RATIO = 1.10
HOMEWORKS = ("hw1", "hw2", "hw3", "hw4", "hw5")


def check_seconds(homework: str, folder: Path) -> float:
    """Wall seconds of ``python -m autograder check HOMEWORK FOLDER``, as a student runs it."""
    import subprocess

    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "check", homework, str(folder)], cwd=KIT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.monotonic() - start


def measure(homework: str, jobs: int, isolate: bool, results_dir: Path | None = None) -> dict:
    """Grade ``solutions/HOMEWORK`` once with ``jobs``; the figures of that grading."""
    from autograder.grade import grade
    from autograder.pipeline import forkserver
    from autograder.pipeline.isolate import Limits

    phases: list = []
    meta: dict = {}
    sampler = MemorySampler()
    sampler.start()
    start = time.monotonic()
    launcher = forkserver.for_grading(jobs)   # as the grade verb does (AEKIT_FORKSERVER=0: without)
    if launcher is not None:
        SERVERS.add(launcher.pid)
    out = results_dir / f"{homework}-jobs{jobs}.json" if results_dir else None
    try:
        results = grade(homework, KIT / "solutions" / homework, out, options={"jobs": jobs}, meta=meta,
                        progress=lambda r: phases.append((r.name, r.seconds)), limits=Limits(isolate=isolate),
                        launcher=launcher)
    finally:
        if launcher is not None:
            launcher.close()
    wall = time.monotonic() - start
    sampler.stopped = True
    sampler.join()
    longest = max(meta.get("training_seconds", {}).values(), default=0.0)
    return {"homework": homework, "jobs": jobs, "isolated": isolate, "score": results["score"], "wall_s": wall,
            "longest_training_s": longest, "ratio": wall / longest if longest else None,
            "peak_pss_mb": sampler.peak_pss / 1024, "peak_rss_mb": sampler.peak_rss / 1024,
            "at_peak_mb": {k: v / 1024 for k, v in sorted(sampler.at_peak.items())},
            "trainings_s": meta.get("training_seconds", {}), "phases": phases,
            "forked_processes": meta.get("forked_processes", 0)}


def fresh(homework: str, jobs: int, isolate: bool, results_dir: Path | None) -> dict:
    """:func:`measure` in a new grader process of its own, as `python -m autograder grade` would
    run (nothing left over from an earlier grading counts towards this one's memory)."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, (homework, jobs, isolate, results_dir))


def _met(value, target) -> str:
    return "" if value is None else ("met" if value <= target else "NOT met")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("homeworks", nargs="*", default=list(HOMEWORKS))
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], choices=(1, 2),
                        help="training processes at once, as in `python -m autograder grade --jobs`")
    parser.add_argument("--no-isolation", action="store_true",
                        help="no own user, no network namespace (to measure what isolation costs)")
    parser.add_argument("--no-check", action="store_true", help="do not time the public checks")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--results", metavar="DIR", help="also keep each grading's results.json in DIR")
    args = parser.parse_args(argv)

    rows = []
    print(f"Grading the references on {os.cpu_count()} cores, "
          f"{'without isolation' if args.no_isolation else 'isolated'}.")
    for homework in args.homeworks:
        for jobs in args.jobs:
            row = fresh(homework, jobs, not args.no_isolation, Path(args.results) if args.results else None)
            rows.append(row)
            ratio = row["ratio"]
            print(f"\n{homework} --jobs {jobs}: score {row['score']:g}")
            print(f"  wall time          {row['wall_s']:7.1f} s")
            print(f"  longest training   {row['longest_training_s']:7.1f} s   (trainings: {row['trainings_s']})")
            if ratio is not None:   # one job trains one model after the other: about 2 with two trainings
                target = (f"(target <= {TARGET_RATIO:g}: {_met(ratio, TARGET_RATIO)})" if jobs >= 2
                          else "(the target is for --jobs 2)")
                print(f"  wall / training    {ratio:7.2f}     {target}")
            target = (f"  (target <= {TARGET_MEMORY_MB:g} MB: {_met(row['peak_pss_mb'], TARGET_MEMORY_MB)})"
                      if jobs == 1 else "  (the target is for --jobs 1)")
            print(f"  peak PSS           {row['peak_pss_mb']:7.0f} MB{target}")
            if row["forked_processes"]:
                print(f"  student processes started by the fork server: {row['forked_processes']}")
            print("  memory by process when the total peaked (PSS, MB):")
            for key, mb in row["at_peak_mb"].items():
                print(f"    {mb:7.0f}  {key}")
            slow = sorted(row["phases"], key=lambda p: -p[1])[:4]
            print("  slowest tests: " + "; ".join(f"{name[:40]} {seconds:.0f} s" for name, seconds in slow))
        if not args.no_check:
            for side in ("stencil", "solutions"):
                seconds = check_seconds(homework, KIT / side / homework)
                rows.append({"homework": homework, "check": side, "seconds": seconds})
                print(f"  check on {side:9s} {seconds:7.1f} s   (target <= 3 s: {_met(seconds, 3.0)})")
    print("\n| hw | jobs | wall s | longest training s | ratio | peak PSS MB |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        if "jobs" in row:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
            print(f"| {row['homework']} | {row['jobs']} | {row['wall_s']:.0f} | {row['longest_training_s']:.0f} | "
                  f"{ratio} | {row['peak_pss_mb']:.0f} |")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
