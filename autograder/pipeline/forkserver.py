"""Student processes that start without importing torch: a fork server for side-by-side gradings.

Every student process pays about 1.4 s of CPU to import torch before it can train. With two jobs a
grading starts three of them at once (the unit tests' and two trainings') beside the grader's own
import of torch: on a 2-core box the trainings began about 4 s into a 25 s grading. The ``grade``
verb therefore starts a fork server first thing (before it imports torch itself) when it runs
trainings side by side on the CPU. The server

- is started with the scrubbed environment :func:`.isolate.child_environment` gives a student
  process (never the grader's), in ``/``, as the grader's user (it runs no student code), and
  imports torch and numpy and nothing of the submission, the hidden tests or the grader's data;
- then, for each sandbox, forks: the copy applies exactly what ``Sandbox.start`` gives a fresh
  process (:func:`.isolate._prepare_child`: limits, no network, its own user), its own session,
  only its two pipes, its log and ``/dev/null`` as file descriptors, the sandbox's environment,
  folder and ``sys.path`` (the sandbox's own copy of the kit), and runs the child entry point
  (:mod:`.child`) as ``python -m autograder.pipeline.child`` would.

The copy is forked twice so that the grader, a *child subreaper*, becomes its parent: the grader
waits for it, reads its exit status and kills its session as for any child. The copy does nothing
until the server has seen the step in between end, and so knows the grader has adopted it. Anything that goes
wrong with the server (it failed to start, it died, it answers nothing) makes
:meth:`ForkServer.spawn` return ``None``, and the sandbox starts the usual way.
"""
from __future__ import annotations

import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]
PR_SET_CHILD_SUBREAPER = 36
_TARGET_FDS = (3, 4)   # where the student's process finds its request and answer pipes


class Forked:
    """A student process the fork server started, as much of ``subprocess.Popen`` as a sandbox
    uses. The grader is its parent (a subreaper), so ``waitpid`` works as for any child."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:   # reaped already (it cannot be anyone else's)
                self.returncode = -9
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Its exit status, once it has ended; ``subprocess.TimeoutExpired`` after ``timeout``
        seconds. Woken by the kernel the moment it ends (a pidfd), where polling with a doubling
        pause noticed an exit up to as long again after it (0.02-0.04 s for a trained model)."""
        if self.poll() is not None:
            return self.returncode
        if timeout is not None:
            timeout = max(0.0, timeout)
        try:
            handle = os.pidfd_open(self.pid)
        except (AttributeError, OSError):   # an older kernel, or it has been reaped meanwhile
            return self._poll_until(timeout)
        try:
            if not select.select([handle], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"student process {self.pid}", timeout)
        finally:
            os.close(handle)
        return self._poll_until(None)

    def _poll_until(self, timeout: float | None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.001
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"student process {self.pid}", timeout)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        return self.returncode


def for_grading(jobs: int, device: str = "cpu") -> "ForkServer | None":
    """The fork server a grading uses: with two jobs or more on the CPU (trainings side by side,
    where the student processes' starts come before the trainings can have the cores); ``None``
    with one job, which keeps one student process at a time and its memory low, with a GPU, and
    where ``AEKIT_FORKSERVER=0`` turns it off (to compare)."""
    if jobs < 2 or device == "cuda" or os.environ.get("AEKIT_FORKSERVER", "1") == "0":
        return None
    server = ForkServer()
    return server if server.running else None


class ForkServer:
    """The grader's side: start the server, ask it for student processes, end it."""

    def __init__(self, threads: int = 1):
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self.spawned = 0   # student processes it has started
        if not _become_subreaper():
            return
        from .isolate import child_environment

        env = child_environment(Path("/nonexistent/aekit-fork-server"), threads)   # each copy gets its own
        env["PYTHONPATH"] = str(KIT_ROOT)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "autograder.pipeline.forkserver", str(theirs.fileno())],
                cwd="/", env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), start_new_session=True,
                preexec_fn=_server_prepare)
        except OSError:
            ours.close()
            return
        finally:
            theirs.close()
        self._socket = ours

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._socket is not None

    def spawn(self, *, agent: str, cwd: Path, env: dict, fds: tuple, log_fd: int, limits, uid, network_flags):
        """A :class:`Forked` student process, or ``None`` when the server cannot make one (the
        sandbox then starts one the usual way). ``fds`` are the request and answer pipe ends the
        process keeps."""
        from dataclasses import asdict

        if self._socket is None:
            return None
        order = {"agent": agent, "cwd": str(cwd), "env": env, "limits": asdict(limits), "uid": uid,
                 "flags": network_flags, "grader": os.getpid()}
        data = json.dumps(order).encode()
        with self._lock:
            try:
                self._socket.settimeout(30)
                socket.send_fds(self._socket, [struct.pack("!I", len(data)) + data], [*fds, log_fd])
                answer = _receive(self._socket)
            except (OSError, ValueError):
                answer = None
            if not answer or not answer.get("pid"):
                self._stop()
                return None
            self.spawned += 1
        return Forked(int(answer["pid"]))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None:   # it holds nothing worth a clean exit
            self._process.kill()
            self._process.wait()
            self._process = None


