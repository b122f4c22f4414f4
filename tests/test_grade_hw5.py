"""Grading homework 5 end to end: uploads of source.zip + output.zip, the untouched stencil, the given
default, raw-pixel codes, an upload that disagrees with its code, and the reference (its homework
folder, graded from the command line). Tests that train are marked ``slow`` (the default trains in
about a second, the reference in about 45 s).

Submissions are made the way students make them: the variant's ``answer/vae.py`` writes its codes,
``zipsrc.py hw5`` and ``zipout.py hw5`` package them, and the grader gets the folder holding both zips.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import zipout
import zipsrc
from grading_support import grade
from autograder.homeworks.hw5 import hidden, hooks, scoring
from autograder.pipeline.unpack import SubmissionError, unpacked
from data import signs
from grading_support import assert_failed_tests_say, assert_graded_stencil, assert_public_checks, feedback_of, full, scores

KIT = Path(__file__).resolve().parents[1]
SOLUTION = KIT / "solutions" / "hw5"
STENCIL = KIT / "stencil" / "hw5"


# ----------------------------------------------------------------------------- helpers
def answer_folder(tmp_path: Path, name: str, source: Path, patches=()) -> Path:
    """``tmp/name/answer`` holding ``source`` as vae.py (with ``(old, new)`` text patches) and the notebook."""
    folder = tmp_path / name / "answer"
    folder.mkdir(parents=True)
    text = source.read_text()
    for old, new in patches:
        assert text.count(old) == 1, f"patch no longer applies: {old!r}"
        text = text.replace(old, new)
    (folder / "vae.py").write_text(text)
    shutil.copy(SOLUTION / "answer" / "vae.ipynb", folder / "vae.ipynb")
    return folder


def run_main(answer: Path, out: Path, seed: int = 0) -> Path:
    """``python answer/vae.py --out OUT --seed SEED`` in a fresh one-thread process, as a student runs it."""
    env = dict(os.environ, PYTHONPATH=str(KIT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    run = subprocess.run([sys.executable, str(answer / "vae.py"), "--out", str(out), "--seed", str(seed)],
                         cwd=answer.parent, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def write_codes(out: Path, dev: np.ndarray, test: np.ndarray) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "dev.npy", dev.astype(np.float32))
    np.save(out / "test.npy", test.astype(np.float32))
    return out


def upload(answer: Path, codes: Path) -> Path:
    """The folder a student uploads: source.zip (from answer/) and output.zip (from codes/)."""
    folder = answer.parent / "upload"
    folder.mkdir(exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        assert zipsrc.main(["hw5", "--dir", str(answer), "--out", str(folder / "source.zip")]) == 0
        assert zipout.main(["hw5", "--dir", str(codes), "--out", str(folder / "output.zip")]) == 0
    return folder


def random_codes(dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    sizes = signs.sizes()
    return rng.normal(size=(sizes["dev"], dim)), rng.normal(size=(sizes["test"], dim))


# ----------------------------------------------------------------------------- fast
def test_random_codes_score_about_zero_and_separated_codes_score_high():
    gold = signs.labels("dev")
    noise = [scoring.score(np.random.default_rng(seed).normal(size=(gold.size, 16)), gold).value for seed in range(3)]
    assert all(abs(v) < 2 for v in noise), noise
    angle = 2 * np.pi * gold / 52  # each letter its own point on a circle, plus a little noise
    separated = np.stack([np.cos(angle), np.sin(angle)], 1) * 10 + np.random.default_rng(0).normal(size=(gold.size, 2)) * 0.01
    result = scoring.score(separated, gold)
    assert result.value > 60 and dict(result.per_k)[result.classes] > 99
    with pytest.raises(scoring.CodesError, match="4096 dimensions"):
        scoring.score(signs.images("dev").reshape(gold.size, -1), gold)


def test_grade_table_lookup_and_validation(tmp_path):
    rows = scoring.load_table()
    assert [r.grade for r in rows][:2] == ["F", "D"] and rows[-1].grade == "A+" and rows[-1].marks == 100
    row, following = scoring.reached(rows, 0.5, 0.5)
    assert row.grade == "F" and following.grade == "D"
    row, following = scoring.reached(rows, 40.0, 20.0)   # a row needs both its scores
    assert row.grade == "C+" and following.grade == "B-"
    row, following = scoring.reached(rows, 31.0, 36.0)
    assert row.grade == "A+" and following is None
    assert scoring.reached(rows, -1.0, 50.0)[0] is None
    bad = tmp_path / "table.csv"
    bad.write_text("score_dev,score_test,marks,grade\n10,10,60,C\n5,12,70,B\n")
    with pytest.raises(scoring.TableError, match="must not fall"):
        scoring.load_table(bad)
    bad.write_text("# a comment\nscore_dev,score_test,marks,grade\nten,1,2,D\n")
    with pytest.raises(scoring.TableError, match="row 1"):
        scoring.load_table(bad)


def test_prepare_opens_both_nested_zips_and_keeps_the_codes_out_of_reach(tmp_path):
    answer = answer_folder(tmp_path, "ok", SOLUTION / "answer" / "vae.py")
    dev, test = random_codes()
    folder = upload(answer, write_codes(tmp_path / "ok" / "codes", dev, test))
    with unpacked(folder, ("source.zip", "output.zip")) as copy:
        workdir = hooks.prepare(copy)
        assert (workdir / "vae.py").is_file() and (workdir / "vae.ipynb").is_file() and workdir.name == "answer"
        got = hooks.uploaded(workdir)
        assert got["problem"] == "" and np.allclose(got["dev"], dev.astype(np.float32))
        assert not list(copy.rglob("dev.npy")), "the uploaded codes stay in the grader's memory only"


def test_missing_or_hostile_zips_are_refused_with_one_message(tmp_path):
    answer = answer_folder(tmp_path, "partial", SOLUTION / "answer" / "vae.py")
    folder = upload(answer, write_codes(tmp_path / "partial" / "codes", *random_codes()))
    (folder / "output.zip").unlink()
    results = grade("hw5", folder, tests=hidden.UNIT_TESTS[:1])
    assert results["score"] == 0 and "no output.zip" in results["tests"][0]["output"]
    with zipfile.ZipFile(folder / "output.zip", "w") as zf:
        zf.writestr("../../escape.npy", b"x")
    results = grade("hw5", folder, tests=hidden.UNIT_TESTS[:1])
    assert "output.zip" in results["output"] and "outside the submission folder" in results["output"]
    with pytest.raises(SubmissionError, match="output.zip"):
        with unpacked(folder, ("source.zip", "output.zip")) as copy:
            hooks.prepare(copy)


def test_untouched_stencil_scores_zero_with_feedback_on_every_test(tmp_path):
    answer = tmp_path / "stencil" / "answer"
    shutil.copytree(STENCIL / "answer", answer)
    folder = upload(answer, write_codes(tmp_path / "stencil" / "codes", *random_codes()))
    outer = tmp_path / "hw5_upload.zip"  # one zip holding both zips is accepted too
    with zipfile.ZipFile(outer, "w") as zf:
        for name in ("source.zip", "output.zip"):
            zf.write(folder / name, f"my upload/{name}")
    results = grade("hw5", outer, tmp_path / "results.json", timeout=120)
    assert_graded_stencil(results, hidden, tmp_path / "results.json")
    assert_failed_tests_say(results, "NotImplementedError", "TODO: fill in")


def test_public_checks_pass_on_the_reference_and_fail_on_the_stencil():
    assert_public_checks("hw5", SOLUTION / "answer")


# ----------------------------------------------------------------------------- the given default
@pytest.fixture(scope="module")
def default_upload(tmp_path_factory):
    """The given default as a student's answer/vae.py, with its own honest codes."""
    tmp = tmp_path_factory.mktemp("default")
    answer = answer_folder(tmp, "default", SOLUTION / "default.py")
    codes = run_main(answer, tmp / "default" / "codes")
    return upload(answer, codes)


