"""Grading homework 4 end to end: the reference, the untouched stencil, one-bug submissions,
broken uploads and hostile unit code. Tests marked ``slow`` train for real (about two minutes per
grading on two cores); CI runs them."""
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grading_support import grade
from autograder.homeworks.hw4 import hidden
from grading_support import (assert_failed_tests_say, assert_graded_stencil, assert_one_bug_costs_only,
                             assert_public_checks, build, feedback_text, names, texts)

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw4"
STENCIL = KIT / "stencil" / "hw4"


def submission(tmp_path: Path, name: str, patches=()) -> Path:
    return build("hw4", tmp_path / name, patches, times=1)


def test_untouched_stencil_scores_zero_with_feedback_on_every_test(tmp_path):
    results = grade("hw4", STENCIL, tmp_path / "results.json", timeout=120)
    assert_graded_stencil(results, hidden, tmp_path / "results.json")
    assert_failed_tests_say(results, "NotImplementedError", "did not complete", any_word=True)
    on_disk = json.loads((tmp_path / "results.json").read_text())
    for key in ("score", "execution_time", "output", "tests"):
        assert key in on_disk
    for item in on_disk["tests"]:
        assert set(item) >= {"name", "score", "max_score", "status", "output", "visibility"}


def test_missing_file_fails_every_test_with_one_clear_message(tmp_path):
    folder = submission(tmp_path, "no_assignment")
    (folder / "assignment.py").unlink()
    results = grade("hw4", folder)
    assert results["score"] == 0
    assert all("no assignment.py" in t["output"] for t in results["tests"])


def test_not_a_zip_and_path_escape_are_refused_cleanly(tmp_path):
    fake = tmp_path / "upload.zip"
    fake.write_bytes(b"this is not a zip")
    assert "neither a folder nor a zip" in grade("hw4", fake)["output"]
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.py", "print('out')")
        zf.writestr("vae.py", "")
    results = grade("hw4", evil)
    assert results["score"] == 0 and "outside the submission folder" in results["tests"][0]["output"]
    assert not (tmp_path.parent / "escape.py").exists()


def test_zip_with_a_wrapping_folder_is_found(tmp_path):
    folder = submission(tmp_path, "wrapped")
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.glob("*.py"):
            zf.write(path, f"my_hw4/{path.name}")
    results = grade("hw4", archive, tests=hidden.UNIT_TESTS[:3])
    assert results["score"] == sum(t.points for t in hidden.UNIT_TESTS[:3])


def test_cli_exits_zero_after_grading_and_two_for_unknown_homework(tmp_path):
    out = tmp_path / "r.json"
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "hw4", str(STENCIL), "--out", str(out),
                          "--quiet", "--timeout", "60"], cwd=KIT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text())["score"] == 0 and "Total 0 / 100" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "autograder", "grade", "hw9", str(STENCIL)], cwd=KIT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "not a homework of this kit" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr


@pytest.mark.parametrize("bug, lost", [
    ("hang", names(hidden.one_hot)),
    ("exit", names(hidden.loss_function, hidden.loss_kl_term)),
])
def test_hostile_unit_code_fails_only_its_own_tests(tmp_path, bug, lost):
    patches = {
        "hang": [("assignment.py", "    targets = torch.zeros(labels.shape[0], class_size, device=labels.device)\n",
                  "    while True:\n        pass\n")],
        "exit": [("vae.py", "    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n",
                  "    import sys\n    sys.exit(0)\n")],
    }[bug]
    results = grade("hw4", submission(tmp_path, bug, patches), tests=hidden.UNIT_TESTS,
                    options={"call_timeout": 15})
    assert_one_bug_costs_only(results, hidden, lost, bug=bug)
    feedback = next(feedback_text(t) for t in results["tests"] if t["name"] in lost)
    assert ("did not finish within 15 seconds" in feedback) if bug == "hang" else ("sys.exit(0)" in feedback)


def test_public_checks_pass_on_the_reference_and_fail_on_the_stencil():
    from autograder.homeworks.hw4 import public

    # The CVAE-samples check needs a trained CVAE (checkpoints/cvae.pt); neither folder has one.
    for results in assert_public_checks("hw4", REFERENCE, STENCIL, untrained=[public.cvae_digits]):
        untrained = next(r for r in results if r.name == public.cvae_digits.name)
        assert untrained.status == "failed" and "assignment.py --is_cvae" in untrained.output


# ----------------------------------------------------------------------------- slow: real training
@pytest.fixture(scope="module")
def reference_results(hw4_bundle_reference):
    """The reference's full grading, run once through the Gradescope bundle (see conftest.py)."""
    return hw4_bundle_reference[0]


@pytest.mark.slow
def test_reference_gets_full_marks(reference_results):
    assert reference_results["score"] == 100, json.dumps(reference_results, indent=1)[:3000]


