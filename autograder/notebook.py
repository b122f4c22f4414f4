"""The set-up every homework notebook runs first, and the small display helpers the notebooks share.

A notebook's first cell puts the kit on ``sys.path`` (``AEKIT_ROOT``, else the first parent folder
holding ``autograder/notebook.py``) and calls :func:`setup`::

    from autograder.notebook import setup, show_figure
    KIT_ROOT, HW_DIR, OUTPUT_DIR, QUICK, SEED = setup("hw4")

:func:`setup` finds the student's files, in this order:

1. ``$AEKIT_HWN_DIR`` (``AEKIT_HW4_DIR`` for hw4), when it is set;
2. the notebook's own folder, or its ``answer/``-style sub-folder (the spec's ``student_dir``), when
   every ``.py`` file the student writes sits there: that is how nbgrader (or a JupyterHub) hands a
   homework out, and how hw5's ``answer/vae.ipynb`` is opened;
3. ``stencil/hwN/`` in the kit (or the student release).

It puts that folder first on ``sys.path`` (so ``import vae`` imports the student's file) with the kit
right after it, reloads edited modules before every cell (``%autoreload 2``), shows figures inline,
seeds PyTorch, and turns on QUICK mode under automatic checks: ``AEKIT_QUICK=1``, or
``NBGRADER_EXECUTION`` (set by nbgrader's autograde and validate, which allow each cell 30 s).
In QUICK mode every notebook trains briefly on a small subset.

This module is public: it ships with the student release, and a JupyterHub only needs the release
in its image with ``AEKIT_ROOT`` naming it.
"""
from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import NamedTuple

KIT_ROOT = Path(__file__).resolve().parents[1]
SEED = 0


class Setup(NamedTuple):
    """What a notebook's first cell unpacks: ``KIT_ROOT, HW_DIR, OUTPUT_DIR, QUICK, SEED``."""

    kit_root: Path       # the kit (or the student release)
    folder: Path         # the student's files (the spec's source files): imported from here
    outputs: Path        # where the homework's code writes its outputs (``outputs/`` of the homework)
    quick: bool          # a short run for automatic checks
    seed: int


def quick_mode() -> bool:
    """Whether the notebook runs as an automatic check (``AEKIT_QUICK=1``, or under nbgrader)."""
    return os.environ.get("AEKIT_QUICK") == "1" or bool(os.environ.get("NBGRADER_EXECUTION"))


def homework_folder(homework: str, here: Path | None = None) -> Path:
    """The folder holding the student's ``.py`` files of ``homework`` (see the module's docstring)."""
    from autograder.homeworks import load_spec

    variable = f"AEKIT_{homework.upper()}_DIR"
    if os.environ.get(variable):
        return Path(os.environ[variable]).expanduser().resolve()
    spec = load_spec(homework)
    code = [name for name in spec.source_files if name.endswith(".py")]
    here = Path(here or Path.cwd()).resolve()
    for folder in (here, here / spec.student_dir):
        if all((folder / name).is_file() for name in code):
            return folder
    return (KIT_ROOT / "stencil" / homework / spec.student_dir).resolve()


def _first_on_path(*folders: Path) -> None:
    """Put ``folders`` at the front of ``sys.path``, in this order, each once."""
    wanted = [str(folder) for folder in folders]
    kept = []
    for entry in sys.path:
        try:
            same = str(Path(entry or ".").expanduser().resolve()) in wanted
        except OSError:
            same = False
        if not same:
            kept.append(entry)
    sys.path[:] = wanted + kept


def _interactive() -> None:
    """``%load_ext autoreload``, ``%autoreload 2`` and ``%matplotlib inline``, when run by IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    shell.extension_manager.load_extension("autoreload")  # quiet when it is loaded already
    shell.run_line_magic("autoreload", "2")
    shell.run_line_magic("matplotlib", "inline")


def setup(homework: str) -> Setup:
    """Prepare the notebook of ``homework`` (for example ``"hw4"``) and say where everything is."""
    import torch

    from autograder.homeworks import load_spec

    spec = load_spec(homework)
    folder = homework_folder(homework)
    root = folder
    for _ in Path(spec.student_dir).parts:
        root = root.parent
    _first_on_path(folder, KIT_ROOT)
    _interactive()
    quick = quick_mode()
    torch.manual_seed(SEED)
    result = Setup(KIT_ROOT, folder, root / "outputs", quick, SEED)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print("kit root:        ", result.kit_root)
    print("homework folder: ", result.folder)
    print("outputs go to:   ", result.outputs)
    print("device:          ", device, "| QUICK mode" if quick else "")
    return result


def show_figure(fig) -> None:
    """Display a matplotlib figure as a PNG (whatever matplotlib backend is active) and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue()))


def show_images(images, titles=None, columns: int = 10, size: float = 1.1) -> None:
    """A grid of images with values in [0, 1]: ``(N, 3, H, W)`` in colour, or ``(N, H, W)`` /
    ``(N, 1, H, W)`` in grey with ink (1) dark. A PyTorch tensor or a NumPy array; optional titles."""
    import matplotlib.pyplot as plt
    import numpy as np

    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    colour = images.ndim == 4
    if colour:
        images = images.transpose(0, 2, 3, 1)
    images = images.clip(0, 1)
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * (size + 0.25)), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index], **({} if colour else {"cmap": "gray_r", "vmin": 0, "vmax": 1}))
            if titles is not None:
                title = str(titles[index])
                ax.set_title(title[:18], fontsize=8 if len(title) <= 3 else 6)
    show_figure(fig)
