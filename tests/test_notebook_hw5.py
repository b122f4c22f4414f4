"""Homework 5's notebook, run top to bottom in QUICK mode against the reference solution (opened with
``AEKIT_HW5_DIR`` naming its ``answer/`` folder): it trains the VAE, saves the dev and test codes the
student hands in, and scores the dev codes."""
from __future__ import annotations

import numpy as np
import pytest

from notebook_support import images_shown, printed, run_quick


@pytest.mark.notebook
def test_hw5_notebook_trains_the_vae_and_saves_the_codes_in_quick_mode(tmp_path, monkeypatch):
    nb, hw_dir = run_quick("hw5", tmp_path, monkeypatch, timeout=300)

    from data import signs

    sizes = signs.sizes()
    for split in ("dev", "test"):
        codes = np.load(hw_dir / "outputs" / f"{split}.npy", allow_pickle=False)
        assert codes.dtype == np.float32 and codes.shape[0] == sizes[split] and 1 <= codes.shape[1] <= 32
    assert "your dev score" in printed(nb)
    assert images_shown(nb) >= 3, f"the notebook showed only {images_shown(nb)} images"
