"""Checks on raw answers from a student's process, failing with messages a student can act on."""
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
