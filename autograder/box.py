"""The machine a grading runs on, as the grading process sees it, and how many trainings it holds.

A container (Gradescope's, a cluster's) often sees more cores and memory in ``os.cpu_count()`` and
``/proc/meminfo`` than it may use: the cgroup it runs in caps them. :func:`read` takes the smallest
of what each source allows:

- cores: the CPU affinity mask (``os.sched_getaffinity``), and the cgroup's CPU quota (v2
  ``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), rounded down, at least 1;
- memory: the cgroup's memory limit (v2 ``memory.max``, v1 ``memory.limit_in_bytes``) and
  ``MemTotal`` in ``/proc/meminfo``.

The cgroup is the process's own, as ``/proc/self/cgroup`` names it (a container usually sees its
own as the root).

:func:`jobs` turns that into ``--jobs`` for ``python -m autograder grade``; ``AEKIT_JOBS`` forces a
value. ``python -m autograder.box`` prints the box and the choice (``--jobs`` prints the number
only, for the Gradescope bundle's ``run_autograder``).
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

# Memory of a grading with N trainings side by side: BASE_MB + N * TRAINING_MB. Calibrated on hw4,
# the heaviest homework (README, benchmarks/grading_footprint.py): 962 MB with --jobs 1 before the grader ended student processes early (604 MB since) and about 1.6 GB with
# --jobs 2, so one more training costs about 640 MB and the rest about 320 MB.
BASE_MB = 320
TRAINING_MB = 640
MOST_JOBS = 2   # the grader trains at most two models at once (grade's --jobs accepts 1 or 2)


@dataclass(frozen=True)
class Box:
    cpus: int          # cores this process may use
    memory_mb: int     # memory this process may use


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _number(text: str | None) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None   # "max", missing, garbled: no limit from this source


def _v1_folders(cgroup: Path, proc: Path, controller: str) -> list[Path]:
    """The folders of a cgroup v1 controller to read: this process's own, as ``/proc/self/cgroup``
    names it, then the hierarchy's root."""
    names = ("cpu", "cpu,cpuacct") if controller == "cpu" else (controller,)
    own = []
    for line in (_read(proc / "self" / "cgroup") or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(",") and parts[2].strip() not in ("", "/"):
            own += [cgroup / name / parts[2].strip().lstrip("/") for name in names]
    return own + [cgroup / name for name in names]


def _cgroup_cpus(cgroup: Path, proc: Path) -> float | None:
    v2 = _read(cgroup / "cpu.max")
    if v2:
        fields = v2.split()
        quota, period = _number(fields[0]), _number(fields[1]) if len(fields) > 1 else 100000
        return quota / period if quota and period else None
    for folder in _v1_folders(cgroup, proc, "cpu"):
        quota, period = _number(_read(folder / "cpu.cfs_quota_us")), _number(_read(folder / "cpu.cfs_period_us"))
        if quota and quota > 0 and period:
            return quota / period
    return None


def _cgroup_memory_mb(cgroup: Path, proc: Path) -> int | None:
    paths = [cgroup / "memory.max"] + [f / "memory.limit_in_bytes" for f in _v1_folders(cgroup, proc, "memory")]
    for path in paths:
        limit = _number(_read(path))
        if limit is not None and limit < 1 << 60:   # v1 writes "no limit" as a huge number
            return limit >> 20
    return None


def _meminfo_mb(proc: Path) -> int | None:
    for line in (_read(proc / "meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):   # in kB
            kb = _number(line.split()[1]) if len(line.split()) > 1 else None
            return kb >> 10 if kb else None
    return None


def _own_cgroup(cgroup: Path, proc: Path) -> Path:
    """This process's cgroup v2 folder: ``/sys/fs/cgroup`` itself inside a container (which sees
    its own cgroup as the root), the folder ``/proc/self/cgroup`` names below it elsewhere."""
    for line in (_read(proc / "self" / "cgroup") or "").splitlines():
        if line.startswith("0::"):
            own = cgroup / line[3:].strip().lstrip("/")
            if own != cgroup and ((own / "cpu.max").exists() or (own / "memory.max").exists()):
                return own
    return cgroup


def read(cgroup: Path = Path("/sys/fs/cgroup"), proc: Path = Path("/proc"), affinity: int | None = None) -> Box:
    """The cores and memory (MB) this process may use (the arguments let tests feed it fake files)."""
    cgroup = _own_cgroup(cgroup, proc)
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_cpus(cgroup, proc)
    cpus = max(1, min(affinity, int(quota)) if quota else affinity)
    limits = [mb for mb in (_cgroup_memory_mb(cgroup, proc), _meminfo_mb(proc)) if mb]
    return Box(cpus=cpus, memory_mb=min(limits) if limits else 0)


def jobs(box: Box, most: int = MOST_JOBS) -> int:
    """Trainings to run side by side on ``box``: one per core, as many as its memory holds, at most
    ``most``, at least 1 (``AEKIT_JOBS`` overrides). Scores do not depend on it, only time does."""
    forced = os.environ.get("AEKIT_JOBS", "").strip()
    if forced:
        value = _number(forced)
        if value is None or value < 1:
            raise ValueError(f"AEKIT_JOBS must be a whole number of at least 1, not {forced!r}")
        return min(value, most)
    fits = (box.memory_mb - BASE_MB) // TRAINING_MB if box.memory_mb else most
    return max(1, min(most, box.cpus, fits))


def memory_needed_mb(trainings: int) -> int:
    """Memory (MB) a grading with ``trainings`` side by side needs (see BASE_MB)."""
    return BASE_MB + trainings * TRAINING_MB


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.box", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", action="store_true", help="print only the number of trainings to run at once")
    parser.add_argument("--most", type=int, default=MOST_JOBS, help="the most trainings at once (default: %(default)s)")
    args = parser.parse_args(argv)
    box = read()
    try:
        chosen = jobs(box, args.most)
    except ValueError as err:
        parser.error(str(err))
    if args.jobs:
        print(chosen)
    else:
        print(f"{box.cpus} core(s), {box.memory_mb} MB of memory: --jobs {chosen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
