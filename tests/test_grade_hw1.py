"""Grading homework 1 end to end: the reference, the untouched stencil, one-bug submissions, the
public checks, and packaging with zipsrc.py / zipout.py. Tests marked ``slow`` train for real
(the reference grading takes one to one and a half minutes on two cores); CI runs them."""
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grading_support import grade
from autograder.homeworks import load_spec
from autograder.homeworks.hw1 import hidden
from grading_support import (assert_failed_tests_say, assert_graded_stencil, assert_one_bug_costs_only, build,
                             feedback_of)

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw1"
STENCIL = KIT / "stencil" / "hw1"
SPEC = load_spec("hw1")


def test_untouched_stencil_scores_at_most_5_percent_with_feedback_on_every_test(tmp_path):
    results = grade("hw1", STENCIL, tmp_path / "results.json", timeout=120)
    assert_graded_stencil(results, hidden, tmp_path / "results.json", most=5)
    assert_failed_tests_say(results, "NotImplementedError", "TODO: fill in")


# One bug each, graded on the unit tests only (the bug cannot reach training): each loses the points
# of exactly one test, and that test's feedback names the mistake.
ONE_BUG = {
    "gaussian_missing_constant": (
        [("likelihoods.py", "nll = squared_error / (2 * variance) + 0.5 * pixels * math.log(2 * math.pi * variance)",
          "nll = squared_error / (2 * variance)")],
        hidden.gaussian_constant, "constant term (D/2) log(2 pi sigma^2) is missing"),
    "gaussian_sigma_ignored": (
        [("likelihoods.py", "nll = squared_error / (2 * variance) + ", "nll = squared_error / 2 + ")],
        hidden.gaussian_squared_error, "sigma is ignored in the squared-error term"),
    "gaussian_constant_uses_sigma": (
        [("likelihoods.py", "math.log(2 * math.pi * variance)", "math.log(2 * math.pi * float(sigma))")],
        hidden.gaussian_constant, "uses log(2 pi sigma)"),
    "bernoulli_not_clamped": (
        [("likelihoods.py", "    p = p.clamp(EPS, 1 - EPS)\n", "")],
        hidden.bernoulli_saturated, "clamp p"),
    "uniform_out_of_bounds": (
        [("autoencoder.py", "(high - low) * torch.rand(num_samples", "(high - low) * torch.randn(num_samples")],
        hidden.uniform_sampler, "leave the box"),
    "gaussian_sampler_diagonal": (
        [("autoencoder.py", "    covariance = torch.atleast_2d(torch.cov(data.T))\n",
          "    covariance = torch.diag(data.var(dim=0))\n")],
        hidden.gaussian_sampler, "fitted only the variances"),
}


@pytest.mark.parametrize("bug", sorted(ONE_BUG))
def test_one_bug_loses_only_its_points(tmp_path, bug):
    patches, test, words = ONE_BUG[bug]
    results = grade("hw1", build("hw1", tmp_path / bug, patches, times=1), tests=hidden.UNIT_TESTS)
    assert_one_bug_costs_only(results, hidden, [test], bug=bug)
    assert words in feedback_of(results, test), feedback_of(results, test)


def test_public_checks_pass_on_the_reference_and_fail_on_the_stencil():
    from autograder.check import check

    ok = subprocess.run([sys.executable, "-m", "autograder", "check", "hw1", str(REFERENCE)], cwd=KIT,
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "8 of 8 checks passed" in ok.stdout
    stencil = check("hw1", STENCIL)
    assert len(stencil) == 8
    for result in stencil:
        assert result.status == "failed" and "NotImplementedError" in result.output, (result.name, result.output)
        assert "TODO: fill in" in result.output


# ----------------------------------------------------------------------------- packaging
DRIVER = """
import sys
sys.argv = ["assignment.py"]
import assignment
from data import mnist

def small(batch_size, split="train", shuffle=True, limit=None):
    return mnist.loader(split, batch_size=batch_size, shuffle=shuffle, seed=0, limit=512)

assignment.load_mnist = small
for likelihood in ("gaussian", "bernoulli"):
    assignment.main(assignment.parseArguments(["--likelihood", likelihood, "--num_epochs", "1"]))
"""


def run(command, cwd, timeout=300):
    return subprocess.run([sys.executable, *command], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_zipsrc_and_zipout_package_the_reference(tmp_path):
    folder = build("hw1", tmp_path / "hw1")
    made = subprocess.run([sys.executable, "-c", DRIVER], cwd=folder, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{folder}:{KIT}", "MPLBACKEND": "Agg",
                               "HOME": str(tmp_path), "OMP_NUM_THREADS": "1"})
    assert made.returncode == 0, made.stderr[-3000:]
    losses = json.loads((folder / "outputs" / "gaussian_losses.json").read_text())
    assert losses["likelihood"] == "gaussian" and len(losses["per_image_loss"]) == 1

    source = run([str(KIT / "zipsrc.py"), "hw1", "--dir", str(folder), "--notebook", str(KIT / "notebooks" / "hw1.ipynb"),
                  "--out", str(tmp_path / "src.zip")], cwd=tmp_path)
    assert source.returncode == 0, source.stderr
    with zipfile.ZipFile(tmp_path / "src.zip") as zf:
        assert set(zf.namelist()) == {*SPEC.source_files, "hw1.ipynb"}
    outputs = run([str(KIT / "zipout.py"), "hw1", "--dir", str(folder), "--out", str(tmp_path / "out.zip")],
                  cwd=tmp_path)
    assert outputs.returncode == 0, outputs.stderr
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert set(zf.namelist()) == set(SPEC.output_files)


def test_zip_scripts_default_to_the_stencil(tmp_path):
    source = run([str(KIT / "zipsrc.py"), "hw1"], cwd=tmp_path)
    assert source.returncode == 0, source.stderr
    with zipfile.ZipFile(tmp_path / "hw1_source.zip") as zf:
        assert set(zf.namelist()) >= {*SPEC.source_files, "hw1.ipynb"}
    if not (STENCIL / "outputs").is_dir():
        refused = run([str(KIT / "zipout.py"), "hw1"], cwd=tmp_path)
        assert refused.returncode == 1 and not (tmp_path / "hw1_outputs.zip").exists()
        assert "8 output file(s) missing" in refused.stderr and "--likelihood bernoulli" in refused.stderr
        assert "Traceback" not in refused.stderr


# ----------------------------------------------------------------------------- slow: real training
@pytest.fixture(scope="module")
def reference_results(tmp_path_factory):
    start = time.monotonic()
    results = grade("hw1", REFERENCE, tmp_path_factory.mktemp("ref") / "results.json")
    print(f"hw1 reference graded in {time.monotonic() - start:.1f} s")
    return results


@pytest.mark.slow
def test_reference_gets_full_marks(reference_results):
    assert reference_results["score"] == 100, json.dumps(reference_results, indent=1)[:3000]
    for test in hidden.TRAINING_TESTS:
        text = feedback_of(reference_results, test)
        assert "squared error of" in text
        print(text)


@pytest.mark.slow
def test_training_bug_loses_only_the_training_points(tmp_path):
    # `return` indented into the loop: every epoch stops after one batch, so the models barely learn.
    patches = [("assignment.py", "        total_loss += loss.item()\n",
                "        total_loss += loss.item()\n        return total_loss\n")]
    results = grade("hw1", build("hw1", tmp_path / "return_in_loop", patches, times=1))
    assert_one_bug_costs_only(results, hidden, hidden.TRAINING_TESTS, below=0.5)
    for test in hidden.TRAINING_TESTS:
        assert "full marks need < 15" in feedback_of(results, test)
