"""hw4's released MNIST classifier, and the public check and the assignment.py report that score a
student's trained CVAE with it. The grader's own classifier stays private and different."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from autograder.homeworks import KIT_ROOT, load_spec, public_files, secret_paths
from autograder.homeworks.hw4 import check_classifier as released
from autograder.models import mnist_classifier as grader

SOLUTION = KIT_ROOT / "solutions" / "hw4"


def _test_images(count: int):
    from data import mnist

    images, labels = mnist.load("test")
    x = torch.from_numpy(np.array(images[:count], dtype=np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(np.array(labels[:count], dtype=np.int64))


def test_released_weights_verify_load_and_are_not_the_graders():
    record, theirs = json.loads(released.RECORD.read_text()), json.loads(grader.RECORD.read_text())
    assert released.sha256(released.WEIGHTS) == record["sha256"] != theirs["sha256"]
    assert record["seed"] != theirs["seed"] and record["architecture"] == {"channels": [16, 32, 64], "hidden": 64}
    assert "--variant released" in record["command"]
    ours, private = released.load(), grader.load()
    assert not ours.training
    size = sum(p.numel() for p in ours.parameters())
    assert size < sum(p.numel() for p in private.parameters()) / 2
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        assert not torch.allclose(ours(x), private(x))


def test_released_weights_refuse_a_tampered_copy(tmp_path):
    raw = bytearray(released.WEIGHTS.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "w.pt").write_bytes(bytes(raw))
    with pytest.raises(released.ClassifierError, match="--variant released"):
        released.load(weights_path=tmp_path / "w.pt")


def test_released_accuracy_is_the_recorded_one():
    x, y = _test_images(2000)
    accuracy, per_digit = released.digit_accuracy(released.load(), x, y)
    recorded = json.loads(released.RECORD.read_text())["test_accuracy"]
    assert recorded >= 0.98 and accuracy >= 0.98 and abs(accuracy - recorded) < 0.01, accuracy
    assert len(per_digit) == 10 and min(per_digit) > 0.9
    assert released.describe(accuracy, per_digit).startswith(f"{accuracy:.1%} (0: ")


def test_released_classifier_ships_with_the_agent_and_the_graders_stays_secret():
    shipped = {path.as_posix() for path in public_files(load_spec("hw4").agent)}
    for name in ("check_classifier.py", "check_classifier.pt", "check_classifier.json"):
        assert f"autograder/homeworks/hw4/{name}" in shipped
    assert not any(name.startswith("autograder/models/") for name in shipped)
    secret = set(secret_paths())
    assert KIT_ROOT / "autograder" / "models" in secret and released.WEIGHTS not in secret


# ----------------------------------------------------------------------------- the public check
def _reference_module(folder: Path):
    spec = importlib.util.spec_from_file_location("hw4_reference_vae", folder / "vae.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _templates() -> torch.Tensor:
    """For each digit, a test image the released classifier reads right: (10, 784)."""
    x, y = _test_images(500)
    predicted = released.predict(released.load(), x)
    return torch.stack([x[(y == d) & (predicted == d)][0].reshape(784) for d in range(10)])


def _make_decoder_draw(model, templates: torch.Tensor, latent: int) -> None:
    """Set the CVAE's fully connected decoder so that decoder(cat([z, one_hot(k)])) = templates[k]
    for any z: the first layer copies the one-hot into 10 hidden units, the middle layers pass
    them on, the last writes logit(template k) for unit k (then the Sigmoid)."""
    linears = [m for m in model.decoder.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for layer in linears:
            layer.weight.zero_()
            layer.bias.zero_()
        for k in range(10):
            linears[0].weight[k, latent + k] = 1.0
            for layer in linears[1:-1]:
                layer.weight[k, k] = 1.0
        linears[-1].weight[:, :10] = torch.logit(templates.clamp(0.001, 0.999)).T


def _trained_folder(tmp_path: Path, latent: int, legible: bool) -> Path:
    folder = tmp_path / "hw4"
    folder.mkdir()
    for name in ("vae.py", "assignment.py"):
        shutil.copy(SOLUTION / name, folder / name)
    torch.manual_seed(0)
    model = _reference_module(folder).CVAE(784, num_classes=10, latent_size=latent)
    if legible:
        _make_decoder_draw(model, _templates(), latent)
    (folder / "checkpoints").mkdir()
    torch.save(model.state_dict(), folder / "checkpoints" / "cvae.pt")
    (folder / "outputs").mkdir()
    record = {"model": "cvae", "per_image_loss": [110.0], "args": {"latent_size": latent, "input_size": 784}}
    (folder / "outputs" / "losses_cvae.json").write_text(json.dumps(record))
    return folder


def _check(folder: Path):
    from autograder.homeworks.hw4 import public
    from autograder.pipeline.score import Context, run_tests

    context = Context(workdir=folder, agent=load_spec("hw4").agent, options={"seed": 0})
    return run_tests([public.cvae_digits], context)[0]


def test_the_check_reads_a_legible_cvae_with_the_latent_size_it_was_trained_with(tmp_path):
    result = _check(_trained_folder(tmp_path, latent=8, legible=True))
    assert result.status == "passed", result.output
    assert "100.0% (0: 100%, 1: 100%" in result.output and "README.md" in result.output


def test_the_check_fails_an_illegible_cvae_with_its_per_digit_reading(tmp_path):
    result = _check(_trained_folder(tmp_path, latent=15, legible=False))
    assert result.status == "failed"
    assert "only" in result.output and "(0: " in result.output and "needs > 90%" in result.output


def test_assignment_prints_the_released_classifiers_reading_after_the_cvae(tmp_path):
    folder = _trained_folder(tmp_path, latent=15, legible=True)
    env = dict(os.environ, PYTHONPATH=str(KIT_ROOT), MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "assignment.py", "--is_cvae", "--load_weights"], cwd=folder, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "The released classifier reads the requested digit in 100.0% (0: 100%" in run.stdout, run.stdout


def test_the_check_command_prints_the_reading_of_a_passing_cvae(tmp_path):
    folder = _trained_folder(tmp_path, latent=15, legible=True)
    env = dict(os.environ, MPLBACKEND="Agg")
    run = subprocess.run([sys.executable, "-m", "autograder", "check", "hw4", str(folder)], cwd=KIT_ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok    CVAE samples" in run.stdout
    assert "The released classifier reads the requested digit in 100.0% (0: 100%" in run.stdout, run.stdout
