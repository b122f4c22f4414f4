"""Which device a grading trains and measures the student's models on: ``--device auto|cpu|cuda``.

``cpu`` (what every course box has) hides any GPU from the student's process, as grading always
did. ``cuda`` lets the student's process see the GPU; the agents move the models there, the grader
sends inputs to them and gets every answer back on the CPU, so the grader's own measurements do
not change. ``auto`` is ``cuda`` where PyTorch can use a CUDA device and ``cpu`` elsewhere.
"""
from __future__ import annotations

CHOICES = ("auto", "cpu", "cuda")


class DeviceError(Exception):
    """The device asked for is not there; the message says what to do instead."""


def cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def resolve(requested: str = "auto") -> str:
    """``"cpu"`` or ``"cuda"`` for ``requested`` (one of :data:`CHOICES`), or :class:`DeviceError`."""
    requested = (requested or "auto").lower()
    if requested not in CHOICES:
        raise DeviceError(f"--device {requested}: choose one of {', '.join(CHOICES)}.")
    if requested == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if requested == "cuda":
        raise DeviceError("--device cuda was asked for, but PyTorch sees no CUDA device on this machine "
                          "(no GPU, no driver, or a CPU-only torch). Grade with --device cpu, or with "
                          "--device auto, which uses a GPU only where there is one.")
    return "cpu"
