"""Tests for the homework notebooks: stored clean, valid Python, and runnable top to bottom."""
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


def _strip_magics(source: str) -> str:
    """Blank out IPython-only lines (``%magic`` and ``!shell``) so the rest parses as Python."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append("" if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def _repo_outputs() -> dict[str, int]:
    """Files (and their modification times) under the kit's own hw4 outputs/ and checkpoints/."""
    found = {}
    for kind in ("stencil", "solutions"):
        for sub in ("outputs", "checkpoints"):
            folder = KIT_ROOT / kind / "hw4" / sub
            if folder.is_dir():
                for path in folder.iterdir():
                    found[str(path)] = path.stat().st_mtime_ns
    return found


def _mnist_available() -> bool:
    if str(KIT_ROOT) not in sys.path:
        sys.path.insert(0, str(KIT_ROOT))
    from data import mnist
    from data.store import DataError

    try:
        mnist.load("train")
    except DataError:
        return False
    return True


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
            ast.parse(_strip_magics(cell.source), filename=f"hw4.ipynb cell {index}")
        except SyntaxError as err:
            pytest.fail(f"code cell {index} is not valid Python: {err}")
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= 3  # reference answers (nbgrader source notebook)
    assert "zipsrc.py hw4" in text and "zipout.py hw4" in text


@pytest.mark.notebook
def test_hw4_notebook_runs_in_quick_mode(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    if not _mnist_available():
        pytest.skip("MNIST is not available offline (see data/store.py for where it is looked for)")

    hw_dir = tmp_path / "hw4"
    shutil.copytree(KIT_ROOT / "solutions" / "hw4", hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv("AEKIT_HW4_DIR", str(hw_dir))
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself

    before = _repo_outputs()
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
    assert _repo_outputs() == before, "the notebook wrote into the kit's own homework folders"
