"""``python -m autograder check HW [FOLDER]``: the public checks students run themselves.

Fast sanity tests (shapes, losses on tiny inputs, one short training step) that finish in seconds.
They run the student's code in the same kind of sandboxed process as the grader, but they are not
the graded tests: passing them means the code is wired up right, not that it earns full marks.
FOLDER defaults to the homework's folder in ``stencil/``. Exits 0 when every check passes.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

from .homeworks import load_checks, load_spec
from .pipeline.checks import SANDBOX
from .pipeline.isolate import Limits
from .pipeline.report import failed_everywhere, summary
from .pipeline.score import Context, TestResult, run_tests
from .pipeline.unpack import SubmissionError, unpacked


def check(homework: str, folder: Path | None = None, progress=None) -> list[TestResult]:
    spec = load_spec(homework)
    folder = Path(folder) if folder else spec.student_folder
    code = tuple(name for name in spec.source_files if name.endswith(".py"))  # the checks test code only
    with unpacked(folder, code) as workdir:
        missing = [name for name in code if not (workdir / name).is_file()]
        if missing:
            return failed_everywhere(load_checks(homework), f"{folder} has no {', '.join(missing)}.")
        ctx = Context(workdir=workdir, agent=spec.agent, options={"seed": 0},
                      limits=Limits(preload=spec.check_preload))
        _start_early(ctx)
        try:
            checks = load_checks(homework)  # imports torch here while the student's process does there
        except BaseException:
            ctx.close()
            raise
        return run_tests(checks, ctx, progress)


def _start_early(ctx: Context) -> None:
    """Start the student's process the checks share before the checks (and torch) are loaded, so
    that both processes import torch at once. A start that fails here is left to the first check,
    which reports it as its own failure."""
    box = ctx.sandbox(SANDBOX)
    try:
        box.start()
    except Exception:  # noqa: BLE001 - reported by the first check that asks the process
        box.close()


_RUNS: dict[tuple, list[TestResult]] = {}


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def require(homework: str, folder, *names: str) -> None:
    """For a notebook's autograded cells: the public checks ``names`` of ``homework`` must pass.

    ``names`` are the check functions' names in the homework's ``public.py`` (for example
    ``"reparametrize"``). All public checks run once per version of the student's ``.py`` files and
    their results are reused by later cells; each cell prints its checks and raises an
    ``AssertionError`` naming every failed one with its feedback (nbgrader then gives the cell 0).
    """
    folder = Path(folder).resolve()
    known = {item.func.__name__: item.name for item in load_checks(homework)}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(f"{homework} has no public check named {', '.join(unknown)} (known: {', '.join(known)})")
    key = (homework, str(folder), _fingerprint(folder))
    if key not in _RUNS:
        _RUNS.clear()
        _RUNS[key] = check(homework, folder)
    by_name = {r.name: r for r in _RUNS[key]}
    failed = []
    for name in names:
        result = by_name[known[name]]
        print(("ok    " if result.status == "passed" else "FAIL  ") + result.name)
        if result.status != "passed":
            failed.append(f"{result.name}:\n    {result.output}")
    if failed:
        raise AssertionError("public checks failed (fix the code, then run this cell again):\n" + "\n".join(failed))


def main(args) -> int:
    start = time.monotonic()
    folder = Path(args.folder) if args.folder else None

    def progress(result):
        print(("  ok    " if result.status == "passed" else "  FAIL  ") + result.name, flush=True)
        if result.status == "passed" and result.output.strip() not in ("", "Passed."):
            # A passing check may report a measurement (hw4: the released classifier's reading).
            print("\n".join("          " + line for line in result.output.splitlines()), flush=True)

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
