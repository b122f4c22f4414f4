"""The autograder's pretrained MNIST classifier: committed weights verify, load and are accurate."""
import json
import shutil

import numpy as np
import pytest
import torch

from autograder.models import mnist_classifier as mc


def test_committed_weights_match_record_and_load():
    record = json.loads(mc.RECORD.read_text())
    assert mc.sha256(mc.WEIGHTS) == record["sha256"]
    model = mc.load()
    assert isinstance(model, mc.MnistClassifier) and not model.training
    assert mc.WEIGHTS.stat().st_size <= 2 * 1024 * 1024


def test_recorded_accuracy_and_provenance():
    record = json.loads(mc.RECORD.read_text())
    assert record["test_accuracy"] >= 0.993
    for key in ("seed", "epochs", "train_seconds", "torch_version", "command"):
        assert key in record, key


def test_tampered_weights_are_refused(tmp_path):
    weights = tmp_path / "mnist_classifier.pt"
    raw = bytearray(mc.WEIGHTS.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(mc.ClassifierError) as info:
        mc.load(weights_path=weights)
    message = str(info.value)
    expected = json.loads(mc.RECORD.read_text())["sha256"]
    assert str(weights) in message
    assert expected in message and mc.sha256(weights) in message
    assert "train_mnist_classifier" in message


def test_missing_weights_and_record_are_refused(tmp_path):
    with pytest.raises(mc.ClassifierError, match="missing"):
        mc.load(weights_path=tmp_path / "absent.pt")
    shutil.copy(mc.WEIGHTS, tmp_path / "w.pt")
    with pytest.raises(mc.ClassifierError, match="record"):
        mc.load(weights_path=tmp_path / "w.pt", record_path=tmp_path / "absent.json")


def test_matching_copy_loads(tmp_path):
    shutil.copy(mc.WEIGHTS, tmp_path / "w.pt")
    shutil.copy(mc.RECORD, tmp_path / "r.json")
    model = mc.load(weights_path=tmp_path / "w.pt", record_path=tmp_path / "r.json")
    reference = mc.load()
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(x), reference(x))


def test_accuracy_on_first_2000_test_images():
    from data import mnist

    images, labels = mnist.load("test")
    x = torch.from_numpy(np.array(images[:2000], dtype=np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(np.array(labels[:2000], dtype=np.int64))
    predicted = mc.predict(mc.load(), x)
    assert predicted.shape == (2000,) and predicted.dtype == torch.long
    accuracy = (predicted == y).float().mean().item()
    assert accuracy >= 0.993, f"accuracy {accuracy:.4f} on the first 2000 test images"


def test_predict_requires_eval_mode():
    model = mc.load().train()
    with pytest.raises(ValueError, match="eval"):
        mc.predict(model, torch.rand(2, 1, 28, 28))
