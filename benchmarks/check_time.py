"""Time of the public checks (``python -m autograder check HW FOLDER``) per homework, on the stencil
and on the reference solution: wall time and the CPU time (user + system) of the check and of the
student's process it starts. Each figure is the median of ``--repeat`` runs; on a machine other
work shares, the CPU time is the steadier figure.

    python benchmarks/check_time.py [--repeat 3] [--homework hw4 ...]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
from autograder.homeworks import load_spec  # noqa: E402
TARGET_SECONDS = 3.0   # a check that a student runs after every edit should feel instant


def one_run(homework: str, folder: Path) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (this run's processes and their children) and exit status."""
    before = os.times()
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "autograder", "check", homework, str(folder)], cwd=KIT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return wall, cpu, done.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--homework", nargs="*", default=[f"hw{n}" for n in range(1, 6)])
    args = parser.parse_args(argv)
    print(f"{'homework':9} {'folder':10} {'wall s':>7} {'cpu s':>6}  exit   (median of {args.repeat}; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for homework in args.homework:
        spec = load_spec(homework)
        for where in ("stencil", "solutions"):   # the reference sits where the stencil does
            folder = spec.student_folder if where == "stencil" else spec.solution_dir / spec.student_dir
            runs = [one_run(homework, folder) for _ in range(args.repeat)]
            wall = statistics.median(r[0] for r in runs)
            cpu = statistics.median(r[1] for r in runs)
            flag = "" if wall <= TARGET_SECONDS else f"  (over the {TARGET_SECONDS:.0f} s target)"
            print(f"{homework:9} {where:10} {wall:7.2f} {cpu:6.2f}  {runs[-1][2]:>4}{flag}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
