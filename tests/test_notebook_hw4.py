"""Homework 4's notebook, run top to bottom in QUICK mode against the reference solution: it trains
the VAE and the CVAE and writes their losses, samples and interpolation."""
from __future__ import annotations

import json
import math

import pytest

from notebook_support import assert_outputs, run_quick

OUTPUTS = ("losses_vae.json", "losses_cvae.json", "loss_vae.png", "loss_cvae.png", "vae_samples.png",
           "vae_interpolation.png", "cvae_samples.png")


@pytest.mark.notebook
def test_hw4_notebook_trains_the_vae_and_the_cvae_in_quick_mode(tmp_path, monkeypatch):
    nb, hw_dir = run_quick("hw4", tmp_path, monkeypatch)

    assert_outputs(hw_dir / "outputs", OUTPUTS)
    for name in ("vae", "cvae"):
        record = json.loads((hw_dir / "outputs" / f"losses_{name}.json").read_text())
        assert record["model"] == name
        assert len(record["per_image_loss"]) == record["args"]["num_epochs"] >= 1
        assert all(math.isfinite(loss) and loss > 0 for loss in record["per_image_loss"])
        assert (hw_dir / "checkpoints" / f"{name}.pt").is_file()
