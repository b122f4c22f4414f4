"""``zipsrc.py hw5`` and ``zipout.py hw5``: what homework 5 packages, and the checks on it.

    python zipsrc.py hw5      # answer/ (vae.py, vae.ipynb, any helpers) -> source.zip
    python zipout.py hw5      # outputs/dev.npy and outputs/test.npy      -> output.zip

``source.zip`` holds the ``answer/`` folder as ``answer/...``: ``vae.py`` and the write-up
``vae.ipynb`` are required; other files in it are added after the same checks as ``zipsrc.py``
applies to every homework (no checkpoints, data, archives or links; Python that compiles; valid
notebooks; size limits). The folders ``outputs/``, ``checkpoints/`` and caches inside ``answer/``
are left out.

``zipsrc.py hw5`` also warns (without refusing) when the write-up's contributions cell (Q4) is
still the template: a table without a single filled-in member.

``output.zip`` holds ``dev.npy`` and ``test.npy`` at its top: float32 arrays (N, Z), row i the code
of glyph i of the split in the data's order (``data.signs``), the same Z <= 32 in both, finite
numbers, saved without pickling (``np.save(path, codes, allow_pickle=False)``; ``answer/vae.py``'s
``save_codes`` does this).
"""
from __future__ import annotations

import json
import stat
from pathlib import Path

from autograder.packaging import (MAX_NOTEBOOK_BYTES, MAX_OTHER_BYTES, MAX_OUTPUT_BYTES, MAX_PY_BYTES,
                                  PackagingError, check_allowed, check_notebook, check_python, check_size, show)

SOURCE_ZIP = "source.zip"
OUTPUT_ZIP = "output.zip"
REQUIRED = ("vae.py", "vae.ipynb")
SKIPPED_DIRS = {"outputs", "checkpoints", "__pycache__", ".ipynb_checkpoints", ".git"}
SPLITS = ("dev", "test")
CONTRIBUTIONS_CELL = "q4"   # the nbgrader grade_id of the write-up's contributions answer


