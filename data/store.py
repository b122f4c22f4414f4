"""Finding the course's data files, verifying them, and fetching them when online.

Every homework loads its data through :func:`fetch`, which looks for a file in this order:

1. ``$AEKIT_DATA/<dataset>/<file>`` when the ``AEKIT_DATA`` environment variable is set;
2. the kit's own cache, ``$AEKIT_CACHE/<dataset>/<file>`` (default ``data/cache/`` inside the kit);
3. ``../shared/data/<dataset>/<file>`` beside the kit's folder (the copy a course server shares);
4. a download from the dataset's public mirrors into the cache (skipped when ``AEKIT_OFFLINE=1``).

A file is used only when its MD5 checksum matches the one the kit knows. A corrupt copy is reported
and skipped, and a download is verified before it is kept. When nothing works, :class:`DataError`
says what was looked for, where, and what to do; it never leaves a half-written file behind.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent


class DataError(RuntimeError):
    """The data a homework needs is missing or corrupt; the message says what to do."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name, its MD5 checksum and where it can be downloaded."""

    dataset: str
    name: str
    md5: str
    mirrors: tuple[str, ...] = ()


def cache_dir() -> Path:
    """The kit's own cache folder (``$AEKIT_CACHE`` or ``data/cache`` in the kit)."""
    return Path(os.environ.get("AEKIT_CACHE") or KIT_ROOT / "data" / "cache")


def shared_dir() -> Path:
    """The course's shared copy of the data, ``../shared/data`` beside the kit."""
    return KIT_ROOT.parent / "shared" / "data"


def data_root() -> str:
    """The data folder to hand another process as ``AEKIT_DATA``: ``$AEKIT_DATA``, else the course's
    shared copy when it exists, else ``""`` (none)."""
    return os.environ.get("AEKIT_DATA") or (str(shared_dir()) if shared_dir().is_dir() else "")


def search_dirs(dataset: str) -> list[Path]:
    """The folders searched for ``dataset``, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("AEKIT_DATA"):
        dirs.append(Path(os.environ["AEKIT_DATA"]) / dataset)
    dirs.append(cache_dir() / dataset)
    dirs.append(shared_dir() / dataset)
    return dirs


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(remote: RemoteFile, *, download: bool | None = None) -> Path:
    """Return the path of a verified local copy of ``remote``, downloading it if allowed.

    Raises :class:`DataError` with instructions when no good copy can be found or made.
    """
    problems: list[str] = []
    for folder in search_dirs(remote.dataset):
        candidate = folder / remote.name
        if not candidate.is_file():
            continue
        actual = md5sum(candidate)
        if actual == remote.md5:
            return candidate
        problems.append(f"{candidate} is corrupt (MD5 {actual}, expected {remote.md5})")

    if download is None:
        download = os.environ.get("AEKIT_OFFLINE", "") not in ("1", "true", "yes")
    if download and remote.mirrors:
        target = cache_dir() / remote.dataset / remote.name
        for mirror in remote.mirrors:
            url = mirror.rstrip("/") + "/" + remote.name
            try:
                _download(url, target, remote.md5)
                return target
            except (OSError, DataError) as err:  # network down, mirror gone, bad bytes
                problems.append(f"download from {url} failed: {err}")

    looked = "\n".join(f"  - {d / remote.name}" for d in search_dirs(remote.dataset))
    found = "\n".join(f"  - {p}" for p in problems) or "  - no copy anywhere, and no download was possible"
    raise DataError(
        f"The {remote.dataset} file {remote.name} is missing or corrupt.\n"
        f"Looked in, in this order:\n{looked}\n"
        f"What went wrong:\n{found}\n"
        f"What to do: put a good copy (MD5 {remote.md5}) in one of those folders, or set AEKIT_DATA "
        f"to a folder that holds {remote.dataset}/{remote.name}, or run once while online so the kit "
        f"can download it into {cache_dir() / remote.dataset}."
    )


def _download(url: str, target: Path, md5: str, timeout: float = 30.0) -> None:
    """Download ``url`` to ``target`` atomically, keeping it only if the checksum matches."""
    def copy(out) -> None:
        digest = hashlib.md5()
        with urllib.request.urlopen(url, timeout=timeout) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != md5:
            raise DataError(f"downloaded bytes have MD5 {digest.hexdigest()}, expected {md5}")
    write_atomically(target, copy)


SHARED_MODE = 0o644   # the data sets are public; students' sandboxed processes read them as other users
PRIVATE = "grader"    # the cache's one private folder: the grader's own data (autograder/pipeline/kept.py)


def write_atomically(target: Path, write, mode: int = SHARED_MODE) -> None:
    """Write ``target`` (a file of the cache) through ``write(binary_file)``: into a temporary file
    beside it, then moved into place, so readers see the old file or the whole new one and a failure
    leaves nothing behind. The file is readable by every user (:data:`SHARED_MODE`): the students'
    processes, which run as users of their own, load the same cache (the grader's own data passes
    ``mode=0o600``; the temporary file is its owner's alone until then). Raises ``OSError`` when the
    folder cannot be written (a read-only kit), or whatever ``write`` raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=".part-", suffix=target.suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.chmod(name, mode)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)


def share_cache(root: Path | None = None) -> int:
    """Make the files of the kit's cache (``root``, default :func:`cache_dir`) that this user owns
    readable by every user, as :func:`write_atomically` writes them: caches written by older
    versions of the kit were readable by their owner only, so a student's process could not use them
    (it decoded the data again, slowly, or failed). The grader's folder (:data:`PRIVATE`) stays
    private. Returns how many files and folders changed."""
    changed, root = 0, Path(root or cache_dir())
    private = root / PRIVATE
    for path in [root, *root.rglob("*")]:
        if path == private or private in path.parents:
            continue   # stays readable by the grader alone
        try:
            info = path.lstat()
            if path.is_symlink() or info.st_uid != os.getuid():
                continue
            wanted = info.st_mode | (0o755 if path.is_dir() else 0o444)
            if wanted != info.st_mode:
                os.chmod(path, wanted & 0o7777)
                changed += 1
        except OSError:
            continue
    return changed
