"""Homework 5 hand-ins a TA meets: the two zips (tested in test_grade_hw5.py), or the student's homework
folder itself (``answer/`` and ``outputs/``), graded the same way as every other homework's folder."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.grade import grade
from autograder.homeworks.hw5 import hidden, hooks
from autograder.pipeline.unpack import SubmissionError, unpacked
from data import signs
from grading_support import feedback_text

KIT = Path(__file__).resolve().parents[1]
SOLUTION = KIT / "solutions" / "hw5"


def homework_folder(tmp_path: Path, codes: bool) -> Path:
    folder = tmp_path / "hw5"
    shutil.copytree(SOLUTION / "answer", folder / "answer")
    if codes:
        sizes = signs.sizes()
        rng = np.random.default_rng(3)
        (folder / "outputs").mkdir()
        for split in ("dev", "test"):
            np.save(folder / "outputs" / f"{split}.npy", rng.normal(size=(sizes[split], 6)).astype(np.float32))
    return folder


def test_a_homework_folder_is_read_like_the_zips(tmp_path):
    folder = homework_folder(tmp_path, codes=True)
    with unpacked(folder, ("source.zip", "output.zip")) as copy:
        workdir = hooks.prepare(copy)
        assert workdir == copy / "answer" and (workdir / "vae.py").is_file()
        got = hooks.uploaded(workdir)
        assert got["problem"] == "" and got["dev"].shape == (signs.sizes()["dev"], 6)
        assert not list(copy.rglob("*.npy")), "the codes stay in the grader's memory only"
    assert (folder / "outputs" / "dev.npy").is_file(), "the TA's folder itself is never changed"


def test_a_folder_without_codes_is_graded_and_the_missing_codes_are_named(tmp_path):
    folder = homework_folder(tmp_path, codes=False)
    with unpacked(folder, ("source.zip", "output.zip")) as copy:
        problem = hooks.uploaded(hooks.prepare(copy))["problem"]
    assert "outputs/dev.npy" in problem and "python answer/vae.py" in problem
    results = grade("hw5", folder, tests=hidden.UNIT_TESTS[:1])
    assert results["tests"][0]["score"] == hidden.UNIT_TESTS[0].points, results["tests"][0]["output"]


def test_half_an_upload_or_no_homework_is_one_clear_message(tmp_path):
    folder = homework_folder(tmp_path, codes=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing here")
    results = grade("hw5", empty, tests=hidden.UNIT_TESTS[:1])
    assert results["score"] == 0 and "answer/vae.py" in results["tests"][0]["output"]
    assert "<homework>" not in results["tests"][0]["output"]
    half = tmp_path / "half"
    half.mkdir()
    shutil.make_archive(str(half / "source"), "zip", folder / "answer")
    with unpacked(half, ("source.zip", "output.zip")) as copy:
        with pytest.raises(SubmissionError, match="no output.zip"):
            hooks.prepare(copy)


def test_missing_files_name_the_homework():
    from autograder.grade import missing_files_results
    from autograder.homeworks import load_tests

    results = missing_files_results("hw4", load_tests("hw4")[:1], ["vae.py"])
    assert "python zipsrc.py hw4" in results[0].output and "<homework>" not in results[0].output


@pytest.mark.slow
def test_grading_the_reference_folder_from_the_command_line(tmp_path):
    """``python -m autograder grade hw5 solutions/hw5``, as a TA types it: the grader retrains the model
    and gives the reference its A; only the honesty test, which needs the codes the student wrote,
    says they are missing."""
    folder = tmp_path / "hw5"
    shutil.copytree(SOLUTION, folder, ignore=shutil.ignore_patterns("outputs", "__pycache__"))
    out = tmp_path / "results.json"
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "hw5", str(folder), "--out", str(out),
                          "--quiet"], cwd=KIT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    tests = {t["name"]: t for t in json.loads(out.read_text())["tests"]}
    honesty = next(t for t in hidden.TESTS if t.name.startswith("Honesty"))
    assert "outputs/dev.npy" in feedback_text(tests[honesty.name])
    for test in hidden.TESTS:
        if test is hidden.clustering:  # the reference earns an A, not every mark of the table
            text = feedback_text(tests[test.name])
            assert "Row reached: A" in text and tests[test.name]["score"] >= 0.9 * test.points, text
        elif test is not honesty:
            assert tests[test.name]["score"] == test.points, feedback_text(tests[test.name])
