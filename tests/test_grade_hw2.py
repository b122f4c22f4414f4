"""Grading homework 2 end to end: the reference, the untouched stencil, and one-bug submissions that
must lose exactly their own test's points. Tests marked ``slow`` train for real (the two trainings
side by side, about a minute on two idle cores); CI runs them."""
import json
from pathlib import Path

import pytest

from grading_support import grade
from autograder.homeworks.hw2 import hidden
from grading_support import (assert_failed_tests_say, assert_graded_stencil, assert_one_bug_costs_only,
                             assert_public_checks, build, feedback_of, feedback_text, names, texts)

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw2"
STENCIL = KIT / "stencil" / "hw2"


def _emoji_available() -> bool:
    from data import DataError, emoji

    try:
        emoji.find_font()
    except DataError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _emoji_available(),
                                reason="the Noto Color Emoji font is not installed (apt-get install fonts-noto-color-emoji)")


def test_untouched_stencil_scores_at_most_5_percent_with_feedback(tmp_path):
    results = grade("hw2", STENCIL, tmp_path / "results.json", timeout=120)
    assert_graded_stencil(results, hidden, tmp_path / "results.json", most=5)
    assert_failed_tests_say(results, "NotImplementedError", "did not complete", any_word=True)


def test_public_checks_pass_on_the_reference_and_fail_on_the_stencil():
    assert_public_checks("hw2", REFERENCE, STENCIL)


# One bug each; only the unit tests are graded (seconds), and only the named test may lose points.
UNIT_BUGS = {
    # augmenting before splitting: every split gets copies of every emoji, test emoji included.
    "augment_then_split": ([("emoji_data.py",
                             "        augmented, source = augment(images[indices], size, seed + offset)\n"
                             "        splits[key] = {\"images\": augmented, \"source\": indices[source], \"indices\": indices}\n",
                             "        everything, origin = augment(images, sum(sizes), seed)\n"
                             "        start = sum(sizes[:offset - 1])\n"
                             "        splits[key] = {\"images\": everything[start:start + size],\n"
                             "                       \"source\": origin[start:start + size], \"indices\": indices}\n")],
                           names(hidden.make_splits)),
    # the split uses the global random state instead of the seed.
    "global_random_split": ([("emoji_data.py", "    order = torch.randperm(n, generator=generator)\n",
                              "    order = torch.randperm(n)\n")],
                            names(hidden.determinism)),
    # lambda weighs the reconstruction instead of the classification.
    "lambda_on_mse": ([("autoencoder.py",
                        "    loss = reconstruction_loss(x_hat, x) + lam * F.cross_entropy(logits, labels)\n",
                        "    loss = lam * reconstruction_loss(x_hat, x) + F.cross_entropy(logits, labels)\n")],
                      names(hidden.losses)),
    # the attribute vector points the wrong way.
    "vector_sign": ([("autoencoder.py",
                      "        vector = encode(with_images).mean(dim=0) - encode(without_images).mean(dim=0)\n",
                      "        vector = encode(without_images).mean(dim=0) - encode(with_images).mean(dim=0)\n")],
                    names(hidden.attribute_vector)),
    # decoding the vector on its own and adding images: wrong for any decoder with a bias.
    "compose_in_pixel_space": ([("autoencoder.py",
                                 "        result = decode(encode(images) + strength * vector.unsqueeze(0))\n",
                                 "        result = decode(encode(images)) + decode(strength * vector.unsqueeze(0))\n")],
                               names(hidden.compose)),
}


@pytest.mark.parametrize("bug", sorted(UNIT_BUGS))
def test_one_unit_bug_loses_only_its_points(tmp_path, bug):
    patches, lost = UNIT_BUGS[bug]
    results = grade("hw2", build("hw2", tmp_path / bug, patches, times=1), tests=hidden.UNIT_TESTS)
    assert_one_bug_costs_only(results, hidden, lost, bug=bug)
    feedback = next(feedback_text(t) for t in results["tests"] if t["name"] in lost)
    assert "expected" in feedback or "should" in feedback or "grader" in feedback, feedback
    assert "your code raised" not in feedback, feedback  # caught by the checks of the test, not a crash
    if bug == "augment_then_split":
        assert "augmented copies of images that belong to another split" in feedback, feedback


# ----------------------------------------------------------------------------- slow: real training
@pytest.fixture(scope="module")
def reference_results(tmp_path_factory):
    return grade("hw2", REFERENCE, tmp_path_factory.mktemp("ref") / "results.json")


@pytest.mark.slow
def test_reference_gets_full_marks(reference_results):
    assert reference_results["score"] == 100, json.dumps(reference_results, indent=1)[:3000]


@pytest.mark.slow
def test_classifier_that_ignores_the_code_loses_only_the_accuracy_points(tmp_path, reference_results):
    """The classifier reads zeros instead of the code: it can only learn the class frequencies. The
    reconstruction is untouched, so the autoencoder's test MSE matches the reference's grading to
    the last digit (two separate gradings: determinism)."""
    patches = [("autoencoder.py", "        x_hat, logits = self.decode(z), self.classifier(z)\n",
                "        x_hat, logits = self.decode(z), self.classifier(torch.zeros_like(z))\n")]
    tests = [hidden.test_mse, hidden.aux_accuracy, hidden.training_time]
    results = grade("hw2", build("hw2", tmp_path / "classifier_ignores_code", patches, times=1), tests=tests)
    assert_one_bug_costs_only(results, hidden, [hidden.aux_accuracy], below=0.25)
    # The feedback text (a test with pictures also carries them in its HTML output).
    assert texts(results)[hidden.test_mse.name] == texts(reference_results)[hidden.test_mse.name]
    assert "chance" in feedback_of(results, hidden.aux_accuracy)
