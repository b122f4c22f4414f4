"""Run a command inside a memory limit the way a grading container is limited: a v1 memory cgroup
of its own (``/sys/fs/cgroup/memory``), which charges every process the command starts and ends
the largest of them when the limit is reached (there is no swap to spill into)."""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.pipeline import accounts

MEMORY_V1 = Path("/sys/fs/cgroup/memory")


def available() -> bool:
    """Whether this machine lets the tests make memory cgroups (root, v1 memory controller)."""
    return os.geteuid() == 0 and (MEMORY_V1 / "memory.limit_in_bytes").is_file() and os.access(MEMORY_V1, os.W_OK)


@dataclass
class Limited:
    completed: subprocess.CompletedProcess
    limit_mb: float
    peak_mb: float        # the cgroup's highest charge (anonymous memory plus page cache)
    oom_kills: int        # processes the kernel ended for memory inside the cgroup
    hit_limit: int        # times the charge reached the limit (then page cache was reclaimed)


def run(command: list[str], limit_mb: int, **popen) -> Limited:
    """Run ``command`` (``subprocess.run`` keywords in ``popen``) with ``limit_mb`` of memory for
    it and everything it starts."""
    group = MEMORY_V1 / f"aekit-box-{os.getpid()}-{time.monotonic_ns()}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(limit_mb << 20))
        swap = group / "memory.memsw.limit_in_bytes"
        if swap.exists():   # no swap either (must follow the memory limit)
            swap.write_text(str(limit_mb << 20))
        procs = str(group / "cgroup.procs")
        wrapped = ["sh", "-c", f'echo $$ > "{procs}" && exec "$@"', "limited", *command]
        completed = subprocess.run(wrapped, **popen)
        stats = _read(group)
        return Limited(completed, limit_mb, int((group / "memory.max_usage_in_bytes").read_text()) / 2**20,
                       stats.get("oom_kill", 0), int((group / "memory.failcnt").read_text()))
    finally:
        _remove(group)


def _read(group: Path) -> dict:
    counts = {}
    for line in (group / "memory.oom_control").read_text().splitlines():
        key, _, value = line.partition(" ")
        counts[key] = int(value) if value.strip().isdigit() else 0
    return counts


def _remove(group: Path) -> None:
    """Remove the cgroup once its processes are gone (killing any the command left behind)."""
    accounts.kill_all(lambda: [int(p) for p in (group / "cgroup.procs").read_text().split()], seconds=5.0)
    try:
        group.rmdir()
    except OSError:
        pass
