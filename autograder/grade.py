"""``python -m autograder grade HW SUBMISSION --out results.json [--timeout SECONDS]``

Grades one submission (a folder, or a zip as ``zipsrc.py`` makes it) with the homework's hidden
tests and writes Gradescope's ``results.json``. Exits 0 whenever grading completed, whatever the
score; non-zero only when the grader itself could not run.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from .homeworks import load_preparations, load_spec, load_tests
from .pipeline import accounts, scratch
from .pipeline.isolate import Limits
from .pipeline.report import failed_everywhere, results_from_json, results_json, summary, write_json
from .pipeline.score import TRAINING_TIMEOUT, Context, TestResult, run_tests
from .pipeline.unpack import SubmissionError
from .pipeline.submission import opened

DEFAULT_TIMEOUT = TRAINING_TIMEOUT  # seconds per training run


def missing_files_results(homework: str, tests, missing: list[str]) -> list[TestResult]:
    message = (f"Your submission has no {', '.join(missing)}. Upload the zip made by "
               f"`python zipsrc.py {homework}`, which holds every required file.")
    return failed_everywhere(tests, message)


def peak_memory_mb() -> float:
    """Peak resident memory of this grader process and of the student processes it has ended, in MB."""
    import resource

    peaks = [resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return round(max(peaks) / 1024, 1)  # Linux reports kilobytes


def grade(homework: str, submission: Path, out: Path | None = None, timeout: float = DEFAULT_TIMEOUT,
          seed: int = 0, tests=None, progress=None, limits: Limits | None = None,
          options: dict | None = None, meta: dict | None = None, feedback: Path | None = None,
          launcher=None) -> dict:
    """Grade ``submission`` for ``homework``; return (and write to ``out``) the results dict.

    ``tests`` defaults to all of the homework's hidden tests; ``options`` adds to the options the
    tests read (``timeout`` and ``seed`` are set from the arguments). When ``meta`` is a dict it
    receives what Gradescope's format has no room for: how student code failed, per kind, and what
    the sandbox could enforce on this machine, and the seconds each training of the student's
    model took (the batch verb records it). When ``feedback`` is a
    folder, the student's feedback page (``feedback.html``, self-contained) and the pictures the
    grader drew (PNG) are written there. ``launcher`` is a fork server that starts the student's
    processes (:func:`autograder.pipeline.forkserver.for_grading`), or ``None``.
    """
    start = time.monotonic()
    scratch.sweep()   # copies of submissions that killed gradings left behind
    spec = load_spec(homework)
    tests = load_tests(homework) if tests is None else tests
    notes = ""
    isolation: dict = {}
    trainings: dict = {}
    if limits is None or limits.isolate:  # sandboxes of other users must not read the upload
        accounts.lock_and_reap([Path(submission)])
    try:
        with opened(spec, Path(submission)) as (workdir, missing):
            if missing:
                results = missing_files_results(homework, tests, missing)
                notes = results[0].output
            else:
                ctx = Context(workdir=workdir, agent=spec.agent, limits=limits or Limits(),
                              options={**(options or {}), "timeout": float(timeout), "seed": int(seed)},
                              prepare=load_preparations(homework), launcher=launcher)
                results = run_tests(tests, ctx, progress)
                isolation, trainings = ctx.isolation, ctx.trainings
                notes = accounts.isolation_notes(isolation)
    except SubmissionError as err:
        results = failed_everywhere(tests, str(err))
        notes = str(err)
    data = results_json(results, time.monotonic() - start, notes)
    if meta is not None:
        failures: dict = {}
        for result in results:
            if result.failure:
                failures[result.failure] = failures.get(result.failure, 0) + 1
        meta.update({"homework": homework, "score": data["score"],
                     "max_score": sum(r.max_score for r in results), "failures": failures,
                     "isolation": {k: v for k, v in isolation.items() if k != "started"},
                     "seconds": data["execution_time"], "peak_memory_mb": peak_memory_mb(),
                     "training_seconds": trainings, "device": (limits or Limits()).device,
                     "forked_processes": launcher.spawned if launcher is not None else 0})
    if out is not None:
        write_json(data, out)
    if feedback is not None:
        from .pipeline import feedback as pages

        pages.write(Path(feedback), f"{homework}: feedback on {Path(submission).name}", results, notes)
    return data


def main(args) -> int:
    from .pipeline import forkserver

    # First, before this process imports torch: the student processes' fork server loads torch on
    # the other core meanwhile (side-by-side trainings on the CPU only; see forkserver.py).
    launcher = forkserver.for_grading(args.jobs, getattr(args, "device", "cpu"))
    try:
        return _main(args, launcher)
    finally:
        if launcher is not None:
            launcher.close()


def _main(args, launcher) -> int:
    import torch

    parent = os.environ.pop("AEKIT_DIE_WITH_PARENT", "")
    if parent:  # started by a batch: end with it rather than grade for nobody
        accounts.die_with_parent()
        if str(os.getppid()) != parent:
            print("error: the batch that started this grading has gone", file=sys.stderr)
            return 3
    from tqdm.auto import tqdm

    from .pipeline import devices

    try:
        device = devices.resolve(getattr(args, "device", "cpu"))
    except devices.DeviceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if launcher is not None and device != "cpu":   # its copies would see no GPU
        launcher.close()
        launcher = None
    if args.threads:
        torch.set_num_threads(args.threads)
    tests = load_tests(args.homework)
    if args.only:
        tests = [t for t in tests if args.only.lower() in t.name.lower()]
        if not tests:
            print(f"error: no {args.homework} test has '{args.only}' in its name", file=sys.stderr)
            return 2
    with tqdm(total=len(tests), desc=f"grading {args.homework}", unit="test", file=sys.stderr,
              disable=True if args.quiet else None) as bar:  # None: no bar when stderr is not a terminal
        def progress(result):
            bar.set_postfix_str(result.name[:40])
            bar.update(1)
        meta: dict = {}
        data = grade(args.homework, Path(args.submission), Path(args.out) if args.out else None,
                     timeout=args.timeout, seed=args.seed, tests=tests, progress=progress,
                     options={"jobs": args.jobs}, meta=meta, limits=Limits(device=device),
                     launcher=launcher,
                     feedback=Path(args.feedback) if getattr(args, "feedback", None) else None)
    if args.meta:
        write_json(meta, Path(args.meta))
    print(summary(results_from_json(data)))
    if args.out:
        print(f"\nWrote {args.out} ({data['execution_time']:.0f} s).")
    if getattr(args, "feedback", None):
        print(f"Wrote {Path(args.feedback) / 'feedback.html'} and its pictures.")
    return 0
