"""Who the student's process runs as, and what it can reach.

When the grader runs as root (as on Gradescope, or under ``sudo`` for batch grading), every
sandbox gets a user id of its own from a reserved range (``AEKIT_UID_BASE``, default 61000, 1000
ids; ``setup.sh`` of the Gradescope bundle names the first one ``aekit-student``). A user id of its
own means the student's code cannot read files that are private to root (the kit's reference
solutions, hidden tests and weights, locked by :func:`lock_secrets`), cannot read another
sandbox's files (each sandbox folder is private to its own id), cannot signal another sandbox's
processes, and counts its processes against its own ``RLIMIT_NPROC``. When the sandbox closes,
every process of that id is killed, even ones that left the process group.

A fresh network namespace (``unshare(CLONE_NEWNET)``) leaves the student's process with a
loopback device that is down and no route anywhere. Root can always make one; an ordinary user
can where the kernel allows unprivileged user namespaces. :func:`network_flags` probes once.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
UID_BASE = int(os.environ.get("AEKIT_UID_BASE", "61000"))
UID_COUNT = 1000
_LOCKS = Path(tempfile.gettempdir()) / "aekit-uids"


def is_root() -> bool:
    return os.geteuid() == 0


def unshare(flags: int) -> None:
    """Call unshare(2) (``os.unshare`` only exists from Python 3.12)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


@lru_cache(maxsize=1)
def network_flags() -> int:
    """The unshare flags that give a child no network here, or 0 when the platform has none."""
    candidates = [CLONE_NEWNET] if is_root() else [CLONE_NEWUSER | CLONE_NEWNET]
    for flags in candidates:
        probe = ("import ctypes,sys\nlibc=ctypes.CDLL(None,use_errno=True)\n"
                 f"sys.exit(0 if libc.unshare({flags})==0 else 1)\n")
        try:
            done = subprocess.run([sys.executable, "-c", probe], timeout=30, capture_output=True)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return flags
    return 0


def _readable_by_others(path: Path) -> bool:
    """Whether a user with no relation to the owner can reach (and read) ``path``."""
    path = Path(os.path.realpath(path))
    try:
        for folder in reversed(path.parents):
            if not folder.stat().st_mode & stat.S_IXOTH:
                return False
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


@lru_cache(maxsize=1)
def python_blocker() -> str:
    """Empty when another user can run this Python and import torch; else the path in the way.

    Torch is located, not imported: a sandbox starts before the grader's own process has paid for
    importing it, so the student's process imports torch while the grader does."""
    import importlib.util

    torch = importlib.util.find_spec("torch")
    torch_file = torch.origin if torch is not None and torch.origin else os.__file__
    for path in (sys.executable, Path(torch_file), Path(os.__file__)):
        if not _readable_by_others(Path(path)):
            return str(os.path.realpath(path))
    return ""


class UserSlot:
    """A user id reserved for one sandbox (root only); :meth:`release` gives it back."""

    def __init__(self):
        _LOCKS.mkdir(mode=0o700, exist_ok=True)
        start = os.getpid() % UID_COUNT
        for step in range(UID_COUNT):
            uid = UID_BASE + (start + step) % UID_COUNT
            lock = _LOCKS / str(uid)
            try:
                fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                if _stale(lock):
                    clear_user(uid)
                    lock.unlink(missing_ok=True)
                continue
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            self.uid, self._lock = uid, lock
            kill_user(uid)  # nothing left over from a grader that died
            return
        raise RuntimeError("all sandbox user ids are in use; too many graders run at once")

    def release(self) -> None:
        clear_user(self.uid)
        self._lock.unlink(missing_ok=True)


def reap_stale() -> list[int]:
    """Free the user ids of graders that died without closing their sandboxes (killed by a
    batch's time limit, say): kill what still runs under them and remove their files."""
    freed = []
    if not _LOCKS.is_dir():
        return freed
    for lock in _LOCKS.iterdir():
        if lock.name.isdigit() and _stale(lock):
            uid = int(lock.name)
            clear_user(uid)
            lock.unlink(missing_ok=True)
            freed.append(uid)
    return freed


def die_with_parent() -> None:
    """Ask the kernel to kill this process when the grader that started it dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass


def _stale(lock: Path) -> bool:
    """A lock whose grader process is gone."""
    try:
        pid = int(lock.read_text() or "0")
        os.kill(pid, 0)
        return False
    except (ValueError, ProcessLookupError):
        return True
    except (OSError, PermissionError):
        return False


def _stats():
    """``(pid, uid, fields)`` of every process, ``fields`` being /proc/PID/stat after the command
    name (state, parent, group, session, ...)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            uid = entry.stat().st_uid
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(entry.name), uid, fields


def _processes():
    """``(pid, uid, session, rss_pages)`` of every live process (zombies left out), from /proc."""
    for pid, uid, fields in _stats():
        try:
            if fields[0] in (b"Z", b"X"):
                continue
            yield pid, uid, int(fields[3]), int(fields[21])
        except (IndexError, ValueError):
            continue


