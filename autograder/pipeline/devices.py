"""Which device a grading trains and measures the student's models on: ``--device auto|cpu|cuda``.

``cpu`` (what every course box has) hides any GPU from the student's process, as grading always
did. ``cuda`` lets the student's process see the GPU; the agents move the models there, the grader
sends inputs to them and gets every answer back on the CPU, so the grader's own measurements do
not change. ``auto`` is ``cuda`` where PyTorch can use a CUDA device and ``cpu`` elsewhere.
"""
from __future__ import annotations

import os
import subprocess
import sys

CHOICES = ("auto", "cpu", "cuda")


class DeviceError(Exception):
    """The device asked for is not there; the message says what to do instead."""


# Device nodes a GPU driver creates (NVIDIA's CUDA, AMD's ROCm, which PyTorch also calls "cuda").
DRIVER_NODES = ("/dev/nvidiactl", "/dev/kfd")


def no_gpu_here() -> bool:
    """True when this machine certainly offers no GPU to PyTorch (no driver, or none made visible),
    known without importing torch."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hidden = visible is not None and visible.strip() in ("", "-1")
    return hidden or not any(map(os.path.exists, DRIVER_NODES))


def cuda_available() -> bool:
    if no_gpu_here():
        return False
    import torch

    return bool(torch.cuda.is_available())


def cuda_device_count() -> int:
    """CUDA devices PyTorch can use here, counted in a short-lived process so that the caller (a
    cluster worker, say) does not keep torch's few hundred MB for the question; 0 without a GPU."""
    if no_gpu_here():
        return 0
    probe = "import torch; print(torch.cuda.device_count() if torch.cuda.is_available() else 0)"
    try:
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        return int(done.stdout.strip() or 0) if done.returncode == 0 else 0
    except (OSError, ValueError, subprocess.TimeoutExpired):   # a broken driver is no GPU
        return 0


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
