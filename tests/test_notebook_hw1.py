"""Tests for the hw1 notebook: stored clean, valid Python, and runnable top to bottom in QUICK mode
against the reference solution."""
from __future__ import annotations

import ast
import json
import math
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from notebook_support import kit_outputs, mnist_available, strip_magics

KIT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = KIT_ROOT / "notebooks" / "hw1.ipynb"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_hw1_notebook_is_stored_clean_and_parses():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"cell {index} was stored with outputs"
        assert cell.get("execution_count") is None, f"cell {index} was stored with an execution count"
        try:
            ast.parse(strip_magics(cell.source), filename=f"hw1.ipynb cell {index}")
        except SyntaxError as err:
            pytest.fail(f"code cell {index} is not valid Python: {err}")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 4  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw1" in text and "zipout.py hw1" in text
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    for name in ("AEKIT_HW1_DIR", "AEKIT_QUICK", "sample_uniform", "sample_gaussian", "encode_dataset",
                 "gaussian_nll", "bernoulli_nll", "train_autoencoder"):
        assert name in code, name


@pytest.mark.notebook
def test_hw1_notebook_runs_in_quick_mode(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    from autograder.homeworks import load_spec

    if not mnist_available():
        pytest.skip("MNIST is not available offline (see data/store.py for where it is looked for)")

    hw_dir = tmp_path / "hw1"
    shutil.copytree(KIT_ROOT / "solutions" / "hw1", hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW1_DIR", str(hw_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself

    before = kit_outputs("hw1")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(KIT_ROOT / "notebooks")}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    print(f"hw1 notebook ran in QUICK mode in {time.perf_counter() - start:.1f} s")

    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"cell {index} raised {output.get('ename')}"
    images = sum(1 for cell in nb.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))
    assert images >= 9, f"the notebook showed only {images} images"

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
    assert kit_outputs("hw1") == before, "the notebook wrote into the kit's own homework folders"