@pytest.fixture(scope="module")
def default_results(default_upload):
    return grade("hw5", default_upload, timeout=300)


@pytest.mark.slow
def test_default_runs_end_to_end_and_earns_a_d(default_results):
    got = scores(default_results)
    for test in (hidden.reparametrize, hidden.kld, hidden.vae_loss, hidden.codes, hidden.honesty):
        assert got[test.name] == full(hidden, test), feedback_of(default_results, test)
    assert not any("architecture" in name for name in got), "the architecture is the student's choice"
    text = feedback_of(default_results, hidden.clustering)
    print("default:", text.splitlines()[0])
    assert "Row reached: D (55 marks)" in text and "Next row: C- (60 marks) needs dev >= 10 and test >= 12" in text
    assert got[hidden.clustering.name] == pytest.approx(0.55 * hidden.MARKS_POINTS)


@pytest.mark.slow
@pytest.mark.parametrize("bug, words", [
    ("pixels", "4096 dimensions"),
    ("sampled", "not the posterior mean"),
])
def test_codes_that_are_not_low_dimensional_posterior_means_earn_nothing(tmp_path, default_upload, bug, words):
    old = "        codes = torch.cat([model(images[i:i + batch_size])[1] for i in range(0, images.shape[0], batch_size)])\n"
    new = {"pixels": "        codes = images.flatten(1)\n",
           "sampled": "        codes = torch.cat([reparametrize(*model(images[i:i + batch_size])[1:]) "
                      "for i in range(0, images.shape[0], batch_size)])\n"}[bug]
    answer = answer_folder(tmp_path, bug, SOLUTION / "default.py", [(old, new)])
    folder = upload(answer, write_codes(tmp_path / bug / "codes", *random_codes()))
    results = grade("hw5", folder, tests=hidden.TRAINING_TESTS, timeout=300)
    for item in results["tests"]:
        assert item["score"] == 0, item
    assert words in feedback_of(results, hidden.codes) and words in feedback_of(results, hidden.clustering)


