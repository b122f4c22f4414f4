"""Checks on raw answers from a student's process, failing with messages a student can act on.

Fairness: each convention (a layout, a dtype, an attribute) is graded once, by the test whose name
states it; that test uses :func:`tensor`, which is strict about the shape. Every other test uses
:func:`values`, which accepts any layout that carries the same numbers ((N, 784), (N, 1, 784) or
(N, 1, 28, 28) when N x 784 values arrive), float64 as well as float32, and reshapes them to the
layout the grader computes with, so a correct model never loses points twice for one choice.
"""
from __future__ import annotations

import math

from .score import Fail


def tensor(value, what: str, shape: tuple | None = None, low: float | None = None, high: float | None = None,
           finite: bool = True):
    """Return ``value`` as a float tensor after checking its type, shape, finiteness and range.

    ``shape`` entries of ``None`` match any size. Raises :class:`Fail` naming ``what``.
    """
    import torch

    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} should be a torch tensor, but the grader got {type(value).__name__}.")
    if shape is not None:
        ok = value.dim() == len(shape) and all(s is None or s == v for s, v in zip(shape, value.shape))
        if not ok:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise Fail(f"{what} has shape {tuple(value.shape)}, expected {wanted}.")
    value = value.detach().float()
    if finite and not bool(torch.isfinite(value).all()):
        raise Fail(f"{what} contains NaN or infinite values.")
    if low is not None and value.numel() and float(value.min()) < low - 1e-6:
        raise Fail(f"{what} has values below {low:g} (minimum {float(value.min()):.4g}).")
    if high is not None and value.numel() and float(value.max()) > high + 1e-6:
        raise Fail(f"{what} has values above {high:g} (maximum {float(value.max()):.4g}).")
    return value


def values(value, what: str, shape: tuple, low: float | None = None, high: float | None = None,
           finite: bool = True):
    """Like :func:`tensor`, but any layout with the same batch size and the same number of values
    passes and is reshaped to ``shape`` (at most one entry of ``shape`` may be ``None``: its size
    then follows from the number of values). For every test but the one whose name states the layout.
    """
    import numpy as np
    import torch

    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        value = torch.from_numpy(value)
    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} should be a torch tensor, but the grader got {type(value).__name__}.")
    known = math.prod(s for s in shape if s is not None)
    count = value.numel()
    free = [i for i, s in enumerate(shape) if s is None]
    fits = count == known if not free else (known > 0 and count % known == 0 and count > 0)
    if len(shape) > 1 and shape[0] is not None and (value.dim() == 0 or value.shape[0] != shape[0]):
        fits = False   # the batch must come first: the grader never guesses a transposition
    if len(free) > 1 or not fits:
        wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise Fail(f"{what} has shape {tuple(value.shape)}; the grader needs {wanted} (or any shape with the same "
                   "batch size and the same number of values).")
    value = value.detach().reshape(tuple(-1 if s is None else s for s in shape))
    return tensor(value, what, None, low, high, finite)


def diagnose(value: float, mistakes, rel: float = 2e-5) -> str:
    """The hint (with a leading space) of the first ``(hint, number)`` in ``mistakes`` whose
    number ``value`` matches, or ``""``: what a known wrong formula would have returned.

    ``rel`` is tight on purpose: a loss is dominated by its BCE, so a wrong KL term moves it by
    well under 1e-3; float32 sums of a few thousand terms stay within about 1e-6 of the float64
    value the grader computes for each mistake."""
    for hint, number in mistakes:
        if number is not None and math.isfinite(number) and close(value, number, rel=rel, abs_tol=1e-6):
            return " " + hint
    return ""


def scalar(value, what: str) -> float:
    """A finite number from a 0-dimensional (or one-element) tensor."""
    import torch

    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} should return a torch tensor, but the grader got {type(value).__name__}.")
    if value.numel() != 1:
        raise Fail(f"{what} should return a single number (a 0-dimensional tensor), got shape {tuple(value.shape)}.")
    number = float(value.reshape(()))
    if not math.isfinite(number):
        raise Fail(f"{what} returned {number}, not a finite number.")
    return number


def close(actual: float, expected: float, rel: float = 1e-4, abs_tol: float = 1e-4) -> bool:
    return math.isclose(actual, expected, rel_tol=rel, abs_tol=abs_tol)


def ramp(value: float, full: float, zero: float) -> float:
    """Fraction of credit: 1 at ``full`` or better, 0 at ``zero`` or worse, linear between."""
    if full == zero:
        return 1.0 if value == full else 0.0
    fraction = (value - zero) / (full - zero)
    return min(max(fraction, 0.0), 1.0)
