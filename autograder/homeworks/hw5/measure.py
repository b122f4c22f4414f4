"""The grader's own measurements for homework 5, computed in the grader's process from the raw
tensors a student's process returns (the VAE's losses are the core's, :mod:`autograder.pipeline.vae`).
Nothing here calls student code.

The test labels come from :func:`data.signs.grader_labels`, called here, in the grader's process.
"""
from __future__ import annotations

import numpy as np

from . import scoring
from .spec import SPEC

SCORE_TOLERANCE = 10.0  # uploaded vs recomputed score, per split, before the upload is flagged (see hidden.py)


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