ONE_BUG = {
    # one_hot returns integers: only the one_hot test notices (torch.cat promotes to float).
    "one_hot_long": ([("assignment.py", "targets = torch.zeros(labels.shape[0], class_size, device=labels.device)",
                       "targets = torch.zeros(labels.shape[0], class_size, device=labels.device, dtype=torch.long)")],
                     names(hidden.one_hot)),
    # train_vae makes its number up: the honesty tests catch it.
    "made_up_loss": ([("assignment.py", "    return total_loss\n", "    return 90.0 * len(train_loader)\n")],
                     names(hidden.vae_honesty, hidden.cvae_honesty)),
    # loss summed over the batch: loss_function and the reported losses are wrong, training is not.
    "loss_not_averaged": ([("vae.py", "loss = (bce_function(x_hat, x) + kl) / x.shape[0]",
                            "loss = bce_function(x_hat, x) + kl")],
                          names(hidden.loss_function, hidden.loss_kl_term, hidden.vae_honesty, hidden.cvae_honesty)),
    # the CVAE's decoder throws the class away: it still reconstructs, but cannot draw a chosen digit.
    "decoder_ignores_class": ([("vae.py", "            nn.Linear(Z + C, H), nn.ReLU(),\n",
                                "            _DropClass(Z), nn.Linear(Z, H), nn.ReLU(),\n"),
                               ("vae.py", "class CVAE(nn.Module):\n",
                                "class _DropClass(nn.Module):\n    def __init__(self, z):\n        super().__init__()\n"
                                "        self.z = z\n\n    def forward(self, t):\n        return t[:, :self.z]\n\n\n"
                                "class CVAE(nn.Module):\n")],
                              names(hidden.cvae_generation)),
}


# Bugs in parts of the homework that cannot reach each other's tests share a grading (a hw4 grading
# trains two models: minutes): each bug of a pair must cost exactly its own tests, the pair together
# their union and nothing more. made_up_loss and one_hot_long touch only what train_vae returns and
# the dtype of the one-hot codes (torch.cat promotes them to float); loss_not_averaged and
# decoder_ignores_class touch the loss's scale and the CVAE decoder's input.
GRADINGS = {"made_up_loss+one_hot_long": 1, "loss_not_averaged+decoder_ignores_class": 2}


def graded_bugs(tmp_path, grading) -> dict:
    """The full grading of the reference with the bugs of ``grading``: it loses their tests' points only.
    One grading trains with the trainings one after the other (--jobs 1): scores must not depend on that."""
    bugs = grading.split("+")
    patches = [patch for bug in bugs for patch in ONE_BUG[bug][0]]
    lost = [name for bug in bugs for name in ONE_BUG[bug][1]]
    results = grade("hw4", submission(tmp_path, grading.replace("+", "-"), patches), options={"jobs": GRADINGS[grading]})
    assert_one_bug_costs_only(results, hidden, lost, below=0.25, bug=grading)
    return results


# What train_vae returns cannot change training, nor can the dtype of the one-hot codes, so
# everything measured from the trained models matches the reference's grading (which trained side
# by side) to the last digit, although the two came from separate gradings.
SAME_AS_THE_REFERENCE = {"made_up_loss+one_hot_long": names(hidden.vae_training, hidden.cvae_training,
                                                            hidden.cvae_generation)}


@pytest.mark.slow
@pytest.mark.parametrize("grading", sorted(set(GRADINGS) - set(SAME_AS_THE_REFERENCE)))
def test_one_bug_loses_only_its_points(tmp_path, grading):
    graded_bugs(tmp_path, grading)


@pytest.mark.slow
@pytest.mark.parametrize("grading", sorted(SAME_AS_THE_REFERENCE))
def test_one_bug_loses_only_its_points_and_keeps_the_references_numbers(tmp_path, grading, reference_results):
    mine, reference = texts(graded_bugs(tmp_path, grading)), texts(reference_results)  # text, not pictures
    for name in SAME_AS_THE_REFERENCE[grading]:
        assert mine[name] == reference[name], (grading, name, mine[name], reference[name])


def test_bugs_that_share_a_grading_cannot_reach_each_others_tests():
    """Every one-bug case is graded, and the bugs of a shared grading lose disjoint sets of tests."""
    graded = [bug for grading in GRADINGS for bug in grading.split("+")]
    assert sorted(graded) == sorted(ONE_BUG)
    for grading in GRADINGS:
        first, second = (set(ONE_BUG[bug][1]) for bug in grading.split("+"))
        assert not first & second, grading


@pytest.mark.slow
def test_reference_results_carry_the_graders_pictures_within_the_size_bound(reference_results):
    pictured = {t["name"]: t["extra_data"]["pictures"] for t in reference_results["tests"]}
    for test in (hidden.vae_bottleneck, hidden.cvae_bottleneck, hidden.vae_honesty, hidden.cvae_honesty,
                 hidden.cvae_generation):
        assert pictured[test.name], test.name
    assert not pictured[hidden.cvae_novelty.name]   # nothing flagged as memorised: no picture
    for item in reference_results["tests"]:
        if item["extra_data"]["pictures"]:
            assert item["output_format"] == "html" and "data:image/png;base64," in item["output"]
    assert len(json.dumps(reference_results, indent=2).encode()) < 1_000_000
