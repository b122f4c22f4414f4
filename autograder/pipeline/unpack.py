"""Turn a submission (a folder or a zip) into a private working copy the grader owns.

Only regular files are copied, never symbolic links; a zip is read member by member and refused
when it holds absolute or ``..`` paths, links, too many members or too many bytes. Students often
zip the folder rather than its contents, so when the required files sit together in one
sub-folder, that sub-folder becomes the submission.
"""
from __future__ import annotations

import contextlib
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from . import scratch

MAX_MEMBERS = 500
MAX_TOTAL_BYTES = 200 << 20   # uncompressed
MAX_FILE_BYTES = 100 << 20
MAX_RATIO = 200               # uncompressed / compressed, per member above 1 MB


class SubmissionError(ValueError):
    """The submission cannot be graded as it is; the message tells the student why."""


@contextlib.contextmanager
def unpacked(submission: Path, required: tuple[str, ...]):
    """Context manager: a private copy of ``submission`` to grade, removed afterwards (and by the
    next grading's sweep when this process is killed first: see :mod:`.scratch`). Raises
    :class:`SubmissionError` for an unreadable or hostile submission."""
    root, held = scratch.make("aekit-sub-")
    try:
        yield unpack(submission, required, root)
    finally:
        scratch.remove(root, held)


def unpack(submission: Path, required: tuple[str, ...], root: Path) -> Path:
    """Copy ``submission`` into ``root/submission`` and return the folder to grade (see
    :func:`unpacked`, which makes and removes ``root``)."""
    submission = Path(submission)
    target = root / "submission"
    target.mkdir()
    if submission.is_dir():
        _copy_folder(submission, target)
    elif submission.is_file() and zipfile.is_zipfile(submission):
        extract_zip(submission, target)
    elif submission.exists():
        raise SubmissionError(f"{submission.name} is neither a folder nor a zip file.")
    else:
        raise SubmissionError(f"There is no submission at {submission}.")
    return _find_root(target, required)


def _copy_folder(source: Path, target: Path) -> None:
    count = total = 0
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in ("__pycache__", ".git", ".ipynb_checkpoints") for part in relative.parts):
            continue
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            continue  # links and special files are never followed
        if stat.S_ISDIR(mode):
            (target / relative).mkdir(parents=True, exist_ok=True)
            continue
        count += 1
        total += path.lstat().st_size
        _check_budget(count, total, str(relative))
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / relative, follow_symlinks=False)


def _check_budget(count: int, total: int, name: str) -> None:
    if count > MAX_MEMBERS:
        raise SubmissionError(f"The submission holds more than {MAX_MEMBERS} files; upload only your source files.")
    if total > MAX_TOTAL_BYTES:
        raise SubmissionError(f"The submission is larger than {MAX_TOTAL_BYTES >> 20} MB (at {name}); "
                              "leave data, checkpoints and outputs out of it.")


def extract_zip(archive: Path, target: Path) -> None:
    """Extract ``archive`` into ``target`` with every check above (for zips nested in an upload)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise SubmissionError(f"The zip holds {len(members)} entries (at most {MAX_MEMBERS} are allowed).")
            total = 0
            for info in members:
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or (name.parts and ":" in name.parts[0]):
                    raise SubmissionError(f"The zip entry {info.filename!r} points outside the submission folder.")
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise SubmissionError(f"The zip entry {info.filename!r} is a symbolic link; links are not accepted.")
                if info.is_dir() or any(p in ("__MACOSX", "__pycache__") for p in name.parts):
                    continue
                total += info.file_size
                if info.file_size > MAX_FILE_BYTES:
                    raise SubmissionError(f"The zip entry {info.filename!r} is too large ({info.file_size >> 20} MB).")
                if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                    raise SubmissionError(f"The zip entry {info.filename!r} expands suspiciously much; "
                                          "re-create the zip with zipsrc.py.")
                _check_budget(0, total, info.filename)
                destination = target.joinpath(*name.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(destination, "wb") as out:
                    copied = 0
                    for block in iter(lambda: source.read(1 << 20), b""):
                        copied += len(block)
                        if copied > info.file_size:  # a lying header
                            raise SubmissionError(f"The zip entry {info.filename!r} is larger than it claims.")
                        out.write(block)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as err:
        raise SubmissionError(f"The zip file cannot be read ({err}); re-create it with zipsrc.py.") from None


def _find_root(target: Path, required: tuple[str, ...]) -> Path:
    """The folder holding the required files: the top, or the one sub-folder that has them all."""
    if not required or all((target / name).is_file() for name in required):
        return target
    candidates = [d for d in sorted(target.rglob("*")) if d.is_dir() and all((d / n).is_file() for n in required)]
    if len(candidates) == 1:
        return candidates[0]
    return target  # missing files are reported by the grader, test by test
