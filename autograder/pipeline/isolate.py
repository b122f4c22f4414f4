"""Run student code in a separate, limited process and ask it questions.

A :class:`Sandbox` starts ``python -m autograder.pipeline.child`` in the submission's private
working folder with:

- a scrubbed environment (no variables of the grader's leak in) and ``HOME`` set to that folder;
- its own process group, so a timeout kills every process the student started;
- resource limits on address space, CPU time, file size and open files;
- standard input closed and standard output/error captured to a capped log the grader only shows
  as feedback;
- two private pipes for requests and answers (see :mod:`.wire`).

The grader then calls ``sandbox.call("method", *args)`` and gets back raw data. Anything that goes
wrong on the student's side (an exception, ``sys.exit``, a crash, a hang, an unreadable answer)
raises :class:`StudentFailure`, whose ``feedback`` says what was asked, what happened and the last
lines of the student's traceback. A crashed sandbox restarts on the next call.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import wire

KIT_ROOT = Path(__file__).resolve().parents[2]
LOG_LIMIT = 8 << 20  # bytes of student output kept on disk (RLIMIT_FSIZE also caps it)


class StudentFailure(Exception):
    """Student code failed while answering a request; ``feedback`` is for the student."""

    def __init__(self, feedback: str, kind: str = "error"):
        super().__init__(feedback)
        self.feedback = feedback
        self.kind = kind  # "error", "timeout", "crash" or "garbled"


@dataclass
class Limits:
    """Resource limits of one sandboxed process."""

    memory_mb: int = 4096       # address space; torch alone reserves ~1.5 GB of it
    cpu_seconds: int = 7200     # CPU time, a backstop behind the wall-clock timeouts
    file_mb: int = 64           # largest file the process may write (its log included)
    open_files: int = 256
    threads: int = 1            # torch threads: one per process keeps results deterministic


def _limit_child(limits: Limits):
    def apply():
        import resource

        mb = 1 << 20
        for name, value in (("RLIMIT_AS", limits.memory_mb * mb), ("RLIMIT_CPU", limits.cpu_seconds),
                            ("RLIMIT_FSIZE", limits.file_mb * mb), ("RLIMIT_NOFILE", limits.open_files),
                            ("RLIMIT_CORE", 0)):
            try:
                resource.setrlimit(getattr(resource, name), (value, value))
            except (ValueError, OSError):
                pass
    return apply


def child_environment(workdir: Path, threads: int) -> dict:
    """The only variables the student's process sees."""
    from data import store

    data_dirs = [str(d.parent) for d in store.search_dirs("mnist") if d.is_dir()]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "PYTHONPATH": os.pathsep.join([str(workdir), str(KIT_ROOT)]),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "CUDA_VISIBLE_DEVICES": "",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "AEKIT_THREADS": str(threads),
        "AEKIT_OFFLINE": "1",
        "AEKIT_PROGRESS": "0",
        "LANG": "C.UTF-8",
    }
    if data_dirs:
        env["AEKIT_DATA"] = data_dirs[0]
    return env


