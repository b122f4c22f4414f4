"""Homework 2's notebook, run top to bottom in QUICK mode against the reference solution: it trains
the emoji autoencoder and the one with an auxiliary classifier and writes every output handed in."""
from __future__ import annotations

import json
import math

import pytest

from notebook_support import assert_outputs, run_quick


@pytest.mark.notebook
def test_hw2_notebook_trains_both_emoji_autoencoders_in_quick_mode(tmp_path, monkeypatch):
    from autograder.homeworks import load_spec

    nb, hw_dir = run_quick("hw2", tmp_path, monkeypatch)

    assert_outputs(hw_dir, load_spec("hw2").output_files)
    for name in ("ae", "aux"):
        record = json.loads((hw_dir / "outputs" / f"losses_{name}.json").read_text())
        assert record["model"] == name and len(record["val_mse"]) == record["args"]["epochs"] >= 1
        assert all(math.isfinite(v) and v > 0 for v in record["per_image_loss"] + record["val_mse"])
        assert 0 < record["test_mse"] < 1
        assert (hw_dir / "checkpoints" / f"{name}.pt").is_file()
        assert (hw_dir / "checkpoints" / f"latents_{name}.pt").is_file()
    assert 0 <= json.loads((hw_dir / "outputs" / "losses_aux.json").read_text())["test_accuracy"] <= 1
