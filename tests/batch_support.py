"""What the batch, cluster and SLURM tests share: copying a submission, running the batch verb,
reading its grade table, and the class of six students that tests/test_batch.py grades locally
and tests/test_cluster.py grades again on a Dask cluster (the session fixture ``first_batch`` in
tests/conftest.py grades it once for both)."""
from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw4"
STENCIL = KIT / "stencil" / "hw4"
# Only hw4's reparametrize tests (each grading takes seconds); a grading that hangs is stopped at 40 s.
FAST = ["--only", "reparametrize", "--timeout", "30", "--limit", "40", "--quiet"]


def copy_submission(source: Path, target: Path, prelude: str = "") -> None:
    """A student's folder made from ``source``, with ``prelude`` run when its vae.py is imported."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    if prelude:
        vae = target / "vae.py"
        vae.write_text(vae.read_text() + "\n" + prelude)


def run_batch(*args, cwd=KIT, wait=True):
    """``python -m autograder batch hw4 ARGS`` in its own process, as a TA runs it: its
    CompletedProcess, or with ``wait=False`` the running Popen (output piped)."""
    command = [sys.executable, "-m", "autograder", "batch", "hw4", *map(str, args)]
    env = dict(os.environ, PYTHONPATH=str(KIT))  # the kit may be run from another folder
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def rows(table: Path) -> dict:
    """The grade table, one row per student."""
    with open(table, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def mixed_class(subs: Path) -> None:
    """Good, unfinished, hanging, crashing and hostile students, a zip, and a stray file."""
    subs.mkdir(parents=True)
    copy_submission(REFERENCE, subs / "alice")
    copy_submission(STENCIL, subs / "bob")
    # Hangs on import. It sleeps: the wall-clock limit is what stops it either way, and the other
    # tests keep the core (busy hangs are tests/test_threats.py's and tests/test_grade_hw4.py's).
    copy_submission(REFERENCE, subs / "carol", "import time\nwhile True:\n    time.sleep(1)\n")
    copy_submission(REFERENCE, subs / "dave", "import os\nos._exit(3)\n")          # crashes on import
    copy_submission(REFERENCE, subs / "erin",                                       # attacks its grader
                    "import os, signal\ntry:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass\n")
    shutil.make_archive(str(subs / "frank"), "zip", REFERENCE)                      # a zip is fine too
    (subs / "notes.txt").write_text("not a submission\n")


def grade_first_batch(root: Path) -> dict:
    """Grade :func:`mixed_class` with the local batch (two at a time) under ``root``; a copy of the
    class and of what the batch wrote stays in ``root / "first"`` whatever later tests change."""
    subs, out, table = root / "submissions", root / "results", root / "grades.csv"
    mixed_class(subs)
    args = [subs, "--workers", "2", "--csv", table, "--out-dir", out, *FAST]
    first = run_batch(*args)
    kept = root / "first"
    shutil.copytree(subs, kept / "submissions")
    if out.is_dir():
        shutil.copytree(out, kept / "results")
    if table.is_file():
        shutil.copyfile(table, kept / "grades.csv")
    return {"subs": subs, "out": out, "table": table, "args": args, "first": first, "root": root, "kept": kept}