def _filled_rows(text: str) -> list[list[str]]:
    """The rows of the Markdown tables in ``text`` (header and separator lines left out) that hold
    something in at least one column."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        columns = [column.strip() for column in line.strip("|").split("|")]
        if columns[:2] == ["member", "contribution"] or all(set(c) <= set("-: ") for c in columns):
            continue
        if any(columns):
            rows.append(columns)
    return rows


def source_warnings(spec, members: list[tuple[str, Path]]) -> list[str]:
    """Warn when the write-up's contributions cell still holds the template's empty table."""
    notes = []
    for name, path in members:
        if name != "answer/vae.ipynb":
            continue
        try:
            cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError, AttributeError):
            continue
        for cell in cells:
            if (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") != CONTRIBUTIONS_CELL:
                continue
            text = "".join(cell.get("source", ""))
            if not _filled_rows(text):
                notes.append(f"the contributions cell (Q4) of {show(path)} is still the template: list every "
                             "member of your group and what each of them did (code, experiments, write-up).")
    return notes


def _answer_folder(spec, args) -> Path:
    folder = Path(args.dir) if getattr(args, "dir", None) else spec.student_folder
    if not (folder / "vae.py").exists() and (folder / "answer" / "vae.py").exists():
        folder = folder / "answer"  # the homework folder was given instead of its answer/ folder
    if not folder.is_dir():
        raise PackagingError(f"the folder {show(folder)} does not exist. Pass your answer/ folder with --dir.")
    return folder


def _check_member(path: Path) -> None:
    check_allowed(path)
    suffix = path.suffix.lower()
    if suffix == ".py":
        check_size(path, MAX_PY_BYTES)
        check_python(path)
    elif suffix == ".ipynb":
        check_size(path, MAX_NOTEBOOK_BYTES)
        check_notebook(path)
    else:
        check_size(path, MAX_OTHER_BYTES)


def collect_source(spec, args) -> list[tuple[str, Path]]:
    """``(name in zip, file)`` pairs for source.zip: answer/vae.py, answer/vae.ipynb, the rest of answer/."""
    folder = _answer_folder(spec, args)
    notebook = Path(args.notebook) if getattr(args, "notebook", None) else folder / "vae.ipynb"
    required = {"vae.py": folder / "vae.py", "vae.ipynb": notebook}
    missing = [name for name, path in required.items() if not path.exists() and not path.is_symlink()]
    if missing:
        what = {"vae.py": "your VAE", "vae.ipynb": "your write-up notebook"}
        raise PackagingError("missing " + " and ".join(f"{show(required[name])} ({what[name]})" for name in missing)
                             + f". hw5 needs {' and '.join(REQUIRED)} in your answer/ folder ({show(folder)}); "
                             "restore them there, or pass the folder with --dir (and the notebook with --notebook).")
    members = [(f"answer/{name}", path) for name, path in required.items()]
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part in SKIPPED_DIRS for part in relative.parts[:-1]) or path.name in SKIPPED_DIRS:
            continue
        if path.name.startswith(".") or (path.is_dir() and not path.is_symlink()):
            continue
        if relative.as_posix() in REQUIRED:
            continue
        members.append((f"answer/{relative.as_posix()}", path))
    for extra in getattr(args, "include", None) or []:
        members.append((f"answer/{Path(extra).name}", Path(extra)))
    for _, path in members:
        _check_member(path)
    return members


def _outputs_folder(spec, args) -> Path:
    folder = Path(args.dir) if getattr(args, "dir", None) else spec.stencil_dir
    if (folder / "outputs").is_dir() or not (folder / "dev.npy").exists():
        folder = folder / "outputs"
    return folder


def check_codes_file(path: Path, split: str, size: int) -> tuple[int, ...]:
    """Refuse a codes file that is not a float32 (size, Z) array with 1 <= Z <= 32; return its shape."""
    import numpy as np

    from .scoring import CodesError, check_codes

    if path.is_symlink():
        raise PackagingError(f"{show(path)} is a symbolic link. Replace it with the real file and run this again.")
    if not stat.S_ISREG(path.stat().st_mode):
        raise PackagingError(f"{show(path)} is not a regular file.")
    check_size(path, MAX_OUTPUT_BYTES)
    hint = "Write it with answer/vae.py's save_codes (run `python answer/vae.py`); do not edit it by hand."
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise PackagingError(f"{show(path)} is not a .npy array of numbers ({str(err)[:160]}). {hint}") from None
    if not isinstance(array, np.ndarray) or array.dtype != np.float32:
        kind = getattr(array, "dtype", type(array).__name__)
        raise PackagingError(f"{show(path)} holds {kind} values; the codes must be float32. {hint}")
    try:
        check_codes(array, size, show(path))
    except CodesError as err:
        raise PackagingError(f"{err} {hint}") from None
    return tuple(array.shape)


def collect_outputs(spec, args) -> list[tuple[str, Path]]:
    """``(name in zip, file)`` pairs for output.zip: dev.npy and test.npy, after checking both."""
    from data import DataError, signs

    folder = _outputs_folder(spec, args)
    paths = {split: folder / f"{split}.npy" for split in SPLITS}
    missing = [show(p) for p in paths.values() if not p.exists() and not p.is_symlink()]
    if missing:
        raise PackagingError(f"{len(missing)} output file(s) missing: {', '.join(missing)}. Run your VAE first "
                             "(`python answer/vae.py` writes both), then run this again.")
    try:
        sizes = signs.sizes()
    except DataError as err:
        raise PackagingError(f"the sign data is needed to check the codes: {err}") from None
    shapes = {split: check_codes_file(path, split, sizes[split]) for split, path in paths.items()}
    if shapes["dev"][1] != shapes["test"][1]:
        raise PackagingError(f"the dev codes have {shapes['dev'][1]} dimensions but the test codes "
                             f"{shapes['test'][1]}: both must come from the same model. Run `python answer/vae.py` "
                             "again, then this.")
    return [(f"{split}.npy", path) for split, path in paths.items()]
