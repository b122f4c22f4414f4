"""Homework 1's notebook, run top to bottom in QUICK mode against the reference solution: it trains the
Gaussian and Bernoulli autoencoders and writes every output the homework hands in."""
from __future__ import annotations

import json
import math

import pytest

from notebook_support import PNG_SIGNATURE, images_shown, run_quick


@pytest.mark.notebook
def test_hw1_notebook_trains_both_autoencoders_in_quick_mode(tmp_path, monkeypatch):
    from autograder.homeworks import load_spec

    nb, hw_dir = run_quick("hw1", tmp_path, monkeypatch)

    assert images_shown(nb) >= 9, f"the notebook showed only {images_shown(nb)} images"
    spec = load_spec("hw1")
    missing = [name for name in spec.output_files if not (hw_dir / name).is_file()]
    assert not missing, f"missing outputs: {missing}"
    for name in spec.output_files:
        path = hw_dir / name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
        else:
            record = json.loads(path.read_text())
            assert record["likelihood"] in name and len(record["per_image_loss"]) == 1
            assert all(math.isfinite(v) for v in record["per_image_loss"])
            assert 0 < record["test_squared_error"] < 150
    for likelihood in ("gaussian", "bernoulli"):
        assert (hw_dir / "checkpoints" / f"ae_{likelihood}.pt").is_file()
