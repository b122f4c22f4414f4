"""``python -m autograder batch HW SUBMISSIONS_DIR --workers N --csv grades.csv --out-dir results/``

Grades a whole folder of submissions at a deadline. Each entry of SUBMISSIONS_DIR (a zip or a
folder) is one student, named by the entry (``alice.zip`` is student ``alice``). For each student
the batch writes ``OUT_DIR/<id>/results.json`` (Gradescope's format), ``feedback.txt`` (the same,
readable), ``meta.json`` (failure kinds, time, fingerprint of what was graded) and ``grader.log``.

- Every submission is graded by its own grader process (``python -m autograder grade``), so a
  submission that crashes, hangs or attacks the grader can only end its own grading; the batch
  records that and goes on. A grading longer than ``--limit`` seconds is stopped.
- Each grader process uses one CPU thread and trains one model at a time (``--jobs 1``), so
  ``--workers N`` keeps about N cores busy and never oversubscribes them.
- Resumable: a student whose results exist for the same submission (same fingerprint) is skipped
  unless ``--force``; a changed submission is graded again.
- ``grades.csv`` is rewritten at the end from every student's results, and a summary (score
  bands, failures, timeouts) is printed.
- ``--scheduler ADDRESS`` / ``--cluster slurm`` run the same gradings on a Dask cluster instead
  (:mod:`autograder.cluster`); everything else here is shared.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .homeworks import KIT_ROOT, load_spec, load_tests
from .pipeline import accounts
from .pipeline.report import failed_everywhere, results_from_json, results_json, summary, write_json

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
BANDS = ((90, "90-100"), (80, "80-89"), (70, "70-79"), (60, "60-69"), (0, "below 60"))
CSV_FIELDS = ("student", "score", "max_score", "status", "failed_tests", "seconds", "note")


@dataclass
class Entry:
    student: str
    path: Path


def entries(folder: Path) -> tuple[list[Entry], list[str]]:
    """The students of ``folder`` (sorted by id) and the names that were skipped, with why."""
    found, skipped = [], []
    for path in sorted(Path(folder).iterdir()):
        name = path.name
        if name.startswith("."):
            continue
        student = name[:-4] if name.lower().endswith(".zip") and path.is_file() else name
        if path.is_symlink():
            skipped.append(f"{name}: a symbolic link (copy the real submission in)")
        elif not (path.is_dir() or name.lower().endswith(".zip")):
            skipped.append(f"{name}: neither a folder nor a .zip")
        elif not STUDENT_ID.match(student):
            skipped.append(f"{name}: not usable as a student id (letters, digits, . _ @ + - only)")
        else:
            found.append(Entry(student, path))
    ids = [e.student for e in found]
    for student in sorted({s for s in ids if ids.count(s) > 1}):
        skipped.append(f"{student}: both a folder and a zip; keep one")
        found = [e for e in found if e.student != student]
    return found, skipped


def fingerprint(path: Path) -> str:
    """SHA-256 over the submission's file names and bytes (links and special files ignored)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    for file in files:
        digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode() + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def finished(folder: Path, print_: str) -> bool:
    """Whether ``folder`` holds results of the submission with fingerprint ``print_``."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("fingerprint") == print_


def grader_failure(tests, message: str) -> dict:
    """results.json for a grading that did not complete (every test at zero, saying why)."""
    return results_json(failed_everywhere(tests, message), 0.0, message)


def grader_command(homework: str, submission: Path, folder: Path, args) -> list[str]:
    """The per-student grader process: ``python -m autograder grade`` writing into ``folder``."""
    return [sys.executable, "-m", "autograder", "grade", homework, str(submission),
            "--out", str(folder / "results.json"), "--meta", str(folder / "meta.json"),
            "--feedback", str(folder / "feedback"), "--jobs", "1", "--threads", "1",
            "--timeout", str(args.timeout), "--seed", str(args.seed), "--device", getattr(args, "device", "cpu"),
            "--quiet"] + (["--only", args.only] if getattr(args, "only", None) else [])


def grade_one(homework: str, entry: Entry, out_dir: Path, args, tests, print_: str | None = None) -> dict:
    """Grade one student in a grader process of its own; always leaves results behind.

    ``print_`` is the submission's fingerprint when the caller has it already (a cluster worker
    grades a copy of the submission and is handed the client's fingerprint)."""
    folder = out_dir / entry.student
    folder.mkdir(parents=True, exist_ok=True)
    print_ = print_ or fingerprint(entry.path)
    command = grader_command(homework, entry.path.resolve(), folder, args)
    # AEKIT_DIE_WITH_PARENT: the grader dies with the thread that started it, so a batch (or a
    # cluster worker) that is killed leaves no grading running on without it.
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(KIT_ROOT),
               AEKIT_DIE_WITH_PARENT=str(os.getpid()))
    # A Dask nanny sets this for its worker's own memory; the grader runs the same wherever it is
    # started (with it, every free() returns memory to the system: about 2 % slower on hw4).
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    for stale in ("results.json", "meta.json"):
        (folder / stale).unlink(missing_ok=True)
    start = time.monotonic()
    status, note = "graded", ""
    with open(folder / "grader.log", "wb") as log:
        try:
            run = subprocess.run(command, cwd=KIT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, timeout=args.limit, start_new_session=True)
            if run.returncode != 0:
                status, note = "grader-error", f"the grader exited with code {run.returncode}"
        except subprocess.TimeoutExpired:
            status, note = "grader-timeout", f"grading took longer than {args.limit:.0f} s and was stopped"
    seconds = time.monotonic() - start
    accounts.lock_and_reap()  # a grader stopped at --limit cannot close its sandboxes itself
    return finish_folder(folder, entry, print_, tests, status, note, seconds)