def kill_user(uid: int) -> None:
    """SIGKILL every process of ``uid`` (it never holds anything but one sandbox)."""
    if uid is None or uid < UID_BASE:
        return
    kill_all(lambda: [pid for pid, owner, _, _ in _processes() if owner == uid])
    reap_adopted(uid)


def reap_adopted(uid: int) -> None:
    """Collect the exit status of ``uid``'s ended processes that this grader adopted (a grading
    with a fork server is a child subreaper: what the student's processes orphan comes to it), so
    that they stop counting towards that user's process limit."""
    me = str(os.getpid()).encode()
    for pid, owner, fields in _stats():
        if owner == uid and fields[:2] == [b"Z", me]:
            try:
                os.waitpid(pid, os.WNOHANG)
            except OSError:
                pass


def kill_all(find, seconds: float = 10.0) -> None:
    """SIGKILL the processes ``find()`` lists until it lists none (or ``seconds`` have passed):
    a process may start another while the first ones die."""
    import time

    deadline = time.monotonic() + seconds
    while True:
        left = find()
        if not left or time.monotonic() > deadline:
            return
        for pid in left:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        time.sleep(0.05)


def _pss_kb(pid: int) -> int | None:
    """Proportional set size of ``pid`` in kB (shared pages split between their users)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def clear_user(uid: int) -> None:
    """Kill every process of a sandbox user and remove what it left in the scratch folders."""
    kill_user(uid)
    remove_files_of(uid)


def resident_mb(session: int, uid: int | None) -> float:
    """Memory (MB) the sandbox's processes hold: their own user's processes, or their session's.

    Counted as PSS, so pages that forked children share with their parent count once, not once
    per child; resident size where PSS cannot be read.
    """
    page_kb = os.sysconf("SC_PAGE_SIZE") / 1024
    total_kb = 0.0
    for pid, owner, sid, rss in _processes():
        if (owner == uid) if uid is not None else (sid == session):
            pss = _pss_kb(pid)
            total_kb += pss if pss is not None else rss * page_kb
    return total_kb / 1024


def free_mb(path: Path) -> float:
    """Free space (MB) on the file system holding ``path``."""
    try:
        info = os.statvfs(path)
    except OSError:
        return float("inf")
    return info.f_bavail * info.f_frsize / (1 << 20)


def remove_files_of(uid: int, folders=("/tmp", "/var/tmp", "/dev/shm")) -> None:
    """Delete what ``uid`` left at the top of the shared scratch folders."""
    import shutil

    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def give(path: Path, uid: int) -> None:
    """Hand ``path`` and everything below it to ``uid``, private to it (mode 0700 folders)."""
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        os.chmod(root, 0o700)
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                os.chown(full, uid, uid)


def lock_secrets(paths) -> list[str]:
    """Make ``paths`` unreadable to everyone but their owner (root); return those changed.

    The kit's own reference solutions, hidden tests, grader weights and tests are locked before a
    sandbox runs as another user. Folders above them stay traversable (the kit's virtual
    environment and public code live beside them).
    """
    changed = []
    for path in map(Path, paths):
        if path.is_dir():
            for root, _, files in os.walk(path):
                _lock_one(Path(root), changed)
                for name in files:
                    _lock_one(Path(root) / name, changed)
        elif path.exists():
            _lock_one(path, changed)
    return changed


def _lock_one(path: Path, changed: list) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not mode & 0o077:
            return
        os.chmod(path, mode & ~0o077)
        changed.append(str(path))
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise


def lock_and_reap(paths=()) -> bool:
    """What a grading (or a batch of them) does first, and a batch after each grader it stopped: as
    root, make ``paths`` (uploads, result folders) readable by root alone (:func:`lock_secrets`),
    then free the user ids of graders that died without closing their sandboxes
    (:func:`reap_stale`). Returns whether it did: without root every sandbox runs as this user, so
    there is nothing to lock or reap."""
    if not is_root():
        return False
    lock_secrets(paths)
    reap_stale()
    return True


@lru_cache(maxsize=1)
def lock_kit() -> int:
    """Lock the kit's secrets (see :func:`lock_secrets`) once per grader process."""
    from autograder.homeworks import secret_paths

    return len(lock_secrets(secret_paths()))


def isolation_notes(isolation: dict) -> str:
    """A sentence for the feedback about what this platform could not enforce (or nothing)."""
    if not isolation.get("started"):
        return ""
    gaps = []
    if not isolation.get("no_network"):
        gaps.append("cut your code off from the network")
    if not isolation.get("own_user"):
        gaps.append("run your code as a separate user")
    if not gaps:
        return ""
    return ("Note: on this grading machine the autograder could not " + " or ".join(gaps) +
            ". This does not change your score; graders running as root on Linux enforce both.")
