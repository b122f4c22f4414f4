"""``--device auto|cpu|cuda``: what this CPU-only machine can check of it (the GPU figures are in
the README, measured where a GPU was lent)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from autograder.pipeline import devices
from autograder.pipeline.isolate import Limits, child_environment

KIT = Path(__file__).resolve().parents[1]


def test_auto_and_cpu_resolve_to_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    assert devices.resolve("auto") == "cpu"
    assert devices.resolve("cpu") == "cpu"
    with pytest.raises(devices.DeviceError, match="--device cpu"):
        devices.resolve("cuda")
    with pytest.raises(devices.DeviceError, match="choose one of"):
        devices.resolve("tpu")


def test_auto_picks_the_gpu_where_there_is_one(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    assert devices.resolve("auto") == "cuda"
    assert devices.resolve("cuda") == "cuda"
    assert devices.resolve("cpu") == "cpu"   # asked for the CPU: the GPU stays unused


def test_the_student_process_sees_a_gpu_only_with_cuda(tmp_path):
    cpu = child_environment(tmp_path, 1, "cpu")
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and "AEKIT_DEVICE" not in cpu
    cuda = child_environment(tmp_path, 1, "cuda")
    assert "CUDA_VISIBLE_DEVICES" not in cuda and cuda["AEKIT_DEVICE"] == "cuda"
    assert Limits().device == "cpu"


@pytest.mark.skipif(devices.cuda_available(), reason="this machine has a CUDA device")
@pytest.mark.parametrize("verb", ["grade", "batch"])
def test_cuda_on_a_machine_without_one_is_a_clear_error(verb, tmp_path):
    target = str(KIT / "solutions" / "hw4") if verb == "grade" else str(tmp_path)
    run = subprocess.run([sys.executable, "-m", "autograder", verb, "hw4", target, "--device", "cuda",
                          "--out" if verb == "grade" else "--out-dir", str(tmp_path / "out")],
                         cwd=KIT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "no CUDA device" in run.stderr and "--device cpu" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()   # nothing graded, nothing written
