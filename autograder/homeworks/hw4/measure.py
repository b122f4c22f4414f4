"""Homework 4's own measurement conventions: the MNIST image shape and the CVAE's conditions.
The grader's measurements themselves are in the core (``autograder.pipeline.vae`` and
``autograder.pipeline.novelty``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

NUM_CLASSES = 10
IMAGE = (1, 28, 28)


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    """The CVAE's condition for each label, (N,) -> float (N, NUM_CLASSES)."""
    return F.one_hot(labels.long(), NUM_CLASSES).float()
