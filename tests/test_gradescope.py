"""The Gradescope bundle: built by ``python -m autograder gradescope``, unpacked under a temporary
root that mimics ``/autograder``, set up with its own ``setup.sh`` (package installs skipped: this
machine has them) and run with its own ``run_autograder`` on the stencil and on the reference.

The reference's grading through the bundle is the one full hw4 grading of the suite: the
session fixture ``hw4_bundle_reference`` (conftest.py) shares it with test_grade_hw4."""
from __future__ import annotations

import json
import stat
import zipfile
from pathlib import Path

import pytest

from autograder.gradescope import build
from autograder.pipeline import accounts
import cgroup_support
from conftest import DEFAULT_BOX_MB, set_up_bundle
from grading_support import feedback_text

KIT = Path(__file__).resolve().parents[1]


def test_bundle_holds_the_scripts_and_the_grader_but_no_solutions(tmp_path):
    path = build("hw4", tmp_path / "hw4_gradescope.zip")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "requirements-grader.txt"} <= names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert "autograder/homeworks/hw4/hidden.py" in names and "autograder/models/mnist_classifier.pt" in names
    assert not any(n.startswith(("solutions/", "tests/", "stencil/", "notebooks/")) for n in names)
    assert not any(n.startswith("autograder/homeworks/") and n.split("/")[2].startswith("hw")
                   and n.split("/")[2] != "hw4" for n in names)
    assert build("hw4", tmp_path / "again.zip").read_bytes() == path.read_bytes()  # reproducible


def test_stencil_through_the_bundle_scores_zero_with_feedback(gradescope_root):
    results = gradescope_root(KIT / "stencil" / "hw4")
    assert results["score"] == 0 and len(results["tests"]) > 10
    # Every test says why: the unfinished function, or that what it needed did not complete.
    unexplained = [t["name"] + ": " + feedback_text(t)[:300] for t in results["tests"]
                   if "NotImplementedError" not in feedback_text(t) and "did not complete" not in feedback_text(t)]
    assert not unexplained, unexplained


def test_setup_keeps_the_graders_own_data_to_root_and_opens_the_rest(tmp_path):
    """hw2's gradings keep their training set on disk (autograder/pipeline/kept.py): setup.sh makes
    it with the data, then opens the data to the sandbox's users, all but that folder."""
    root, _ = set_up_bundle("hw2", tmp_path)
    data, grader = root / "data", root / "data" / "grader"
    kept = grader / "hw2-train.pt"
    assert kept.is_file() and kept.stat().st_size > 7_000_000
    assert stat.S_IMODE(grader.stat().st_mode) == 0o700 and kept.stat().st_mode & 0o077 == 0
    assert data.stat().st_mode & stat.S_IROTH
    emoji = [p for p in (data / "emoji").rglob("*") if p.is_file()]
    assert emoji and all(p.stat().st_mode & stat.S_IROTH for p in emoji)


@pytest.mark.slow
def test_reference_through_the_bundle_gets_full_marks(hw4_bundle_reference):
    results, root = hw4_bundle_reference
    assert results["score"] == 100, json.dumps(results, indent=1)[:3000]
    if accounts.is_root():
        # setup.sh locked the grader's own files to root; the data stayed readable for the sandbox.
        hidden = root / "source" / "autograder" / "homeworks" / "hw4" / "hidden.py"
        assert hidden.stat().st_mode & 0o077 == 0
        assert (root / "data").stat().st_mode & stat.S_IROTH


@pytest.mark.slow
@pytest.mark.skipif(not cgroup_support.available(), reason="needs root and a writable v1 memory cgroup")
def test_the_reference_gets_full_marks_inside_gradescopes_default_box(hw4_bundle_reference, gradescope_root):
    """The bundle, run in a 768 MB memory cgroup (as a grading container is limited), picks one job
    from the box it finds and grades the reference without any process ended for memory."""
    results, _ = hw4_bundle_reference
    box = gradescope_root.boxes[str(KIT / "solutions" / "hw4")]
    assert box.limit_mb == DEFAULT_BOX_MB
    assert "--jobs 1 " in box.completed.stdout, box.completed.stdout[-1000:]
    assert box.oom_kills == 0 and box.peak_mb <= DEFAULT_BOX_MB, (box.oom_kills, box.peak_mb)
    assert results["score"] == 100, json.dumps(results, indent=1)[:3000]


def _jobs_line(script: str) -> str:
    return next(line for line in script.splitlines() if line.startswith("JOBS="))


@pytest.mark.parametrize("forced, env, expected", [(None, {"AEKIT_JOBS": "1"}, "1"), (1, {}, "1"),
                                                   (None, {"AEKIT_JOBS": "junk"}, "1")])
def test_run_autograder_chooses_jobs_from_the_box_or_the_instructor(tmp_path, forced, env, expected):
    import os
    import subprocess
    import sys

    path = build("hw4", tmp_path / "hw4.zip", jobs=forced)
    with zipfile.ZipFile(path) as zf:
        script = zf.read("run_autograder").decode()
    assert '--jobs "$JOBS"' in script
    line = _jobs_line(script) + '\necho "$JOBS"'
    environ = {k: v for k, v in os.environ.items() if k != "AEKIT_JOBS"} | env | {"PY": sys.executable}
    done = subprocess.run(["bash", "-c", line], cwd=KIT, env=environ, capture_output=True, text=True)
    assert done.stdout.strip() == expected


def test_run_autograder_reads_the_box_when_nothing_is_forced(tmp_path):
    import os
    import subprocess
    import sys

    from autograder import box

    with zipfile.ZipFile(build("hw4", tmp_path / "hw4.zip")) as zf:
        line = _jobs_line(zf.read("run_autograder").decode()) + '\necho "$JOBS"'
    environ = {k: v for k, v in os.environ.items() if k != "AEKIT_JOBS"} | {"PY": sys.executable}
    done = subprocess.run(["bash", "-c", line], cwd=KIT, env=environ, capture_output=True, text=True)
    assert done.stdout.strip() == str(box.jobs(box.read()))
