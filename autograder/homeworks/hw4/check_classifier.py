"""The MNIST digit classifier students use to score their own CVAE's samples (public).

>>> from autograder.homeworks.hw4 import check_classifier as cc
>>> model = cc.load()                                   # verified against its record, eval mode
>>> digits = cc.predict(model, images)                  # float (N, 1, 28, 28) in [0, 1] -> int64 (N,)
>>> accuracy, per_digit = cc.digit_accuracy(model, images, wanted)   # wanted: int (N,)

This is the classifier of ``python -m autograder check hw4`` and of ``assignment.py --is_cvae``.
It is *not* the grader's: the grader scores CVAE samples with its own, private classifier (the
same kind of network, wider, trained by the same script with another seed), so the number you
measure here is an estimate of what the grader measures (on the reference CVAE's samples it reads
0.3 to 0.6 points lower than the grader's).

The weights file ``check_classifier.pt`` sits next to this module together with
``check_classifier.json``, which records its SHA-256, its test accuracy, its architecture and how
it was made. :func:`load` refuses a weights file whose digest differs from its record. Course
staff regenerate both with::

    python -m autograder.models.train_mnist_classifier --variant released
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name("check_classifier.pt")
RECORD = Path(__file__).with_name("check_classifier.json")
REGENERATE = "python -m autograder.models.train_mnist_classifier --variant released"
NUM_CLASSES = 10


class ClassifierError(RuntimeError):
    """The classifier's weights file is missing, corrupt or does not match its record."""


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv + 2x2 max pool + batch norm + ReLU: (N, c_in, H, W) -> (N, c_out, H//2, W//2).

    Pooling before the normalisation makes it and the ReLU run on a quarter of the pixels.
    """
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class MnistClassifier(nn.Module):
    """A small CNN: images float (N, 1, 28, 28) in [0, 1] -> logits (N, 10).

    With the default widths, feature maps go (N, 32, 14, 14) -> (N, 64, 7, 7) -> (N, 128, 3, 3)
    -> flattened (N, 1152) -> (N, 128) -> (N, 10): about 240k parameters. ``channels`` and
    ``hidden`` make a narrower network of the same shape.
    """

    def __init__(self, channels: tuple[int, int, int] = (32, 64, 128), hidden: int = 128):
        super().__init__()
        c1, c2, c3 = channels
        self.features = nn.Sequential(_block(1, c1), _block(c1, c2), _block(c2, c3))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(c3 * 3 * 3, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(hidden, NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (N, 1, 28, 28) in [0, 1] -> logits (N, 10)."""
        return self.head(self.features(x - 0.5))


def sha256(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_verified(weights: Path, record_file: Path, regenerate: str,
                  device: str | torch.device = "cpu") -> MnistClassifier:
    """The classifier stored in ``weights``, on ``device`` in eval mode, after checking the file's
    SHA-256 against ``record_file`` *before* deserialising it. The record's ``architecture``
    (``channels``, ``hidden``; absent means the defaults) says which network to build.

    Raises :class:`ClassifierError` (naming the file, both digests and ``regenerate``) when the
    weights or the record are missing or the digests differ.
    """
    weights, record_file = Path(weights), Path(record_file)
    fix = f"Restore both files from the course kit, or regenerate them with `{regenerate}`."
    try:
        record = json.loads(record_file.read_text())
        expected = record["sha256"]
        architecture = dict(record.get("architecture", {}))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ClassifierError(f"cannot read the classifier record {record_file}: {error}. {fix}") from None
    if not weights.is_file():
        raise ClassifierError(f"the classifier weights {weights} are missing (expected SHA-256 {expected}). {fix}")
    actual = sha256(weights)
    if actual != expected:
        raise ClassifierError(
            f"the classifier weights {weights} do not match their record {record_file}: "
            f"expected SHA-256 {expected}, got {actual}. {fix}"
        )
    if "channels" in architecture:
        architecture["channels"] = tuple(architecture["channels"])
    model = MnistClassifier(**architecture)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def load(device: str | torch.device = "cpu", weights_path: Path | str | None = None,
         record_path: Path | str | None = None) -> MnistClassifier:
    """The released classifier on ``device`` in eval mode (see :func:`load_verified`)."""
    return load_verified(Path(weights_path) if weights_path is not None else WEIGHTS,
                         Path(record_path) if record_path is not None else RECORD, REGENERATE, device)


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted digits for ``images`` float (N, 1, 28, 28) in [0, 1] -> int64 tensor (N,) on CPU.

    Images may also be given as (N, 28, 28), (N, 784) or any shape holding N * 784 values, and in
    any floating dtype. The model must be in eval mode (as :func:`load` returns it): in training
    mode dropout would make predictions random.
    """
    if model.training:
        raise ValueError("predict() needs the model in eval mode; call model.eval() first")
    device = next(model.parameters()).device
    images = torch.as_tensor(images).detach().to("cpu", torch.float32).reshape(-1, 1, 28, 28)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)
            out.append(model(batch).argmax(dim=1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def digit_accuracy(model: nn.Module, images: torch.Tensor, wanted: torch.Tensor) -> tuple[float, list[float]]:
    """How often ``model`` reads the wanted digit: images (N, 1, 28, 28) (or any shape with N * 784
    values), wanted int (N,) -> (overall accuracy, accuracy of each digit 0-9; NaN for a digit
    with no image)."""
    wanted = torch.as_tensor(wanted).long().reshape(-1).cpu()
    correct = (predict(model, images) == wanted).float()
    per_digit = [float(correct[wanted == d].mean()) if bool((wanted == d).any()) else float("nan")
                 for d in range(NUM_CLASSES)]
    return float(correct.mean()), per_digit


def describe(accuracy: float, per_digit: list[float]) -> str:
    """``'93.0% (0: 98%, 1: 99%, ...)'``: an accuracy and its per-digit breakdown, for messages."""
    table = ", ".join(f"{d}: {p:.0%}" for d, p in enumerate(per_digit) if p == p)
    return f"{accuracy:.1%} ({table})"
