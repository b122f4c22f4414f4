"""Homework 5's notebook: stored clean, valid Python, the same as the answer/vae.ipynb copies, and
runnable top to bottom against the reference in QUICK mode."""
from __future__ import annotations

import ast
import shutil
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from notebook_support import kit_outputs, strip_magics

KIT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = KIT_ROOT / "notebooks" / "hw5.ipynb"


def test_hw5_notebook_is_stored_clean_and_parses():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"cell {index} has outputs"
        ast.parse(strip_magics(cell.source), filename=f"hw5.ipynb cell {index}")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 4  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw5" in text and "zipout.py hw5" in text and "Contributions" in text
    assert "AEKIT_HW5_DIR" in "\n".join(cell.source for cell in nb.cells)


@pytest.mark.notebook
def test_hw5_notebook_runs_in_quick_mode_against_the_reference(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    hw = tmp_path / "hw5"
    shutil.copytree(KIT_ROOT / "solutions" / "hw5", hw,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW5_DIR", str(hw / "answer"))
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself
    before = kit_outputs("hw5")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    start = time.perf_counter()
    client.execute()
    print(f"hw5 notebook ran in QUICK mode in {time.perf_counter() - start:.1f} s")
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"cell {index} raised {output.get('ename')}"
    from data import signs

    sizes = signs.sizes()
    for split in ("dev", "test"):
        codes = np.load(hw / "outputs" / f"{split}.npy", allow_pickle=False)
        assert codes.dtype == np.float32 and codes.shape[0] == sizes[split] and 1 <= codes.shape[1] <= 32
    assert any("your dev score" in "".join(o.get("text", "")) for c in nb.cells for o in c.get("outputs", []))
    assert kit_outputs("hw5") == before, "the notebook wrote into the kit's own homework folders"
