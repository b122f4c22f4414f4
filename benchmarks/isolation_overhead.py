"""Benchmark: what isolation costs. Grades the hw4 reference's unit tests (one sandbox, many
short calls: the case where start-up costs weigh most) with and without isolation, alternating.

    python benchmarks/isolation_overhead.py [--repeats 3]

"Isolated" is the grader's default: a private folder with the public code copied in, a user of
its own (as root) and a fresh network namespace. "Not isolated" is still a separate limited
process, without the own user and the namespace. Target: at most 10 % extra wall time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from autograder.grade import grade
    from autograder.homeworks.hw4 import hidden
    from autograder.pipeline import accounts
    from autograder.pipeline.isolate import Limits

    times = {True: [], False: []}
    for _ in range(args.repeats):
        for isolate in (True, False):
            start = time.monotonic()
            result = grade("hw4", KIT / "solutions" / "hw4", tests=hidden.UNIT_TESTS, limits=Limits(isolate=isolate))
            times[isolate].append(time.monotonic() - start)
            assert result["score"] == sum(t.points for t in hidden.UNIT_TESTS), result
    on, off = statistics.median(times[True]), statistics.median(times[False])
    print(f"hw4 unit tests, median of {args.repeats} (own user: {accounts.is_root() and not accounts.python_blocker()}, "
          f"network namespace: {bool(accounts.network_flags())})")
    print(f"  isolated      {on:6.2f} s   {[round(t, 2) for t in times[True]]}")
    print(f"  not isolated  {off:6.2f} s   {[round(t, 2) for t in times[False]]}")
    extra = on / off - 1
    print(f"  extra time    {extra:+.1%} (target <= 10 %: {'met' if extra <= 0.10 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
