"""``python -m autograder check HW [FOLDER]``: the public checks students run themselves.

Fast sanity tests (shapes, losses on tiny inputs, one short training step) that finish in seconds.
They run the student's code in the same kind of sandboxed process as the grader, but they are not
the graded tests: passing them means the code is wired up right, not that it earns full marks.
FOLDER defaults to the homework's folder in ``stencil/``. Exits 0 when every check passes.
"""
from __future__ import annotations

import time
from pathlib import Path

from .homeworks import load_checks, load_spec
from .pipeline.report import summary
from .pipeline.score import Context, TestResult, run_tests
from .pipeline.unpack import SubmissionError, unpacked


def check(homework: str, folder: Path | None = None, progress=None) -> list[TestResult]:
    spec = load_spec(homework)
    checks = load_checks(homework)
    folder = Path(folder) if folder else spec.student_folder
    with unpacked(folder, spec.source_files) as workdir:
        missing = [name for name in spec.source_files if not (workdir / name).is_file()]
        if missing:
            message = f"{folder} has no {', '.join(missing)}."
            return [TestResult(c.name, 0.0, float(c.points), message) for c in checks]
        return run_tests(checks, Context(workdir=workdir, agent=spec.agent, options={"seed": 0}), progress)


def main(args) -> int:
    start = time.monotonic()
    folder = Path(args.folder) if args.folder else None

    def progress(result):
        print(("  ok    " if result.status == "passed" else "  FAIL  ") + result.name, flush=True)

    try:
        results = check(args.homework, folder, progress)
    except SubmissionError as err:
        print(f"Cannot check: {err}")
        return 1
    print()
    print(summary(results))
    passed = sum(r.status == "passed" for r in results)
    print(f"\n{passed} of {len(results)} checks passed in {time.monotonic() - start:.0f} s. "
          "These public checks are a sanity test, not your grade.")
    return 0 if passed == len(results) else 1
