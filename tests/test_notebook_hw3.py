"""The hw3 notebook: stored clean, valid Python, and runnable top to bottom in QUICK mode against the
reference solution; its outputs then go through ``zipout.py hw3`` into the write-up PDF."""
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

from notebook_support import kit_outputs, mnist_available, strip_magics

KIT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = KIT_ROOT / "notebooks"
HW3_NOTEBOOK = NOTEBOOKS / "hw3.ipynb"
HW3_OUTPUTS = ("interpolation_same_digit.png", "interpolation_different_digits.png", "losses.json")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_hw3_notebook_is_stored_clean_and_parses():
    nb = nbformat.read(HW3_NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert any(cell.cell_type == "code" for cell in nb.cells)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"cell {index} was stored with outputs"
        assert cell.get("execution_count") is None, f"cell {index} was stored with an execution count"
        try:
            ast.parse(strip_magics(cell.source), filename=f"hw3.ipynb cell {index}")
        except SyntaxError as err:
            pytest.fail(f"code cell {index} is not valid Python: {err}")
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "AEKIT_HW3_DIR" in code and "AEKIT_QUICK" in code
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 3  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw3" in text and "zipout.py hw3" in text and "hw3_writeup.pdf" in text


@pytest.mark.notebook
def test_hw3_notebook_runs_in_quick_mode_and_its_outputs_make_the_writeup(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    if not mnist_available():
        pytest.skip("MNIST is not available offline (see data/store.py for where it is looked for)")

    hw_dir = tmp_path / "hw3"
    shutil.copytree(KIT_ROOT / "solutions" / "hw3", hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW3_DIR", str(hw_dir))
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself

    before = kit_outputs("hw3")
    nb = nbformat.read(HW3_NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    print(f"hw3 notebook ran in QUICK mode in {time.perf_counter() - start:.1f} s")

    outputs = hw_dir / "outputs"
    missing = [name for name in HW3_OUTPUTS if not (outputs / name).is_file()]
    assert not missing, f"missing outputs: {missing}"
    for name in HW3_OUTPUTS:
        if name.endswith(".png"):
            assert (outputs / name).read_bytes()[:8] == PNG_SIGNATURE, f"{name} is not a PNG"
    record = json.loads((outputs / "losses.json").read_text())
    assert record["model"] == "vae" and len(record["per_image_loss"]) == record["args"]["num_epochs"] == 1
    assert all(math.isfinite(v) and v > 0 for v in record["per_image_loss"] + [record["test_loss"]])
    assert (hw_dir / "checkpoints" / "vae.pt").is_file()
    assert kit_outputs("hw3") == before, "the notebook wrote into the kit's own homework folders"

    # The hand-in step the notebook describes: zipout.py hw3 on the notebook's outputs.
    if str(KIT_ROOT) not in sys.path:
        sys.path.insert(0, str(KIT_ROOT))
    import zipout
    from test_grade_hw3 import read_pdf

    out = tmp_path / "hw3_outputs.zip"
    assert zipout.main(["hw3", "--dir", str(hw_dir), "--out", str(out)]) == 0
    _, pages = read_pdf(tmp_path / "hw3_writeup.pdf")
    assert [p["images"] for p in pages[:2]] == [1, 1] and len(pages) > 3
    assert "Same digit" in pages[0]["text"] and "code, vae.py" in pages[2]["text"]
