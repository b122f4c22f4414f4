"""What every homework's agent does around a call into student code (inside the sandbox).

The grader sends float32 tensors on the CPU and grades what comes back whatever its layout (see
:func:`autograder.pipeline.expect.values`). These helpers make the call itself fair to models
built in other ways than the reference: a model is put in eval mode before it is measured (so
Dropout and BatchNorm behave deterministically), inputs follow the model's dtype and device (a
float64 model gets float64 inputs), and answers come back detached, on the CPU.
"""
from __future__ import annotations

import importlib
import os
import time

import torch


def device() -> torch.device:
    """Where the grading puts the student's models: the GPU with ``--device cuda`` (the grader sets
    ``AEKIT_DEVICE``), else the CPU. Inputs follow a model there (:func:`fit`); answers come back."""
    return torch.device(os.environ.get("AEKIT_DEVICE", "cpu"))


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


def with_gradients(function, weights: torch.Tensor, *inputs: torch.Tensor):
    """``function(*inputs)`` called on copies of ``inputs`` that require gradients, and the
    gradients of ``sum(weights * output)`` with respect to each input, detached on the CPU.

    A gradient is ``None`` where none reaches that input, and all are ``None`` when the output
    is not a tensor with a gradient and as many elements as ``weights``. The output comes back as
    the student's function returned it (pass it through :func:`answer`)."""
    leaves = [item.clone().requires_grad_(True) for item in inputs]
    out = function(*leaves)
    grads = [None] * len(leaves)
    if isinstance(out, torch.Tensor) and out.requires_grad and out.numel() == weights.numel():
        grads = torch.autograd.grad((out * weights.to(out).reshape(out.shape)).sum(), leaves, allow_unused=True)
    return out, [None if g is None else g.detach().cpu() for g in grads]


def student(module: str):
    """The student's module ``module`` (``"assignment"``, ``"vae"``, ...), imported by the call that
    first needs it, so that an error in the student's file fails that call with the student's lines."""
    return importlib.import_module(module)


def built(state: dict, key: str = "model"):
    """``state[key]``, which an earlier call (``build``, say) made; a clear error when it failed."""
    if key not in state:
        raise RuntimeError(f"no {key} was built (building the {key} failed earlier)")
    return state[key]


def timed_epochs(step, epochs: int, loss=float) -> dict:
    """Call ``step()`` (one epoch of the student's training) ``epochs`` times, timing each call.
    Returns float64 tensors ``{"reported": loss(answer) of each epoch (NaN when that is not a
    number), "seconds": each epoch's wall-clock time}``."""
    reported, seconds = [], []
    for _ in range(epochs):
        start = time.monotonic()
        answer = step()
        seconds.append(time.monotonic() - start)
        try:
            reported.append(float(loss(answer)))
        except (TypeError, ValueError, KeyError, IndexError):
            reported.append(float("nan"))
    return {"reported": torch.tensor(reported, dtype=torch.float64),
            "seconds": torch.tensor(seconds, dtype=torch.float64)}