def _become_subreaper() -> bool:
    """Make this process the parent of the processes its descendants orphan (Linux 3.4+)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _server_prepare() -> None:
    from .accounts import die_with_parent

    die_with_parent()


def _receive(sock: socket.socket, with_fds: bool = False):
    """One length-prefixed JSON message (and the descriptors sent with it)."""
    head, fds, _, _ = socket.recv_fds(sock, 4, 8)
    if len(head) < 4:
        for fd in fds:
            os.close(fd)
        return (None, []) if with_fds else None
    size = struct.unpack("!I", head)[0]
    body = b""
    while len(body) < size:
        chunk = sock.recv(size - len(body))
        if not chunk:
            break
        body += chunk
    message = json.loads(body) if len(body) == size else None
    return (message, fds) if with_fds else message


def _send(sock: socket.socket, message: dict) -> None:
    data = json.dumps(message).encode()
    sock.sendall(struct.pack("!I", len(data)) + data)


# -- the server's side ----------------------------------------------------------------------
def serve(control_fd: int) -> None:
    import gc

    import numpy  # noqa: F401  (every student process imports both; the copies inherit them)
    import torch  # noqa: F401

    from . import isolate  # noqa: F401  (what each copy applies, loaded before any fork)

    base_path = [p for p in sys.path[1:] if p != str(KIT_ROOT)]
    gc.freeze()   # the copies then write to fewer of the pages they share with the server
    sock = socket.socket(fileno=control_fd)
    while True:
        try:
            order, fds = _receive(sock, with_fds=True)
        except OSError:
            return
        if order is None:
            return
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            _send(sock, {"pid": 0})
            continue
        report_read, report_write = os.pipe()
        go_read, go_write = os.pipe()
        middle = os.fork()
        if middle == 0:   # the copy in between: fork the student's process, then end at once
            try:
                sock.close()
                os.close(report_read)
                os.close(go_write)
                student = os.fork()
                if student == 0:
                    os.close(report_write)
                    _become_student(order, fds, base_path, go_read)
                os.write(report_write, str(student).encode())
            finally:
                os._exit(0)
        os.close(report_write)
        os.close(go_read)
        for fd in fds:
            os.close(fd)
        os.waitpid(middle, 0)   # the student's process is the grader's child from here on
        try:
            os.write(go_write, b"1")   # which it waits for before anything else
        except OSError:
            pass   # it has died already: the grader sees its exit
        os.close(go_write)
        with os.fdopen(report_read, "rb") as report:
            pid = report.read().decode() or "0"
        _send(sock, {"pid": int(pid)})


def _become_student(order: dict, fds: list, base_path: list, go: int) -> None:
    """In the forked copy: become the sandbox's student process; never returns. It starts once the
    server says (on ``go``) that the grader has adopted it."""
    code = 1
    try:
        if os.read(go, 1) != b"1" or os.getppid() != order["grader"]:
            os._exit(1)   # the server or the grader is gone
        os.close(go)
        os.setsid()
        request, answer, log = (os.dup(fd) for fd in fds)   # out of the way of 0-4 first
        null = os.open(os.devnull, os.O_RDONLY)
        for source, target in ((null, 0), (log, 1), (log, 2), (request, _TARGET_FDS[0]), (answer, _TARGET_FDS[1])):
            os.dup2(source, target)
        os.closerange(_TARGET_FDS[1] + 1, os.sysconf("SC_OPEN_MAX"))   # the server's socket too
        from .isolate import Limits, _prepare_child

        _prepare_child(Limits(**{k: tuple(v) if isinstance(v, list) else v for k, v in order["limits"].items()}),
                       order["uid"], order["flags"])()
        if os.getppid() != order["grader"]:
            os._exit(1)   # the grader died before this process was bound to it
        os.chdir(order["cwd"])
        os.environ.clear()
        os.environ.update(order["env"])
        import site
        import tempfile

        tempfile.tempdir = None   # read again from TMPDIR (the server's was set while it loaded)
        site.USER_BASE = site.USER_SITE = None   # from HOME, when asked
        python_path = [p for p in order["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [order["cwd"], *python_path, *base_path]
        for name in [n for n in sys.modules if n == "autograder" or n.startswith("autograder.")]:
            del sys.modules[name]   # the child side comes from the sandbox's copy of the kit
        sys.path_importer_cache.clear()
        import importlib

        importlib.invalidate_caches()
        sys.argv = [str(Path(python_path[-1]) / "autograder" / "pipeline" / "child.py"), order["agent"],
                    str(_TARGET_FDS[0]), str(_TARGET_FDS[1])]
        child = importlib.import_module("autograder.pipeline.child")
        child.finish(child.main(sys.argv[1:]))
    except BaseException:   # noqa: BLE001 - nothing of the server's may run on in this copy
        try:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
        except BaseException:   # noqa: BLE001
            pass
    os._exit(code)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
    os._exit(0)   # no clean-up of torch's objects: nothing of the server's outlives it