@pytest.mark.slow
@pytest.mark.parametrize("borrowed", ["other_model", "better_codes"])
def test_uploaded_codes_that_disagree_with_the_code_are_flagged(tmp_path, default_upload, default_results, borrowed):
    # The default's code, but output.zip holds codes from elsewhere: the principal components of the pixels
    # (another model, 16 numbers), or 2 numbers that separate the letters far better than the default can.
    if borrowed == "other_model":
        from sklearn.decomposition import PCA

        pca = PCA(16, random_state=0).fit(signs.images("train").reshape(-1, 4096))
        dev, test = (pca.transform(signs.images(s).reshape(-1, 4096)) for s in ("dev", "test"))
    else:
        rng = np.random.default_rng(1)
        dev, test = (np.stack([np.cos(a), np.sin(a)], 1) * 10 + rng.normal(size=(a.size, 2))
                     for a in (2 * np.pi * signs.grader_labels(s) / 52 for s in ("dev", "test")))
    answer = answer_folder(tmp_path, borrowed, SOLUTION / "default.py")
    folder = upload(answer, write_codes(tmp_path / borrowed / "codes", dev, test))
    results = grade("hw5", folder, tests=hidden.TRAINING_TESTS, timeout=300)
    got = scores(results)
    feedback = feedback_of(results, hidden.honesty)
    assert got[hidden.honesty.name] == 0
    assert "FLAGGED" in feedback and "a ta will look" in feedback.lower()
    assert ("dimensions" if borrowed == "other_model" else "difference") in feedback
    # The marks come from the grader's retraining only: identical to the honest default's.
    assert feedback_of(results, hidden.clustering) == feedback_of(default_results, hidden.clustering)
    assert got[hidden.codes.name] == full(hidden, hidden.codes)


# ----------------------------------------------------------------------------- slow: the reference
@pytest.fixture(scope="module")
def reference_graded(tmp_path_factory):
    """The reference as a TA meets it most often: the student's homework folder (``answer/`` and the
    codes its own run wrote to ``outputs/``), graded from the command line as a TA types it. The
    student's run used another seed than the grader's retraining (--seed 0): an honest upload that is
    not bit-identical to the recomputed codes must still agree. Returns (the run, results.json)."""
    root = tmp_path_factory.mktemp("reference")
    answer = answer_folder(root, "hw5", SOLUTION / "answer" / "vae.py")
    run_main(answer, root / "hw5" / "outputs", seed=1)
    out = root / "results.json"
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "hw5", str(root / "hw5"), "--out", str(out),
                          "--quiet"], cwd=KIT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    return run, json.loads(out.read_text())


@pytest.mark.slow
def test_reference_reaches_b_or_better_and_its_codes_agree(reference_graded):
    results = reference_graded[1]
    got = scores(results)
    for test in hidden.UNIT_TESTS + [hidden.codes, hidden.honesty]:
        assert got[test.name] == full(hidden, test), feedback_of(results, test)
    text = feedback_of(results, hidden.clustering)
    print("reference:", text.splitlines()[0], "|", text.splitlines()[1])
    print("honesty:", feedback_of(results, hidden.honesty))
    assert got[hidden.clustering.name] >= 0.80 * hidden.MARKS_POINTS, text


@pytest.mark.slow
def test_grading_the_reference_folder_from_the_command_line(reference_graded):
    """``python -m autograder grade hw5 FOLDER``: the grader retrains the model and gives the reference
    its A; every other test gets full marks."""
    run, results = reference_graded
    assert "Total" in run.stdout and "Traceback" not in run.stderr
    for test in hidden.TESTS:
        text = feedback_of(results, test)
        if test is hidden.clustering:  # the reference earns an A, not every mark of the table
            assert "Row reached: A" in text and scores(results)[test.name] >= 0.9 * test.points, text
        else:
            assert scores(results)[test.name] == full(hidden, test), text


def test_check_script_scores_dev_codes_like_the_grader(tmp_path):
    codes = write_codes(tmp_path / "codes", *random_codes(dim=4, seed=3))
    script = STENCIL / "check.py"
    run = subprocess.run([sys.executable, str(script), "--codes", str(codes / "dev.npy")], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    expected = scoring.score(np.load(codes / "dev.npy"), signs.labels("dev")).value
    assert f"Dev score of {codes / 'dev.npy'} (4-dimensional codes): {expected:.2f}" in run.stdout
    assert "A+" in run.stdout and "test >=" in run.stdout
    missing = subprocess.run([sys.executable, str(script), "--codes", str(tmp_path / "none.npy")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "python answer/vae.py" in missing.stdout
