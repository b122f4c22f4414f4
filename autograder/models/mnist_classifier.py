"""The pretrained MNIST digit classifier the autograder uses to score conditional-VAE samples.

>>> from autograder.models import mnist_classifier
>>> model = mnist_classifier.load()                    # verified against the record, eval mode
>>> digits = mnist_classifier.predict(model, images)   # images float (N, 1, 28, 28) in [0, 1] -> int64 (N,)

The weights file ``mnist_classifier.pt`` is committed next to this module together with
``mnist_classifier.json``, which records its SHA-256, the test accuracy and how it was made.
:func:`load` refuses a weights file whose digest differs from the record. These weights are the
grader's and never leave it. Students get a different, narrower classifier trained with another
seed (``autograder/homeworks/hw4/check_classifier``), whose network code this module shares. To
regenerate the grader's weights and record::

    python -m autograder.models.train_mnist_classifier
"""
from __future__ import annotations

from pathlib import Path

import torch

from autograder.homeworks.hw4.check_classifier import (ClassifierError, MnistClassifier,  # noqa: F401
                                                       load_verified, predict, sha256)

WEIGHTS = Path(__file__).with_name("mnist_classifier.pt")
RECORD = Path(__file__).with_name("mnist_classifier.json")
REGENERATE = "python -m autograder.models.train_mnist_classifier"


def load(device: str | torch.device = "cpu", weights_path: Path | str | None = None,
         record_path: Path | str | None = None) -> MnistClassifier:
    """Return the grader's classifier on ``device`` in eval mode.

    The weights file's SHA-256 is checked against the record *before* it is deserialised.
    Raises :class:`ClassifierError` (naming the file, both digests and how to regenerate) when
    the weights or the record are missing or the digests differ.
    """
    return load_verified(Path(weights_path) if weights_path is not None else WEIGHTS,
                         Path(record_path) if record_path is not None else RECORD, REGENERATE, device)
