"""Homework 5's hooks: how its hand-in is packaged (``zipsrc.py hw5``, ``zipout.py hw5``) and how
the grader opens it (:func:`prepare`).

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

The grader takes ``source.zip`` and ``output.zip`` side by side (a folder or a zip), or the
student's homework folder itself (``answer/`` and ``outputs/``, as a TA finds it on a course
server). :func:`prepare` runs on the grader's private copy of the upload, before any student code
runs. With the two zips it extracts both with the same safety checks as the upload itself
(``autograder.pipeline.unpack.extract_zip``); with a homework folder it takes the codes from
``outputs/`` when they are there (nothing the student did not hand in is run to make them). Either
way it reads the codes into the grader's memory (``np.load(allow_pickle=False)``, so a crafted file
cannot run code), removes them from disk, and returns the folder holding ``vae.py``, where the
student's process will run. The hidden tests find the uploaded codes with :func:`uploaded`.
"""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import numpy as np

from autograder.packaging import MAX_OUTPUT_BYTES, PackagingError, check_size, check_source_file, show
from autograder.pipeline.unpack import SubmissionError, extract_zip

from .scoring import CodesError, check_codes

SOURCE_ZIP = "source.zip"
OUTPUT_ZIP = "output.zip"
ZIPS = (SOURCE_ZIP, OUTPUT_ZIP)
REQUIRED = ("vae.py", "vae.ipynb")
SKIPPED_DIRS = {"outputs", "checkpoints", "__pycache__", ".ipynb_checkpoints", ".git"}
SPLITS = ("dev", "test")
_UPLOADED: dict[str, dict] = {}
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
        check_source_file(path)
    return members


def _outputs_folder(spec, args) -> Path:
    folder = Path(args.dir) if getattr(args, "dir", None) else spec.stencil_dir
    if (folder / "outputs").is_dir() or not (folder / "dev.npy").exists():
        folder = folder / "outputs"
    return folder


def check_codes_file(path: Path, split: str, size: int) -> tuple[int, ...]:
    """Refuse a codes file that is not a float32 (size, Z) array with 1 <= Z <= 32; return its shape."""
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


def _key(folder: Path) -> str:
    return str(Path(folder).resolve())


def _find_vae(root: Path) -> Path:
    """The one folder under ``root`` holding vae.py (``root`` itself when none does)."""
    folders = sorted({p.parent for p in root.rglob("vae.py") if p.is_file()}, key=lambda p: (len(p.parts), str(p)))
    if not folders:
        return root  # the grader reports the missing vae.py on every test
    with_notebook = [f for f in folders if (f / "vae.ipynb").is_file()]
    choice = with_notebook or folders
    if len(choice) > 1 and len(choice[0].parts) == len(choice[1].parts):
        names = ", ".join(str(f.relative_to(root)) for f in choice[:3])
        raise SubmissionError(f"source.zip holds several folders with a vae.py ({names}); upload the zip made by "
                              "`python zipsrc.py hw5`, which holds only your answer/ folder.")
    return choice[0]


def _read_codes(folder: Path) -> dict:
    """The uploaded dev and test codes (float32 arrays) or a problem to report."""
    from data import signs

    sizes = signs.sizes()
    found: dict = {"problem": ""}
    problems = []
    for split in SPLITS:
        paths = sorted(folder.rglob(f"{split}.npy"), key=lambda p: len(p.parts))
        if not paths:
            problems.append(f"output.zip has no {split}.npy")
            continue
        try:
            array = np.load(paths[0], allow_pickle=False)
            found[split] = check_codes(array, sizes[split], f"the uploaded {split}.npy")
        except CodesError as err:
            problems.append(str(err))
        except (OSError, ValueError) as err:
            problems.append(f"the uploaded {split}.npy is not a .npy array of numbers ({str(err)[:200]})")
    if not problems and found["dev"].shape[1] != found["test"].shape[1]:
        problems.append(f"the uploaded dev codes have {found['dev'].shape[1]} dimensions but the test codes "
                        f"{found['test'].shape[1]}")
    if problems:
        found = {"problem": "; ".join(problems) + ". Make output.zip with `python zipout.py hw5`."}
    return found


def prepare(folder: Path) -> Path:
    """Return the folder holding vae.py, after reading the hand-in's codes into the grader's memory."""
    folder = Path(folder)
    zips = [name for name in ZIPS if (folder / name).is_file()]
    if len(zips) == 1:
        other = next(name for name in ZIPS if name not in zips)
        raise SubmissionError(f"Your upload has {zips[0]} but no {other}: upload source.zip "
                              "(`python zipsrc.py hw5`) and output.zip (`python zipout.py hw5`) together.")
    if zips:
        return _from_zips(folder)
    return _from_folder(folder)


def _from_zips(folder: Path) -> Path:
    source, output = folder / "_source", folder / "_output"
    for archive, target in ((folder / "source.zip", source), (folder / "output.zip", output)):
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        try:
            extract_zip(archive, target)
        except SubmissionError as err:
            raise SubmissionError(f"{archive.name}: {err}") from None
    workdir = _find_vae(source)
    try:
        _UPLOADED[_key(workdir)] = _read_codes(output)
    finally:
        shutil.rmtree(output, ignore_errors=True)  # in the grader's memory now; out of the student's reach
    return workdir


def _from_folder(folder: Path) -> Path:
    """A homework folder (``answer/vae.py``, codes in ``outputs/``): the codes are read when present."""
    if not any(p.is_file() for p in folder.rglob("vae.py")):
        raise SubmissionError("This hand-in has neither source.zip and output.zip nor a homework folder with "
                              "answer/vae.py. Upload the two zips made by `python zipsrc.py hw5` and "
                              "`python zipout.py hw5`.")
    workdir = _find_vae(folder)
    found = [p for split in SPLITS for p in folder.rglob(f"{split}.npy") if p.is_file()]
    if found:
        codes = _read_codes(folder)
    else:
        codes = {"problem": "the homework folder has no outputs/dev.npy and outputs/test.npy (run "
                            "`python answer/vae.py` to write them)"}
    for path in found:
        path.unlink()  # in the grader's memory now; out of the student's reach
    _UPLOADED[_key(workdir)] = codes
    return workdir


def uploaded(workdir: Path) -> dict:
    """``{"dev": array, "test": array, "problem": ""}`` or ``{"problem": message}`` for the upload
    whose code runs in ``workdir``."""
    return _UPLOADED.get(_key(workdir), {"problem": "no output.zip was read for this submission "
                                                    "(upload source.zip and output.zip together)"})
