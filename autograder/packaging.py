"""Checks and the zip writer shared by ``zipsrc.py`` and ``zipout.py``.

Every check raises :class:`PackagingError` with one message written for students: it names the
file, says what is wrong and what to do. The scripts print that message and exit with code 1.
Warnings (:func:`source_warnings`) never refuse: they point at what a grader would miss (a notebook
without outputs, unanswered written questions, a write-up still the template), and the zip is made.
"""
from __future__ import annotations

import json
import math
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

from autograder.homeworks import UnknownHomework, available, load_spec

MAX_PY_BYTES = 1_000_000            # one source file
MAX_NOTEBOOK_BYTES = 20_000_000     # the notebook (figures included)
MAX_OTHER_BYTES = 1_000_000         # any other file passed with --include
MAX_OUTPUT_BYTES = 20_000_000       # one output file (figure or loss record)

# Files that must never be uploaded: model weights, pickles, data sets, archives, bytecode.
FORBIDDEN_SUFFIXES = {".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".safetensors", ".bin",
                      ".npz", ".npy", ".gz", ".zip", ".tar", ".idx", ".ubyte", ".pyc"}
IDX_NAME = re.compile(r"idx\d+-ubyte", re.IGNORECASE)   # MNIST files, e.g. train-images-idx3-ubyte
FORBIDDEN_DIRS = {".git", "site-packages", "dist-packages", ".venv", "venv", "__pycache__",
                  ".ipynb_checkpoints"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ANSWER_STUB = "YOUR ANSWER HERE"    # what stands where a written answer goes (nbgrader's text stub)


class PackagingError(Exception):
    """A problem the student must fix before the zip can be made (the message says how)."""


def show(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it, else absolute."""
    path = Path(os.path.abspath(path))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def human_size(n: int) -> str:
    """``1234567`` -> ``'1.2 MB'``."""
    for unit in ("bytes", "KB", "MB"):
        if n < 1000 or unit == "MB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} MB"


def spec_or_error(homework: str):
    """The homework's spec, or a PackagingError that lists the homeworks this kit knows."""
    try:
        return load_spec(homework)
    except UnknownHomework:
        valid = available()
        raise PackagingError(f"unknown homework '{homework}'. "
                             f"Valid homeworks: {', '.join(valid) or '(none yet)'}.") from None


def check_allowed(path: Path, what: str = "file") -> None:
    """Refuse a file that is missing, a link, a folder, a forbidden kind or in a forbidden place."""
    path = Path(path)
    if path.is_symlink():
        raise PackagingError(f"{show(path)} is a symbolic link. Replace it with the real file "
                             "(copy it into place) and run this again.")
    if not path.exists():
        raise PackagingError(f"{show(path)} was not found. Check the path (or pass the right "
                             "folder with --dir) and run this again.")
    if not path.is_file():
        raise PackagingError(f"{show(path)} is not a regular file; only files can be packaged.")
    bad_dirs = FORBIDDEN_DIRS.intersection(Path(os.path.abspath(path)).parent.parts)
    if bad_dirs:
        raise PackagingError(f"{show(path)} lies inside '{sorted(bad_dirs)[0]}' (a virtual "
                             "environment, installed package or tool folder). Only hand in your "
                             "own homework files; leave it out.")
    if path.suffix.lower() in FORBIDDEN_SUFFIXES or IDX_NAME.search(path.name):
        raise PackagingError(f"{show(path)} is a model checkpoint, data or archive file and must "
                             "not be uploaded. Remove it from the command (do not --include it).")


def check_size(path: Path, limit: int) -> None:
    """Refuse a file larger than ``limit`` bytes."""
    size = Path(path).stat().st_size
    if size > limit:
        raise PackagingError(f"{show(path)} is {human_size(size)}, more than the "
                             f"{human_size(limit)} allowed. Remove large data, saved weights or "
                             "printed output from it and run this again.")


def check_python(path: Path) -> None:
    """Refuse a .py file that is not valid Python, naming the line and the syntax error."""
    try:
        source = Path(path).read_bytes()
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as err:
        code = f" in `{err.text.strip()}`" if err.text and err.text.strip() else ""
        raise PackagingError(f"{show(path)}, line {err.lineno}: {err.msg}{code}. Fix this syntax "
                             "error and run this again.") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise PackagingError(f"{show(path)} is not a valid Python file ({err}). Save it as plain "
                             "UTF-8 text and run this again.") from None


def check_notebook(path: Path) -> None:
    """Refuse a notebook that is not JSON or not a valid nbformat v4 notebook."""
    hint = "Open it in Jupyter, save it again (File > Save) and run this again."
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise PackagingError(f"{show(path)} is not a valid notebook (not JSON: {err}). {hint}") from None
    if not (isinstance(data, dict) and isinstance(data.get("cells"), list)
            and data.get("nbformat") == 4):
        raise PackagingError(f"{show(path)} is not a valid Jupyter notebook (version 4 with a "
                             f"list of cells). {hint}")
    try:
        import nbformat
    except ImportError:  # the structural check above is all we can do
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(nbformat.from_dict(data))
    except nbformat.ValidationError as err:
        first = str(err).strip().splitlines()[0]
        raise PackagingError(f"{show(path)} is not a valid Jupyter notebook ({first}). {hint}") from None


def check_loss_json(path: Path) -> None:
    """Refuse a loss record without a non-empty ``per_image_loss`` list of finite numbers."""
    hint = "Run the homework again to rewrite it; do not edit this file by hand."
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise PackagingError(f"{show(path)} is not valid JSON. {hint}") from None
    losses = data.get("per_image_loss") if isinstance(data, dict) else None
    if not isinstance(losses, list) or not losses:
        raise PackagingError(f"{show(path)} has no non-empty 'per_image_loss' list. {hint}")
    for value in losses:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PackagingError(f"{show(path)}: 'per_image_loss' holds {value!r}, not a finite "
                                 f"number (did training diverge?). {hint}")


def check_png(path: Path) -> None:
    """Refuse an empty file or one that does not start with the PNG signature."""
    head = Path(path).read_bytes()[:len(PNG_SIGNATURE) + 1]
    if not head:
        raise PackagingError(f"{show(path)} is empty. Run the homework again to redraw it.")
    if not head.startswith(PNG_SIGNATURE) or len(head) <= len(PNG_SIGNATURE):
        raise PackagingError(f"{show(path)} is not a PNG image. Run the homework again to "
                             "redraw it; do not rename other files to .png.")


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def notebook_warnings(path: Path) -> list[str]:
    """What to look at again before handing in the notebook at ``path``: no outputs at all (graders
    read notebooks without running them), or cells still holding ``YOUR ANSWER HERE``."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []  # check_notebook reports an unreadable notebook
    notes = []
    code = [cell for cell in cells if cell.get("cell_type") == "code" and _cell_text(cell).strip()]
    if code and not any(cell.get("outputs") for cell in code):
        notes.append(f"{show(path)} has no outputs. Graders read your notebook without running it: run "
                     "every cell (Kernel > Restart & Run All), save it, and package again.")
    unanswered = []
    for number, cell in enumerate(cells, start=1):
        if ANSWER_STUB in _cell_text(cell):
            grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
            unanswered.append(f"cell {number}" + (f" ({grade_id})" if grade_id else ""))
    if unanswered:
        notes.append(f"{show(path)} has {len(unanswered)} unanswered written question(s): "
                     f"{', '.join(unanswered)}. Replace each '{ANSWER_STUB}' with your answer, save, and package again.")
    return notes


def source_warnings(spec, members: list[tuple[str, Path]], hooks=None) -> list[str]:
    """Warnings about a source zip's ``(name in zip, file)`` members: its notebooks (see
    :func:`notebook_warnings`), the write-ups the spec asks for (``extra["documents"]``: missing,
    or still holding the template's ``YOUR ANSWER HERE``) and the homework hook's own
    ``source_warnings(spec, members)`` if it has one."""
    notes = []
    for _, path in members:
        if Path(path).suffix.lower() == ".ipynb":
            notes += notebook_warnings(path)
    for document in spec.extra.get("documents", ()):
        found = [path for name, path in members if name == document]
        if not found:
            notes.append(f"{document} is not in the zip: {spec.name} asks you to hand it in with your code. Fill in "
                         f"the {document} of your homework folder (the kit's stencil has the template) and package again.")
        elif ANSWER_STUB in Path(found[0]).read_text(encoding="utf-8", errors="replace"):
            notes.append(f"{show(found[0])} is still the template: replace each '{ANSWER_STUB}' with your own text "
                         "and package again.")
    if hooks is not None and hasattr(hooks, "source_warnings"):
        notes += hooks.source_warnings(spec, members)
    return notes


def write_zip(out: Path, members: list[tuple[str, Path]]) -> int:
    """Write ``(name in zip, file)`` pairs to ``out`` atomically; return the zip's size in bytes."""
    out = Path(out)
    if not out.parent.is_dir():
        raise PackagingError(f"cannot write {show(out)}: the folder {show(out.parent)} does not exist.")
    names = [name for name, _ in members]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise PackagingError(f"two files would both be stored as '{clash[0]}' in the zip. "
                             "Rename one of them or leave one out.")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, path in members:
                zf.write(path, arcname=name)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a zip to upload should be readable
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out.stat().st_size


def package(out: Path, collect, label: str, kind: str, upload_as: str, width: int = 24, warn=None) -> int:
    """Shared end of ``zipsrc.py`` and ``zipout.py``: call ``collect()`` for ``(name, path)``
    pairs, write them to ``out`` and report; returns the exit code (0 written, 1 refused). ``warn``,
    if given, maps the pairs to warnings printed after the zip is written (they never refuse)."""
    import sys

    try:
        members = collect()
        size = write_zip(out, members)
    except PackagingError as err:
        print(f"Cannot make {out.name}: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"Cannot make {out.name}: {err}.", file=sys.stderr)
        return 1
    print(f"Packaged {len(members)} {kind} for {label}:")
    for name, path in members:
        print(f"  {name:<{width}} from {show(path)}")
    print(f"Wrote {show(out)} ({human_size(size)}). Upload it as your {label} {upload_as} submission.")
    for note in (warn(members) if warn is not None else []):
        print(f"Warning: {note}", file=sys.stderr)
    return 0
