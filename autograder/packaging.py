"""What ``zipsrc.py`` and ``zipout.py`` do: the checks, the default collectors, the zip writer and
the two command lines (the scripts at the kit's root only call :func:`zipsrc_main` and
:func:`zipout_main`).

By default the source zip is flat (the spec's source files, the notebook, its ``documents``, helper
modules, ``--include`` files) and the outputs zip holds the spec's ``output_files`` under their
relative paths. A homework whose hand-in differs says how in its ``hooks.py`` (see
:func:`autograder.homeworks.load_hooks`), built from the same checks.

Every check raises :class:`PackagingError` with one message written for students: it names the
file, says what is wrong and what to do. The scripts print that message and exit with code 1.
Warnings (:func:`source_warnings`) never refuse: they point at what a grader would miss (a notebook
without outputs, unanswered written questions, a write-up still the template), and the zip is made.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

from autograder.homeworks import KIT_ROOT, UnknownHomework, available, load_hooks, load_spec

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


def check_source_file(path: Path) -> None:
    """Every check a file of a source zip passes: allowed, within its size, valid Python or notebook."""
    check_allowed(path)
    suffix = Path(path).suffix.lower()
    if suffix == ".py":
        check_size(path, MAX_PY_BYTES)
        check_python(path)
    elif suffix == ".ipynb":
        check_size(path, MAX_NOTEBOOK_BYTES)
        check_notebook(path)
    else:
        check_size(path, MAX_OTHER_BYTES)


def check_output_file(path: Path) -> None:
    """Every check a file of an outputs zip passes: allowed, within its size, a loss record or a PNG."""
    check_allowed(path)
    check_size(path, MAX_OUTPUT_BYTES)
    if Path(path).suffix.lower() == ".json":
        check_loss_json(path)
    elif Path(path).suffix.lower() == ".png":
        check_png(path)


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
    :func:`notebook_warnings`), the write-ups the spec asks for (``documents``: missing,
    or still holding the template's ``YOUR ANSWER HERE``) and the homework hook's own
    ``source_warnings(spec, members)`` if it has one."""
    notes = []
    for _, path in members:
        if Path(path).suffix.lower() == ".ipynb":
            notes += notebook_warnings(path)
    for document in spec.documents:
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


def homework_folder(folder: Path) -> Path:
    """``folder``, or a PackagingError when it does not exist."""
    if not Path(folder).is_dir():
        raise PackagingError(f"the folder {show(folder)} does not exist. Pass your homework "
                             "folder with --dir.")
    return Path(folder)


def code_files(spec, folder: Path) -> list[tuple[str, Path]]:
    """The student's code in ``folder``: the spec's source files (each must be there), then any
    other helper module matching ``optional_source_globs``, as ``(name, file)`` pairs, unchecked."""
    members = []
    for name in spec.source_files:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            raise PackagingError(f"{show(path)} is missing. {spec.name} needs "
                                 f"{', '.join(spec.source_files)} in {show(folder)}; restore it "
                                 "there or pass the folder that holds them with --dir.")
        members.append((name, path))
    helpers = {p for pattern in spec.optional_source_globs for p in folder.glob(pattern)
               if p.name not in spec.source_files and (p.is_file() or p.is_symlink())}
    return members + [(p.name, p) for p in sorted(helpers)]


def collect_source(spec, folder: Path, notebook: Path, extras: list[str]) -> list[tuple[str, Path]]:
    """The default source zip's ``(name in zip, file)`` pairs, after checking every file: the
    source files, the notebook, the spec's ``documents`` found in ``folder``, the other helper
    modules and the ``extras`` (``--include``)."""
    homework_folder(folder)
    code = code_files(spec, folder)
    members = code[:len(spec.source_files)]
    if not notebook.exists() and not notebook.is_symlink():
        raise PackagingError(f"the notebook {show(notebook)} was not found. Save your notebook "
                             "there or pass its path with --notebook.")
    members.append((Path(spec.notebook).name, notebook))
    members += [(name, folder / name) for name in spec.documents
                if (folder / name).exists() or (folder / name).is_symlink()]
    members += code[len(spec.source_files):]
    members += [(Path(extra).name, Path(extra)) for extra in extras]
    for _, path in members:
        check_source_file(path)
    return members


def run_hint(spec, folder: Path) -> str:
    """How to produce the outputs: the spec's ``run`` commands (relative to the folder)."""
    hints = []
    for command in spec.run:
        script, _, options = command.partition(" ")
        hints.append(f"`python {show(folder / script)}{' ' + options if options else ''}`")
    return " and ".join(hints)


def output_files(spec, folder: Path) -> list[tuple[str, Path]]:
    """The spec's ``output_files`` in ``folder`` as ``(name in zip, file)`` pairs, after checking
    every file; all missing ones are named at once, with the commands that write them."""
    homework_folder(folder)
    members = [(name, folder / name) for name in spec.output_files]
    missing = [show(path) for _, path in members if not path.exists() and not path.is_symlink()]
    if missing:
        raise PackagingError(f"{len(missing)} output file(s) missing: {', '.join(missing)}. "
                             f"Run the homework first ({run_hint(spec, folder)}), then run this again.")
    for _, path in members:
        check_output_file(path)
    return members


def _main(kind: str, argv) -> int:
    """``zipsrc.py`` (``kind`` "source") or ``zipout.py`` ("outputs"): parse ``argv``, collect the
    members (the homework's hook, or the default collector), write the zip; returns the exit code."""
    source = kind == "source"
    parser = argparse.ArgumentParser(description=f"Package a homework's {'source and notebook' if source else kind}.")
    parser.add_argument("homework", help="e.g. hw4")
    parser.add_argument("--dir", help="your homework folder (default: the kit's stencil/HW)")
    if source:
        parser.add_argument("--notebook", help="your notebook (default: the kit's notebooks/HW.ipynb)")
        parser.add_argument("--include", nargs="+", default=[], metavar="EXTRA",
                            help="extra files to add (small text or code files only)")
    parser.add_argument("--out", help=f"zip to write (default: HW_{kind}.zip here)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    try:
        spec = spec_or_error(args.homework)
    except PackagingError as err:
        print(f"Cannot package: {err}", file=sys.stderr)
        return 1
    hooks = load_hooks(spec.name)
    out = Path(args.out or getattr(hooks, "SOURCE_ZIP" if source else "OUTPUT_ZIP", f"{args.homework}_{kind}.zip"))
    hook = getattr(hooks, "collect_source" if source else "collect_outputs", None)

    def members():
        if hook is not None:
            return hook(spec, args)
        folder = Path(args.dir) if args.dir else spec.student_folder
        if not source:
            return output_files(spec, folder)
        notebook = Path(args.notebook) if args.notebook else KIT_ROOT / spec.notebook
        return collect_source(spec, folder, notebook, args.include)
    if source:
        return package(out, members, args.homework, "files", "source",
                       warn=lambda found: source_warnings(spec, found, hooks))
    return package(out, members, args.homework, "output files", "outputs", width=30)


def zipsrc_main(argv=None) -> int:
    """``python zipsrc.py``: package a homework's source and notebook; returns the exit code (0
    done, 1 refused)."""
    return _main("source", argv)


def zipout_main(argv=None) -> int:
    """``python zipout.py``: package a homework's outputs; returns the exit code (0 done, 1 refused)."""
    return _main("outputs", argv)
