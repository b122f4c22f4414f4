"""Grader data kept on disk between gradings: made on a machine's first grading, read back after.

The student processes of a grading wait for the grader's training set before their first epoch.
Where making it is a noticeable part of that wait (hw2: 600 augmented emoji, 0.17 s after torch has
loaded, while both student processes are ready), a homework makes it through :func:`kept`::

    kept("hw2-train", make=lambda: measure.grader_part(...),
         inputs=lambda: {"seed": seed, "emoji": emoji.identity()}, code=(measure.__file__, emoji.__file__))

``make()`` returns tensors, numbers, strings and lists or dicts of them (what
``torch.load(weights_only=True)`` rebuilds); ``kept`` returns the same, to the last bit.

Why a grading can trust what it reads back:

- **The key.** A file is used only when it was made from the same ``inputs()`` (everything that
  decides the data besides code: seeds, the identity of a dataset), the same ``code`` files (their
  SHA-256), the same torch version and the same CPU kernels. Anything else makes it again, and the
  new file replaces the old one (one file per name: nothing piles up).
- **The bytes.** The file's first line records the SHA-256 of the rest; a file that does not match
  (a broken disk, a write cut short by hand) is made again.
- **The folder** (``grader/`` in the data cache, ``data/cache/grader`` by default) belongs to the
  grader's user, and nobody else may enter it (0700, files 0600). Student processes run as users of
  their own, so they can neither read the grader's data nor plant theirs. A folder of ours found
  open to others is closed and emptied first (a file could have been planted while it was open); a
  folder of another user, or a link, is never used. Then, and when the folder cannot be made or
  written, the data is made every time, as if nothing were kept.
- **Only a grader running as root keeps anything**: without root, student processes run as the
  grader's own user, and one student's code could leave a file for the next student's grading.
- ``AEKIT_KEEP=0`` turns keeping off.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
from pathlib import Path
from typing import Callable

FORMAT = 1   # bump when the file's layout changes


def folder() -> Path | None:
    """The grader's private folder, made when missing; None when keeping is off or not safe here."""
    from data.store import PRIVATE, cache_dir

    from .accounts import is_root

    if os.environ.get("AEKIT_KEEP", "1") == "0" or not is_root():
        return None
    path = cache_dir() / PRIVATE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return None
        if stat.S_IMODE(info.st_mode) != 0o700:   # ours, but others could reach it: nothing in it counts
            os.chmod(path, 0o700)
            for entry in path.iterdir():
                if entry.is_symlink() or not entry.is_dir():   # (no folder is ever read: left alone)
                    entry.unlink()
    except OSError:
        return None
    return path


def key_of(inputs: dict, code=()) -> str:
    """The SHA-256 naming one version of the data (see the module docstring)."""
    import torch

    described = {"format": FORMAT, "inputs": inputs, "torch": torch.__version__,
                 "cpu": torch.backends.cpu.get_cpu_capability(),
                 "code": [hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in code]}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def kept(name: str, make: Callable[[], object], inputs: Callable[[], dict], code=()):
    """``make()``, or what an earlier ``make()`` of the same key left in the grader's folder."""
    place = folder()
    if place is None:
        return make()
    try:
        key = key_of(inputs(), code)
    except Exception:  # noqa: BLE001 - a dataset that cannot be found, say: make() reports it
        return make()
    path = place / f"{name}.pt"
    value = _read(path, key)
    if value is None:
        value = make()
        _write(path, key, value)
    return value


def _read(path: Path, key: str):
    """The data in ``path`` when it is a file of ours with this ``key`` and intact bytes; else None."""
    import torch

    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[:end]) if end > 0 else {}
    except ValueError:
        return None
    payload = memoryview(raw)[end + 1:]
    if header.get("key") != key or header.get("sha256") != hashlib.sha256(payload).hexdigest():
        return None
    try:
        return torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception:  # noqa: BLE001 - unreadable: made again
        return None


def _write(path: Path, key: str, value) -> None:
    """Write ``value`` under ``key`` atomically (mode 0600); a folder that cannot be written is no error."""
    import torch

    from data.store import write_atomically

    buffer = io.BytesIO()
    torch.save(value, buffer)
    payload = buffer.getvalue()
    header = json.dumps({"key": key, "sha256": hashlib.sha256(payload).hexdigest()}).encode() + b"\n"
    try:
        write_atomically(path, lambda out: out.writelines((header, payload)), mode=0o600)
    except OSError:
        pass
