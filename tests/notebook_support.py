"""What the notebook tests share: reading a notebook's code, running a notebook in QUICK mode against
the reference solution, checking what it wrote, and finding data."""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import nbformat

KIT_ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def notebook_path(homework: str) -> Path:
    from autograder.homeworks import load_spec

    return KIT_ROOT / load_spec(homework).notebook


def strip_magics(source: str) -> str:
    """Blank out IPython-only lines (``%magic`` and ``!shell``) so the rest parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def first_code_cell(nb) -> str:
    """The source of a notebook's first code cell (``nb``: an nbformat node or its JSON as a dict)."""
    return "".join(next(cell for cell in nb["cells"] if cell["cell_type"] == "code")["source"])


def kit_outputs(homework: str) -> dict[str, int]:
    """Files (and their modification times) in every ``outputs/`` and ``checkpoints/`` folder of the
    kit's own stencil and solution of ``homework``: a notebook run must leave them alone."""
    found = {}
    for kind in ("stencil", "solutions"):
        for folder in sorted((KIT_ROOT / kind / homework).rglob("*")):
            if folder.is_dir() and folder.name in ("outputs", "checkpoints"):
                for path in folder.iterdir():
                    found[str(path)] = path.stat().st_mtime_ns
    return found


def run_quick(homework: str, tmp_path: Path, monkeypatch, timeout: int = 600):
    """Run the homework's notebook top to bottom in QUICK mode, as a student would from the kit's
    ``notebooks/`` folder, on a copy of the reference solution (``$AEKIT_HWN_DIR``). Fails on the
    first cell that raises, and when the run wrote into the kit's own homework folders.

    Skips when a dataset the homework reads cannot be had offline (see :data:`OFFLINE_SKIPS`).
    Returns the executed notebook and the homework folder (the copy, with ``outputs/`` written)."""
    import pytest
    from nbclient import NotebookClient

    from autograder.homeworks import load_spec

    spec = load_spec(homework)
    for dataset in spec.datasets:
        available, reason = OFFLINE_SKIPS.get(dataset, (lambda: True, ""))
        if not available():
            pytest.skip(reason)
    hw_dir = tmp_path / homework
    shutil.copytree(KIT_ROOT / "solutions" / homework, hw_dir,
                    ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    monkeypatch.setenv(f"AEKIT_{homework.upper()}_DIR", str(hw_dir / spec.student_dir))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("AEKIT_ROOT", raising=False)  # the notebook must find the kit by itself
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    before = kit_outputs(homework)
    path = notebook_path(homework)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError on the first failing cell
    print(f"{homework} notebook ran in QUICK mode in {time.perf_counter() - start:.1f} s")

    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"cell {index} raised {output.get('ename')}"
    printed = "".join(output.get("text", "") for output in nb.cells[_first_code_index(nb)].get("outputs", []))
    assert str(hw_dir / spec.student_dir) in printed and "QUICK mode" in printed, printed
    assert kit_outputs(homework) == before, "the notebook wrote into the kit's own homework folders"
    return nb, hw_dir


def _first_code_index(nb) -> int:
    return next(index for index, cell in enumerate(nb.cells) if cell.cell_type == "code")


def images_shown(nb) -> int:
    """How many PNG images the executed notebook displayed."""
    return sum(1 for cell in nb.cells for output in cell.get("outputs", []) if "image/png" in output.get("data", {}))


def printed(nb) -> str:
    """Everything the executed notebook printed."""
    return "".join("".join(output.get("text", "")) for cell in nb.cells for output in cell.get("outputs", []))


def assert_outputs(folder: Path, names) -> None:
    """``names`` (relative to ``folder``) exist; the ``.png`` ones are PNG images."""
    missing = [name for name in names if not (folder / name).is_file()]
    assert not missing, f"missing outputs: {missing}"
    for name in names:
        if name.endswith(".png"):
            assert (folder / name).read_bytes()[:8] == PNG_SIGNATURE, f"{name} is not a PNG"


def mnist_available() -> bool:
    """Whether MNIST's train and test sets can be loaded without a network."""
    _kit_on_path()
    from data import mnist
    from data.store import DataError

    try:
        mnist.load("train")
        mnist.load("test")
    except DataError:
        return False
    return True


def emoji_available() -> bool:
    """Whether the emoji font hw2's images are drawn from is installed."""
    _kit_on_path()
    from data import DataError, emoji

    try:
        emoji.find_font()
    except DataError:
        return False
    return True


def _kit_on_path() -> None:
    if str(KIT_ROOT) not in sys.path:
        sys.path.insert(0, str(KIT_ROOT))


# Datasets a machine may lack (no network, no font): what to check, and why the run is skipped.
OFFLINE_SKIPS = {
    "mnist": (mnist_available, "MNIST is not available offline (see data/store.py for where it is looked for)"),
    "emoji": (emoji_available, "the Noto Color Emoji font is not installed (apt-get install fonts-noto-color-emoji)"),
}