class Sandbox:
    """One student process, started lazily and restarted after a crash."""

    def __init__(self, workdir: Path, agent: str, limits: Limits | None = None, label: str = "sandbox"):
        self.workdir = Path(workdir)
        self.agent = agent
        self.limits = limits or Limits()
        self.label = label
        self.process: subprocess.Popen | None = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="aekit-log-"))
        self.log_path = self._log_dir / f"{label}.log"
        self._pending: str | None = None
        self._deadline = 0.0

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "autograder.pipeline.child", self.agent, str(request_read), str(answer_write)],
                cwd=self.workdir, env=child_environment(self.workdir, self.limits.threads),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                pass_fds=(request_read, answer_write), start_new_session=True,
                preexec_fn=_limit_child(self.limits),
            )
        finally:
            log.close()
            os.close(request_read)
            os.close(answer_write)
        self._request_fd, self._answer_fd = request_write, answer_read

    def close(self) -> None:
        if self.process is None:
            return
        for fd in (self._request_fd, self._answer_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        self._kill()
        self.process = None
        self._pending = None

    def _kill(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        import shutil

        shutil.rmtree(self._log_dir, ignore_errors=True)

    # -- requests -------------------------------------------------------------------------
    def submit(self, method: str, *args, what: str = "", seed: int = 0, timeout: float = 120.0, **kwargs) -> None:
        """Send a request without waiting; collect it with :meth:`result`."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self.start()
        self._pending = what or method
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        try:
            wire.write_frame(self._request_fd, {"method": method, "args": args, "kwargs": kwargs, "seed": seed})
        except OSError:
            self._raise_crash()

    def result(self):
        """Wait for the answer of the last :meth:`submit`; raise :class:`StudentFailure` on failure."""
        what = self._pending
        try:
            answer = self._read_answer()
        except TimeoutError:
            self._kill()
            self.close()
            raise StudentFailure(
                f"While the grader ran {what}, your code did not finish within {self._timeout:.0f} seconds, "
                f"so it was stopped. Look for an endless loop or much slower code than needed."
                + self._log_tail(), kind="timeout") from None
        except wire.PipeClosed:
            self._raise_crash()
        except wire.WireError as err:
            if self.process is not None and self.process.poll() is None:
                self._kill()
                self.close()
                raise StudentFailure(f"While the grader ran {what}, your process sent back something "
                                     f"the grader cannot read ({err}).", kind="garbled") from None
            self._raise_crash()
        if not isinstance(answer, dict) or "ok" not in answer:
            self._kill()
            self.close()
            raise StudentFailure(f"While the grader ran {what}, your process answered out of turn.", kind="garbled")
        if answer["ok"] is True:
            return answer.get("value")
        error = answer.get("error")
        error = {k: str(v)[:4000] for k, v in error.items()} if isinstance(error, dict) else {}
        text = f"While the grader ran {what}, your code raised {error.get('type', 'an error')}: {error.get('message', '')}"
        if error.get("traceback"):
            text += "\nLast lines of the traceback:\n" + str(error["traceback"])
        raise StudentFailure(text)

    def call(self, method: str, *args, what: str = "", seed: int = 0, timeout: float = 120.0, **kwargs):
        self.submit(method, *args, what=what, seed=seed, timeout=timeout, **kwargs)
        return self.result()

    def _read_answer(self):
        return wire.read_frame(self._answer_fd, self._wait_readable)

    def _wait_readable(self, fd: int) -> None:
        """Block until ``fd`` has data; raise TimeoutError once the deadline has passed."""
        while True:
            left = self._deadline - time.monotonic()
            # An answer already waiting counts as in time, even if the grader comes to read it late.
            ready, _, _ = select.select([fd], [], [], min(max(left, 0.0), 1.0))
            if ready:
                return
            if left <= 0:
                raise TimeoutError

    def _raise_crash(self):
        code = None
        if self.process is not None:
            try:
                code = self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._kill()
        self.close()
        how = describe_exit(code)
        raise StudentFailure(f"While the grader ran {self._pending}, your process {how}." + self._log_tail(),
                             kind="crash")

    def _log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(max(0, os.path.getsize(self.log_path) - 4000))
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return ("\nLast lines your code printed:\n" + "\n".join(tail)) if tail else ""


def describe_exit(code: int | None) -> str:
    if code is None:
        return "stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = {"SIGKILL": " (often: it used more memory than allowed)", "SIGXCPU": " (it used too much CPU time)",
                "SIGXFSZ": " (it wrote a file larger than allowed)", "SIGSEGV": " (a crash inside a library)"}
        return f"was killed by {name}{hint.get(name, '')}"
    return f"exited with code {code} (did your code call exit() or os._exit()?)"
