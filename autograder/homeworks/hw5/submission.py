"""Open a homework 5 hand-in: ``source.zip`` and ``output.zip`` side by side (a folder or a zip), or
the student's homework folder itself (``answer/`` and ``outputs/``, as a TA finds it on a course server).

:func:`prepare` is the spec's ``prepare`` hook. It runs on the grader's private copy of the upload,
before any student code runs. With the two zips it extracts both with the same safety checks as the
upload itself (``autograder.pipeline.unpack.extract_zip``); with a homework folder it takes the codes
from ``outputs/`` when they are there (nothing the student did not hand in is run to make them).
Either way it reads the codes into the grader's memory (``np.load(allow_pickle=False)``, so a crafted
file cannot run code), removes them from disk, and returns the folder holding ``vae.py``, where the
student's process will run. The hidden tests find the uploaded codes with :func:`uploaded`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from autograder.pipeline.unpack import SubmissionError, extract_zip

from .scoring import CodesError, check_codes

SPLITS = ("dev", "test")
ZIPS = ("source.zip", "output.zip")
_UPLOADED: dict[str, dict] = {}


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
