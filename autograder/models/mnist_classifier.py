"""The pretrained MNIST digit classifier the autograder uses to score conditional-VAE samples.

>>> from autograder.models import mnist_classifier
>>> model = mnist_classifier.load()                    # verified against the record, eval mode
>>> digits = mnist_classifier.predict(model, images)   # images float (N, 1, 28, 28) in [0, 1] -> int64 (N,)

The weights file ``mnist_classifier.pt`` is committed next to this module together with
``mnist_classifier.json``, which records its SHA-256, the test accuracy and how it was made.
:func:`load` refuses a weights file whose digest differs from the record. To regenerate both::

    python -m autograder.models.train_mnist_classifier
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).with_name("mnist_classifier.pt")
RECORD = Path(__file__).with_name("mnist_classifier.json")
REGENERATE = "python -m autograder.models.train_mnist_classifier"


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

    Feature maps: (N, 32, 14, 14) -> (N, 64, 7, 7) -> (N, 128, 3, 3) -> flattened (N, 1152)
    -> (N, 128) -> (N, 10). About 240k parameters (under 1 MB as float32).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(_block(1, 32), _block(32, 64), _block(64, 128))
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(128 * 3 * 3, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(128, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: float (N, 1, 28, 28) in [0, 1] -> logits (N, 10)."""
        return self.head(self.features(x - 0.5))


def sha256(path: Path) -> str:
    """Hex SHA-256 digest of the file at ``path``."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load(device: str | torch.device = "cpu", weights_path: Path | str | None = None,
         record_path: Path | str | None = None) -> MnistClassifier:
    """Return the pretrained classifier on ``device`` in eval mode.

    The weights file's SHA-256 is checked against the record *before* it is deserialised.
    Raises :class:`ClassifierError` (naming the file, both digests and how to regenerate) when
    the weights or the record are missing or the digests differ.
    """
    weights = Path(weights_path) if weights_path is not None else WEIGHTS
    record_file = Path(record_path) if record_path is not None else RECORD
    fix = f"Restore both files from the course kit, or regenerate them with `{REGENERATE}`."
    try:
        expected = json.loads(record_file.read_text())["sha256"]
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
    model = MnistClassifier()
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predicted digits for ``images`` float (N, 1, 28, 28) in [0, 1] -> int64 tensor (N,) on CPU.

    Images may also be given as (N, 28, 28) or (N, 784). The model must be in eval mode
    (as :func:`load` returns it): in training mode dropout would make predictions random.
    """
    if model.training:
        raise ValueError("predict() needs the model in eval mode; call model.eval() first")
    device = next(model.parameters()).device
    images = torch.as_tensor(images, dtype=torch.float32).reshape(-1, 1, 28, 28)
    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device)
            out.append(model(batch).argmax(dim=1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)
