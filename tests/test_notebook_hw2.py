"""Homework 2's notebook: stored clean, valid Python, and runnable top to bottom in QUICK mode
against the reference solution."""
from __future__ import annotations

import ast
import json
import math
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

from notebook_support import kit_outputs, strip_magics

KIT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = KIT_ROOT / "notebooks" / "hw2.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _emoji_available() -> bool:
    if str(KIT_ROOT) not in sys.path:
        sys.path.insert(0, str(KIT_ROOT))
    from data import DataError, emoji

    try:
        emoji.find_font()
    except DataError:
        return False
    return True


def test_hw2_notebook_is_stored_clean_and_parses():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"cell {index} has outputs"
        ast.parse(strip_magics(cell.source), filename=f"hw2.ipynb cell {index}")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 4  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw2" in text and "zipout.py hw2" in text
    assert "Open Font License" in text and "Apache" in text


@pytest.mark.notebook
def test_hw2_notebook_runs_in_quick_mode(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    if not _emoji_available():
        pytest.skip("the Noto Color Emoji font is not installed (apt-get install fonts-noto-color-emoji)")
    hw_dir = tmp_path / "hw2"
    shutil.copytree(KIT_ROOT / "solutions" / "hw2", hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW2_DIR", str(hw_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("AEKIT_ROOT", raising=False)

    before = kit_outputs("hw2")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(KIT_ROOT / "notebooks")}})
    start = time.perf_counter()
    client.execute()
    print(f"hw2 notebook ran in QUICK mode in {time.perf_counter() - start:.1f} s")

    from autograder.homeworks.hw2.spec import SPEC

    for name in SPEC.output_files:
        path = hw_dir / name
        assert path.is_file(), f"missing output {name}"
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG_SIGNATURE, name
    for name in ("ae", "aux"):
        record = json.loads((hw_dir / "outputs" / f"losses_{name}.json").read_text())
        assert record["model"] == name and len(record["val_mse"]) == record["args"]["epochs"] >= 1
        assert all(math.isfinite(v) and v > 0 for v in record["per_image_loss"] + record["val_mse"])
        assert 0 < record["test_mse"] < 1
        assert (hw_dir / "checkpoints" / f"{name}.pt").is_file()
        assert (hw_dir / "checkpoints" / f"latents_{name}.pt").is_file()
    assert 0 <= json.loads((hw_dir / "outputs" / "losses_aux.json").read_text())["test_accuracy"] <= 1
    assert kit_outputs("hw2") == before, "the notebook wrote into the kit's own homework folders"