def finish_folder(folder: Path, entry: Entry, print_: str, tests, status: str, note: str,
                  seconds: float) -> dict:
    """Complete a student's folder after its grading: results.json (a grading failure when the
    grader left none), meta.json with what the batch knows, and feedback.txt; returns the meta.
    ``tests`` may be a function that returns them (loaded only when a failure needs them)."""
    try:
        results = json.loads((folder / "results.json").read_text())
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        if status == "graded":
            status, note = "grader-error", "the grader left no results"
        results = grader_failure(tests() if callable(tests) else tests, "Your submission could not be graded automatically "
                                        f"({note}). Your TA has been told and will grade it.")
        meta = {"failures": {}, "isolation": {}}
        write_json(results, folder / "results.json")
    meta.update({"student": entry.student, "submission": entry.path.name, "fingerprint": print_,
                 "status": status, "note": note, "wall_seconds": round(seconds, 1)})
    write_json(meta, folder / "meta.json")
    (folder / "feedback.txt").write_text(feedback_text(entry.student, results))
    return meta


def feedback_text(student: str, results: dict) -> str:
    rows = results_from_json(results)
    head = f"Feedback for {student}\n{results.get('output', '')}\n"
    return head + "\n" + summary(rows) + "\n"


def row(student: str, folder: Path) -> dict:
    results = json.loads((folder / "results.json").read_text())
    meta = json.loads((folder / "meta.json").read_text())
    tests = results.get("tests", [])
    return {"student": student, "score": results.get("score", 0),
            "max_score": sum(t.get("max_score", 0) for t in tests),
            "status": meta.get("status", "graded"),
            "failed_tests": sum(t.get("status") != "passed" for t in tests),
            "seconds": meta.get("wall_seconds", meta.get("seconds", "")), "note": meta.get("note", ""),
            "_failures": meta.get("failures", {})}


def write_csv(rows: list[dict], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buffer.getvalue())
    os.replace(tmp, path)


def report(rows: list[dict], skipped: list[str]) -> str:
    lines = [f"Graded {len(rows)} submission(s)."]
    if rows:
        scores = [float(r["score"]) for r in rows]
        possible = max(float(r["max_score"]) or 100.0 for r in rows)
        lines.append(f"Scores: mean {statistics.mean(scores):.1f}, median {statistics.median(scores):.1f} "
                     f"of {possible:g}.")
        counts = {label: 0 for _, label in BANDS}
        for score in scores:
            percent = 100.0 * score / possible
            counts[next(label for floor, label in BANDS if percent >= floor)] += 1
        lines.append("Bands: " + ", ".join(f"{label}: {n}" for label, n in counts.items()))
        kinds: dict = {}
        for r in rows:
            for kind, n in r["_failures"].items():
                kinds.setdefault(kind, []).append(r["student"])
        names = {"timeout": "hit a time limit", "memory": "hit the memory limit", "crash": "crashed",
                 "error": "raised errors", "garbled": "sent unreadable answers",
                 "grader": "met an internal grader error"}
        for kind, students in sorted(kinds.items()):
            lines.append(f"Student code that {names.get(kind, kind)}: {len(students)} "
                         f"({', '.join(students[:8])}{' ...' if len(students) > 8 else ''})")
        trouble = [r for r in rows if r["status"] != "graded"]
        if trouble:
            lines.append("Gradings that did not complete (look at their grader.log):")
            lines += [f"  {r['student']}: {r['status']} ({r['note']})" for r in trouble]
    if skipped:
        lines.append("Skipped entries:")
        lines += [f"  {s}" for s in skipped]
    return "\n".join(lines)


