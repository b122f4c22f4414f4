"""Homework 5 hand-ins a TA meets: the two zips (tested in test_grade_hw5.py), or the student's homework
folder itself (``answer/`` and ``outputs/``), graded the same way as every other homework's folder
(test_grade_hw5.py grades the reference's folder end to end from the command line)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from grading_support import grade
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
    # The unit tests are graded; the honesty test names the missing codes (one trainings at a time:
    # it fails before the grader retrains anything).
    results = grade("hw5", folder, tests=[hidden.UNIT_TESTS[0], hidden.honesty], options={"jobs": 1})
    assert results["tests"][0]["score"] == hidden.UNIT_TESTS[0].points, results["tests"][0]["output"]
    honesty = feedback_text(results["tests"][1])
    assert results["tests"][1]["score"] == 0 and "outputs/dev.npy" in honesty, honesty


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
