"""The grader's own measurements for homework 5, computed in the grader's process from the raw
tensors a student's process returns. Nothing here calls student code.

The test labels come from :func:`data.signs.grader_labels`, called here, in the grader's process.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from . import scoring
from .spec import SPEC

SCORE_TOLERANCE = 10.0  # uploaded vs recomputed score, per split, before the upload is flagged (see hidden.py)


def kld(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(0, I)) per image, (N, Z) -> (N,)."""
    return 0.5 * torch.sum(mu.pow(2) + log_var.exp() - 1 - log_var, dim=1)


def bce_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over the pixels of each image, (N, ...) -> (N,)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="none").flatten(1).sum(dim=1)


def vae_loss(x_hat, x, mu, log_var, beta: float = 1.0) -> float:
    """Mean over images of BCE summed over pixels + beta * KL."""
    return float((bce_per_image(x_hat, x) + beta * kld(mu, log_var)).mean())


def gold(split: str) -> np.ndarray:
    from data import signs

    return signs.grader_labels(split)


def table():
    return scoring.load_table(SPEC.grade_table)


def scores(codes: dict) -> dict:
    """``{split: scoring.Score}`` for the dev and test codes (float arrays (N, Z))."""
    return {split: scoring.score(codes[split], gold(split)) for split in ("dev", "test")}


def agreement(uploaded: np.ndarray, recomputed: np.ndarray, split: str) -> float:
    """ARI x 100 between the Ward clusterings (k = number of classes) of two sets of codes."""
    classes = int(np.unique(gold(split)).size)
    return scoring.agreement(uploaded, recomputed, classes)
