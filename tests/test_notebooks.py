"""Tests for the homework notebooks: stored clean, valid Python, and runnable top to bottom."""
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
NOTEBOOKS = KIT_ROOT / "notebooks"
HW4_NOTEBOOK = NOTEBOOKS / "hw4.ipynb"
HW4_OUTPUTS = (
    "losses_vae.json",
    "losses_cvae.json",
    "loss_vae.png",
    "loss_cvae.png",
    "vae_samples.png",
    "vae_interpolation.png",
    "cvae_samples.png",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_hw4_notebook_is_stored_clean_and_parses():
    nb = nbformat.read(HW4_NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code_cells, "the notebook has no code cells"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"cell {index} was stored with outputs"
        assert cell.get("execution_count") is None, f"cell {index} was stored with an execution count"
        try:
            ast.parse(strip_magics(cell.source), filename=f"hw4.ipynb cell {index}")
        except SyntaxError as err:
            pytest.fail(f"code cell {index} is not valid Python: {err}")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 3  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw4" in text and "zipout.py hw4" in text


@pytest.mark.notebook
def test_hw4_notebook_runs_in_quick_mode(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    if not mnist_available():
        pytest.skip("MNIST is not available offline (see data/store.py for where it is looked for)")

    hw_dir = tmp_path / "hw4"
    shutil.copytree(KIT_ROOT / "solutions" / "hw4", hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW4_DIR", str(hw_dir))
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself

    before = kit_outputs("hw4")
    nb = nbformat.read(HW4_NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    elapsed = time.perf_counter() - start
    print(f"hw4 notebook ran in QUICK mode in {elapsed:.1f} s")

    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"cell {index} raised {output.get('ename')}"

    outputs = hw_dir / "outputs"
    missing = [name for name in HW4_OUTPUTS if not (outputs / name).is_file()]
    assert not missing, f"missing outputs: {missing}"
    for name in HW4_OUTPUTS:
        if name.endswith(".png"):
            assert (outputs / name).read_bytes()[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
    for name in ("vae", "cvae"):
        record = json.loads((outputs / f"losses_{name}.json").read_text())
        assert record["model"] == name
        assert len(record["per_image_loss"]) == record["args"]["num_epochs"] >= 1
        assert all(math.isfinite(loss) and loss > 0 for loss in record["per_image_loss"])
    assert (hw_dir / "checkpoints" / "vae.pt").is_file()
    assert (hw_dir / "checkpoints" / "cvae.pt").is_file()
    assert kit_outputs("hw4") == before, "the notebook wrote into the kit's own homework folders"
