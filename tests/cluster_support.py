"""A real Dask cluster on this machine for the tests and the benchmark: one scheduler and N workers,
each its own process (``dask scheduler`` / ``dask worker`` with a nanny), all on 127.0.0.1, started
as the README says: with the kit on ``PYTHONPATH`` and its Dask settings (``autograder/dask.yaml``)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]


class LocalDask:
    """``with LocalDask(folder, workers=2) as dask: ... dask.scheduler_file ...``

    ``allowed_failures`` is the scheduler's number of worker deaths a task survives;
    ``worker_env`` adds to the workers' environment (``PYTHONPATH`` names the kit by default)."""

    def __init__(self, folder: Path, workers: int = 2, allowed_failures: int = 3, worker_env: dict | None = None,
                 kit: Path = KIT, memory_limit: str = "4GB"):
        self.folder, self.count, self.kit, self.memory_limit = Path(folder), workers, Path(kit), memory_limit
        self.folder.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = self.folder / "scheduler.json"
        # The scheduler loads each grading task to place it, so it imports the kit too.
        self.env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=str(allowed_failures),
                        PYTHONPATH=str(self.kit), DASK_CONFIG=str(self.kit / "autograder" / "dask.yaml"))
        self.worker_env = dict(self.env, **(worker_env or {}))
        self.processes: list[subprocess.Popen] = []

    def _start(self, name: str, command: list[str], env: dict) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.folder)
        self.processes.append(process)
        return process

    def __enter__(self):
        self._start("scheduler", [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", "0", "--dashboard-address", "127.0.0.1:0",
                                  "--scheduler-file", str(self.scheduler_file)], self.env)
        self._wait(lambda: self.scheduler_file.is_file(), "the scheduler to start")
        for i in range(self.count):
            self.add_worker(f"worker{i}")
        self.wait_for_workers(self.count)
        return self

    def add_worker(self, name: str, kit: Path | None = None, env: dict | None = None) -> subprocess.Popen:
        worker_env = dict(self.worker_env, **(env or {}))
        if kit is not None:
            worker_env["PYTHONPATH"] = str(kit)
        return self._start(name, [sys.executable, "-m", "distributed.cli.dask_worker",
                                  "--scheduler-file", str(self.scheduler_file), "--nthreads", "1",
                                  "--host", "127.0.0.1", "--no-dashboard", "--memory-limit", self.memory_limit,
                                  "--name", name], worker_env)

    @property
    def address(self) -> str:
        return json.loads(self.scheduler_file.read_text())["address"]

    def worker_count(self) -> int:
        from distributed import Client

        with Client(scheduler_file=str(self.scheduler_file), timeout=30) as client:
            return len(client.scheduler_info(n_workers=-1)["workers"])

    def wait_for_workers(self, count: int, timeout: float = 120.0) -> None:
        self._wait(lambda: self.worker_count() >= count, f"{count} worker(s) to join", timeout)

    def _wait(self, ready, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in self.folder.glob("*.log"))
                raise RuntimeError(f"timed out waiting for {what}\n{logs}")
            time.sleep(0.5)

    def __exit__(self, *exc):
        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def graders(student: str) -> list[tuple[int, int]]:
    """(pid, parent pid) of every per-student grader process now grading ``student``.

    A grader's sandbox child carries the grader's command line from its fork until its exec, and
    once process ids wrap round (32768 here) it can come before its grader in ``/proc``: only the
    outermost of such a family is a grader."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"autograder" in argv and b"grade" in argv and any(a.endswith(f"/{student}".encode())
                                                               or a.endswith(f"/{student}.zip".encode())
                                                               for a in argv):
            found[int(entry.name)] = parent
    return [(pid, parent) for pid, parent in found.items() if parent not in found and parent > 1]


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a grader's: those running the student's code)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found