def selected_tests(homework: str, args) -> list:
    """The homework's tests that this batch grades (all, or those ``--only`` names)."""
    tests = load_tests(homework)
    if getattr(args, "only", None):
        tests = [t for t in tests if args.only.lower() in t.name.lower()]
    return tests


def grade_locally(homework: str, todo: list[Entry], out_dir: Path, args, tests):
    """Grade ``todo`` on this machine, ``--workers`` at a time; yield (entry, meta) as each finishes
    (meta is an exception when the batch could not grade that entry)."""
    with ThreadPoolExecutor(max(1, args.workers)) as pool:
        futures = {pool.submit(grade_one, homework, e, out_dir, args, tests): e for e in todo}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as err:  # the batch itself must survive anything one entry does
                yield futures[future], err


def batch(homework: str, submissions: Path, out_dir: Path, csv_path: Path, args, progress=True,
          grader=grade_locally) -> list[dict]:
    """Grade every student of ``submissions`` not graded yet; ``grader`` runs the gradings (here, or
    on a cluster: :mod:`autograder.cluster`) and yields each student's (entry, meta) when done."""
    from tqdm.auto import tqdm

    load_spec(homework)  # unknown homework: fail before anything is written
    # The tests (torch and all: seconds of CPU) are loaded only if a grading fails and its results
    # must name them; otherwise the gradings start at once and the batch never loads them.
    tests = lru_cache(maxsize=1)(lambda: selected_tests(homework, args))
    found, skipped = entries(Path(submissions))
    out_dir = Path(out_dir).resolve()  # the per-student graders run from the kit's folder
    out_dir.mkdir(parents=True, exist_ok=True)
    accounts.lock_and_reap([Path(submissions), out_dir])  # no student may read another's work
    todo = [e for e in found if args.force or not finished(out_dir / e.student, fingerprint(e.path))]
    done_before = len(found) - len(todo)
    if done_before:
        print(f"{done_before} submission(s) already graded, skipped (use --force to grade them again).")
    # disable=None: tqdm stays quiet when stderr is not a terminal (a log file, a cluster job).
    with tqdm(total=len(todo), desc=f"grading {homework}", unit="student", file=sys.stderr,
              disable=True if (not progress or args.quiet) else None) as bar:
        for entry, meta in grader(homework, todo, out_dir, args, tests):
            if isinstance(meta, BaseException):
                bar.write(f"{entry.student}: could not be graded ({meta})")
            else:
                bar.set_postfix_str(f"{entry.student}: {meta.get('score', 0)}")
            bar.update(1)
    rows = []
    for entry in found:
        try:
            rows.append(row(entry.student, out_dir / entry.student))
        except (OSError, ValueError) as err:
            skipped.append(f"{entry.student}: no readable results ({err})")
    write_csv(rows, csv_path)
    print(report(rows, skipped))
    print(f"Wrote {csv_path} and {len(rows)} result folder(s) under {out_dir}.")
    from .course_report import write_report
    print(f"Wrote the course report {write_report(homework, Path(submissions), out_dir, rows, skipped)}.")
    return rows


def main(args) -> int:
    from .pipeline import devices

    if not Path(args.submissions).is_dir():
        print(f"error: {args.submissions} is not a folder of submissions", file=sys.stderr)
        return 2
    if getattr(args, "scheduler", None) is None and getattr(args, "cluster", None) is None:
        try:   # graded here: the device must be here (a cluster's workers check their own)
            args.device = devices.resolve(getattr(args, "device", "cpu"))
        except devices.DeviceError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    if getattr(args, "scheduler", None) or getattr(args, "cluster", None):
        from . import cluster

        return cluster.main(args)
    batch(args.homework, Path(args.submissions), Path(args.out_dir), Path(args.csv), args)
    return 0
