"""What the notebook tests share: parsing code cells, spotting writes into the kit, finding data."""
from __future__ import annotations

import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]


def strip_magics(source: str) -> str:
    """Blank out IPython-only lines (``%magic`` and ``!shell``) so the rest parses as Python."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


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


def mnist_available() -> bool:
    """Whether MNIST's train and test sets can be loaded without a network."""
    if str(KIT_ROOT) not in sys.path:
        sys.path.insert(0, str(KIT_ROOT))
    from data import mnist
    from data.store import DataError

    try:
        mnist.load("train")
        mnist.load("test")
    except DataError:
        return False
    return True
