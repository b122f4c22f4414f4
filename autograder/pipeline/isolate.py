"""Run student code in a separate, limited process and ask it questions.

A :class:`Sandbox` starts ``python -m autograder.pipeline.child`` in a private temporary folder
of its own that holds only a copy of the submission (``work/``) and a copy of the kit's public
support code (``kit/``: the pipeline's child side, the homework's agent and spec, the data
loaders), with:

- when the grader runs as root: a user id of its own (see :mod:`.accounts`), so the reference
  solutions, hidden tests, the grader's weights and other submissions are unreadable to it, and
  every process of that user is killed when the sandbox closes;
- a fresh network namespace (no network at all) where the platform allows one; where it does
  not, :attr:`Sandbox.isolation` says so and the grader's feedback repeats it;
- a scrubbed environment (no variables of the grader's leak in) and ``HOME`` set to ``work/``;
- its own process group, so a timeout kills every process the student started;
- resource limits on address space, resident memory (watched by the grader), CPU time, file
  size, open files and (as its own user) the number of processes;
- standard input closed and standard output/error captured to a capped log the grader only shows
  as feedback;
- two private pipes for requests and answers (see :mod:`.wire`).

With two jobs on the CPU the ``grade`` verb hands its sandboxes a fork server
(:mod:`.forkserver`): the process is then a copy of one that has loaded torch already, set up
with exactly the same limits, user, namespace, descriptors, environment and folder before any of
the submission's code runs; only the 1.4 s of loading torch is skipped.

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
import time
from dataclasses import dataclass
from pathlib import Path

from . import accounts, scratch, wire

KIT_ROOT = Path(__file__).resolve().parents[2]
LOG_LIMIT = 8 << 20  # bytes of student output kept on disk (RLIMIT_FSIZE also caps it)


class _DiskLow(Exception):
    """Free disk space fell under the floor while student code ran."""


class StudentFailure(Exception):
    """Student code failed while answering a request; ``feedback`` is for the student."""

    def __init__(self, feedback: str, kind: str = "error"):
        super().__init__(feedback)
        self.feedback = feedback
        self.kind = kind  # "error", "timeout", "memory", "disk", "crash" or "garbled"


@dataclass
class Limits:
    """Resource limits of one sandboxed process."""

    memory_mb: int = 4096       # address space; torch alone reserves ~1.5 GB of it
    resident_mb: int = 1024     # resident memory of all the student's processes together
    cpu_seconds: int = 7200     # CPU time, a backstop behind the wall-clock timeouts
    file_mb: int = 64           # largest file the process may write (its log included)
    open_files: int = 256
    processes: int = 64         # processes and threads of the student's own user (root only)
    disk_floor_mb: int = 1024   # stop the student's code when free disk space falls below this
    threads: int = 1            # torch threads: one per process keeps trainings deterministic
    isolate: bool = True        # own user (as root) and no network; False only for benchmarks
    device: str = "cpu"         # "cuda": the student's process sees the GPU (see pipeline/devices.py)
    # Modules the process imports in a thread of its own as soon as it starts (a homework's
    # ``check_preload``: hw4's checks preload torch._dynamo, which torch loads with the first optimizer).
    preload: tuple = ()


def _prepare_child(limits: Limits, uid: int | None, network_flags: int):
    """What the forked child does before it becomes Python: limits, namespace, user."""
    def apply():
        import resource

        mb = 1 << 20
        values = [("RLIMIT_CPU", limits.cpu_seconds), ("RLIMIT_FSIZE", limits.file_mb * mb),
                  ("RLIMIT_NOFILE", limits.open_files), ("RLIMIT_CORE", 0)]
        if limits.device != "cuda":  # CUDA maps far more address space than it uses; resident memory is still watched
            values.append(("RLIMIT_AS", limits.memory_mb * mb))
        if uid is not None:  # counted per user, so only meaningful for a user of its own
            values.append(("RLIMIT_NPROC", limits.processes))
        for name, value in values:
            try:
                resource.setrlimit(getattr(resource, name), (value, value))
            except (ValueError, OSError):
                pass
        if network_flags:
            accounts.unshare(network_flags)
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        accounts.die_with_parent()  # after setuid, which clears it
    return apply


def child_environment(workdir: Path, threads: int, device: str = "cpu") -> dict:
    """The only variables the student's process sees. On the CPU (``device`` "cpu") no GPU is
    visible to it; with "cuda" the GPU is, and ``AEKIT_DEVICE`` tells the agent to use it."""
    from data import store

    data_root = store.data_root()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "PYTHONPATH": str(workdir),
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OMP_WAIT_POLICY": "PASSIVE",   # idle threads sleep: a harvest's threads never spin against a training
        "AEKIT_THREADS": str(threads),
        "AEKIT_OFFLINE": "1",
        "AEKIT_PROGRESS": "0",
        "LANG": "C.UTF-8",
        "TORCHINDUCTOR_DETERMINISTIC": "1",   # torch.compile's part of deterministic mode (child.py)
    }
    if device == "cuda":
        env["AEKIT_DEVICE"] = "cuda"
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""
    env["AEKIT_CACHE"] = str(store.cache_dir().resolve())
    if data_root:
        env["AEKIT_DATA"] = data_root
    return env


class Sandbox:
    """One student process, started lazily and restarted after a crash."""

    def __init__(self, workdir: Path, agent: str, limits: Limits | None = None, label: str = "sandbox",
                 launcher=None):
        self.workdir = Path(workdir)       # the grader's copy of the submission (never written)
        self.agent = agent
        self.limits = limits or Limits()
        self.label = label
        self.launcher = launcher           # a fork server (forkserver.py) that starts it faster, or None
        self.process: subprocess.Popen | None = None
        self._log_dir, self._log_held = scratch.make("aekit-log-")
        self.log_path = self._log_dir / f"{label}.log"
        self._pending: str | None = None
        self._deadline = 0.0
        self._runtime: Path | None = None
        self._runtime_held: int | None = None
        self._slot: accounts.UserSlot | None = None
        self.isolation: dict = {}
        # torch threads for the requests from now on (None: ``limits.threads``). The training pool
        # raises it once a model has trained (see training.py: a trained model's answers).
        self.threads: int | None = None

    # -- life cycle -----------------------------------------------------------------------
    def _make_runtime(self) -> Path:
        """A fresh private folder: ``work/`` (the submission) and ``kit/`` (public support code)."""
        import shutil

        from autograder.homeworks import public_files

        runtime, self._runtime_held = scratch.make("aekit-run-")
        shutil.copytree(self.workdir, runtime / "work", symlinks=True)
        for relative in public_files(self.agent):
            target = runtime / "kit" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(KIT_ROOT / relative, target)
        return runtime

    @property
    def cwd(self) -> Path:
        """Where the student's process runs (``HOME`` and ``TMPDIR`` too)."""
        return self._runtime / "work" if self._runtime else self.workdir

    def start(self) -> None:
        isolate = self.limits.isolate
        if self._runtime is not None:   # a start that failed before its process ran
            scratch.remove(self._runtime, self._runtime_held)
        self._runtime = self._make_runtime()
        uid = None
        if isolate and accounts.is_root() and not accounts.python_blocker():
            self._slot = accounts.UserSlot()
            uid = self._slot.uid
            accounts.give(self._runtime, uid)
        flags = accounts.network_flags() if isolate else 0
        self.isolation = {"started": True, "own_user": uid is not None, "no_network": bool(flags)}
        if uid is not None:
            accounts.lock_kit()
        env = child_environment(self.cwd, self.limits.threads, self.limits.device)
        env["PYTHONPATH"] = os.pathsep.join([str(self.cwd), str(self._runtime / "kit")])
        if self.limits.preload:
            env["AEKIT_PRELOAD"] = ",".join(self.limits.preload)
        request_read, request_write = os.pipe()
        answer_read, answer_write = os.pipe()
        wire.widen(request_write, answer_write)
        log = open(self.log_path, "ab")
        try:
            self.process = None
            if self.launcher is not None:   # a copy of a process that has loaded torch already
                self.process = self.launcher.spawn(
                    agent=self.agent, cwd=self.cwd, env=env, fds=(request_read, answer_write),
                    log_fd=log.fileno(), limits=self.limits, uid=uid, network_flags=flags)
            if self.process is None:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "autograder.pipeline.child", self.agent, str(request_read),
                     str(answer_write)],
                    cwd=self.cwd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    pass_fds=(request_read, answer_write), start_new_session=True,
                    preexec_fn=_prepare_child(self.limits, uid, flags))
        finally:
            log.close()
            os.close(request_read)
            os.close(answer_write)
        self._request_fd, self._answer_fd = request_write, answer_read

    def ensure_running(self) -> None:
        """Start the student's process unless it is running (one that has ended is started afresh)."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self.start()

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
        if self._slot is not None:
            self._slot.release()   # kills whatever of the student's is still running
            self._slot = None
        if self._runtime is not None:
            scratch.remove(self._runtime, self._runtime_held)
            self._runtime = self._runtime_held = None

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
        scratch.remove(self._log_dir, self._log_held)
        self._log_held = None

    # -- requests -------------------------------------------------------------------------
    def submit(self, method: str, *args, what: str = "", seed: int = 0, timeout: float = 120.0, **kwargs) -> None:
        """Send a request without waiting; collect it with :meth:`result`."""
        self.ensure_running()
        self._pending = what or method
        self._deadline = time.monotonic() + timeout
        self._timeout = timeout
        try:
            request = {"method": method, "args": args, "kwargs": kwargs, "seed": seed}
            if self.threads is not None:
                request["threads"] = self.threads
            wire.write_frame(self._request_fd, request)
        except OSError:
            self._raise_crash()

    def result(self):
        """Wait for the answer of the last :meth:`submit`; raise :class:`StudentFailure` on failure."""
        what = self._pending
        try:
            answer = self._read_answer()
        except _DiskLow:
            self._kill()
            self.close()
            raise StudentFailure(
                f"While the grader ran {what}, your code filled the grading machine's disk (less than "
                f"{self.limits.disk_floor_mb} MB left), so it was stopped. Do not write large files; "
                "the grader needs none." + self._log_tail(), kind="disk") from None
        except MemoryError:
            self._kill()
            self.close()
            raise StudentFailure(
                f"While the grader ran {what}, your code used {self._memory_used:.0f} MB of memory, more "
                f"than the {self.limits.resident_mb} MB allowed, so it was stopped. Look for data kept "
                "on the side (lists of tensors that still need gradients, whole data sets copied many "
                "times) or a far larger model than the handout asks for." + self._log_tail(),
                kind="memory") from None
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
            text += "\nLast lines of the traceback (your files only):\n" + str(error["traceback"])
        if error.get("hint"):
            text += "\n" + str(error["hint"])
        raise StudentFailure(text)

    def call(self, method: str, *args, what: str = "", seed: int = 0, timeout: float = 120.0, **kwargs):
        self.submit(method, *args, what=what, seed=seed, timeout=timeout, **kwargs)
        return self.result()

    def _read_answer(self):
        return wire.read_frame(self._answer_fd, self._wait_readable)

    def _wait_readable(self, fd: int) -> None:
        """Block until ``fd`` has data; raise TimeoutError once the deadline has passed and
        MemoryError once the student's processes hold more than ``resident_mb``."""
        while True:
            left = self._deadline - time.monotonic()
            # An answer already waiting counts as in time, even if the grader comes to read it late.
            ready, _, _ = select.select([fd], [], [], min(max(left, 0.0), 0.5))
            if ready:
                return
            if left <= 0:
                raise TimeoutError
            if self.process is not None:
                uid = self._slot.uid if self._slot is not None else None
                used = accounts.resident_mb(self.process.pid, uid)
                if used > self.limits.resident_mb:
                    self._memory_used = used
                    raise MemoryError
                if self._runtime is not None and accounts.free_mb(self._runtime) < self.limits.disk_floor_mb:
                    raise _DiskLow

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
