"""What every homework's agent does around a call into student code (inside the sandbox).

The grader sends float32 tensors on the CPU and grades what comes back whatever its layout (see
:func:`autograder.pipeline.expect.values`). These helpers make the call itself fair to models
built in other ways than the reference: a model is put in eval mode before it is measured (so
Dropout and BatchNorm behave deterministically), inputs follow the model's dtype and device (a
float64 model gets float64 inputs), and answers come back detached, on the CPU. The student's
files are imported when a call first needs them (:func:`student_module`), so a file that fails
to import fails only the tests that call into it; :func:`timed_epochs` runs a training epoch by
epoch the same way for every homework.
"""
from __future__ import annotations

import importlib
import time
from typing import Callable

import torch


def answer(value, what: str) -> torch.Tensor:
    """A student's result as a detached CPU tensor (a Python number becomes a 0-d tensor)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, (int, float)):
        return torch.tensor(float(value))
    raise TypeError(f"{what} returned {type(value).__name__}, expected a torch tensor")


def answers(value, names: tuple, what: str) -> list:
    """A tuple of results named ``names`` (for example ``("x_hat", "mu", "logvar")``), each as
    :func:`answer` gives it; a missing or wrong one is named in the error."""
    wanted = "(" + ", ".join(names) + ")"
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        got = type(value).__name__ + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "")
        raise TypeError(f"{what} must return a tuple {wanted}, got {got}")
    return [answer(v, f"{what} (its {name} in {wanted})") for name, v in zip(names, value)]


def evaluating(*models):
    """Put each ``nn.Module`` among ``models`` in eval mode; return the first."""
    for model in models:
        if isinstance(model, torch.nn.Module):
            model.eval()
    return models[0] if models else None


def fit(model, *tensors):
    """``tensors`` with every floating one cast to the dtype and device of ``model``'s parameters
    (one tensor alone is returned as itself, several as a list)."""
    reference = None
    if isinstance(model, torch.nn.Module):
        reference = next(iter(model.parameters()), None)
        if reference is None:
            reference = next(iter(model.buffers()), None)
    out = []
    for item in tensors:
        if reference is not None and isinstance(item, torch.Tensor) and item.is_floating_point():
            item = item.to(device=reference.device, dtype=reference.dtype if reference.is_floating_point()
                           else item.dtype)
        out.append(item)
    return out[0] if len(out) == 1 else out


def student_module(name: str):
    """The student's module ``name`` (for example ``"assignment"``), imported on first use."""
    return importlib.import_module(name)


def timed_epochs(epoch: Callable[[], object], epochs: int) -> dict:
    """Call ``epoch()`` (one epoch of the student's training) ``epochs`` times. Returns what each
    call returned, as a number (NaN when it is none), and the seconds each took, as float64
    tensors ``{"reported": (epochs,), "seconds": (epochs,)}``."""
    reported, seconds = [], []
    for _ in range(epochs):
        start = time.monotonic()
        value = epoch()
        seconds.append(time.monotonic() - start)
        try:
            reported.append(float(value))
        except (TypeError, ValueError):
            reported.append(float("nan"))
    return {"reported": torch.tensor(reported, dtype=torch.float64),
            "seconds": torch.tensor(seconds, dtype=torch.float64)}
