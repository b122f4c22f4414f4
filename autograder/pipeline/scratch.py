"""Temporary folders that hold a student's files during a grading, and the sweep that removes the
ones a dead grading left behind.

A grading keeps copies of the submission in temporary folders: the unpacked upload, each student
process's runtime folder and log, a cluster worker's scratch folder. They are removed when the
grading ends, but not when its process is killed (a cluster worker stopped, the machine's
out-of-memory killer, a TA's kill -9). Each such folder therefore has a lock file beside it,
``<folder>.held``, that the process which made it holds (an exclusive ``flock``) for as long as it
lives; the system lets go of the lock however the process ends. :func:`sweep`, run at the start of
every grading and of every cluster worker, removes the folders whose lock nobody holds.

The lock file sits beside the folder, not in it, so it stays the grader's when the folder is given
to a student's user; a folder without a lock file (made by an older kit, or one being made) is
never touched.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from pathlib import Path

SUFFIX = ".held"
PREFIX = "aekit-"   # every kit folder swept starts with it


def make(prefix: str) -> tuple[Path, int]:
    """A new temporary folder named ``prefix...`` and the descriptor that holds its lock (give both
    to :func:`remove`). ``prefix`` must start with :data:`PREFIX`."""
    assert prefix.startswith(PREFIX), prefix
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    making = folder.with_name(folder.name + SUFFIX + "-new")
    try:
        held = os.open(making, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        fcntl.flock(held, fcntl.LOCK_EX)
        os.rename(making, folder.with_name(folder.name + SUFFIX))   # locked before a sweep can see it
    except BaseException:
        making.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, held


def remove(folder: Path, held: int | None) -> None:
    """Remove ``folder`` (made by :func:`make`) and its lock; safe to call twice."""
    shutil.rmtree(folder, ignore_errors=True)
    if held is not None:
        Path(str(folder) + SUFFIX).unlink(missing_ok=True)
        try:
            os.close(held)
        except OSError:
            pass


def sweep(root: Path | None = None) -> list[Path]:
    """Remove the kit's temporary folders under ``root`` (default: the system's temporary folder)
    whose maker has died; return them. Only lock files of this user are considered, and a folder is
    left while its maker lives and holds its lock."""
    removed = []
    for lock in Path(root or tempfile.gettempdir()).glob(PREFIX + "*" + SUFFIX):
        try:
            info = lock.lstat()
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():   # links are not followed
                continue
            held = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:   # its maker is alive
            os.close(held)
            continue
        folder = Path(str(lock)[:-len(SUFFIX)])
        if not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        os.close(held)
        removed.append(folder)
    return removed
