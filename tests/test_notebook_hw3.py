"""Homework 3's notebook, run top to bottom in QUICK mode against the reference solution: it trains
the VAE and draws both interpolations, and ``zipout.py hw3`` then makes the write-up PDF from them."""
from __future__ import annotations

import json
import math

import pytest

from notebook_support import assert_outputs, run_quick

OUTPUTS = ("interpolation_same_digit.png", "interpolation_different_digits.png", "losses.json")


@pytest.mark.notebook
def test_hw3_notebook_trains_the_vae_in_quick_mode_and_its_outputs_make_the_writeup(tmp_path, monkeypatch):
    nb, hw_dir = run_quick("hw3", tmp_path, monkeypatch)

    assert_outputs(hw_dir / "outputs", OUTPUTS)
    record = json.loads((hw_dir / "outputs" / "losses.json").read_text())
    assert record["model"] == "vae" and len(record["per_image_loss"]) == record["args"]["num_epochs"] == 1
    assert all(math.isfinite(v) and v > 0 for v in record["per_image_loss"] + [record["test_loss"]])
    assert (hw_dir / "checkpoints" / "vae.pt").is_file()

    # The hand-in step the notebook describes: zipout.py hw3 on the notebook's outputs.
    import zipout
    from test_grade_hw3 import read_pdf

    out = tmp_path / "hw3_outputs.zip"
    assert zipout.main(["hw3", "--dir", str(hw_dir), "--out", str(out)]) == 0
    _, pages = read_pdf(tmp_path / "hw3_writeup.pdf")
    assert [p["images"] for p in pages[:2]] == [1, 1] and len(pages) > 3
    assert "Same digit" in pages[0]["text"] and "code, vae.py" in pages[2]["text"]
