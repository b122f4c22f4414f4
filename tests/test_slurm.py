"""Batch grading through a real SLURM: a one-node cluster on this machine (.ci/slurm-up.sh: munged,
slurmctld and slurmd on 127.0.0.1), Dask workers started as SLURM jobs by dask-jobqueue
(``batch --cluster slurm``). Needs root and Debian's slurm-wlm and munge (.ci/run installs them)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cluster_support import KIT
from batch_support import REFERENCE, STENCIL, copy_submission as _copy, rows as _rows

SCRIPT = KIT / ".ci" / "slurm-up.sh"
# The batch, cluster and SLURM tests grade students of the same names, and the cluster tests find (and
# kill) grader processes by student name: one worker runs them one after the other (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("processes")


@pytest.fixture
def slurm(tmp_path):
    if os.geteuid() != 0 or not shutil.which("slurmctld") or not shutil.which("munged"):
        pytest.skip("needs root and Debian's slurm-wlm and munge (.ci/run installs them)")
    pytest.importorskip("dask_jobqueue")
    # slurmd's sockets live in the spool below this folder and a Unix socket path holds at most 108
    # bytes: a short folder of its own, not pytest's (longer under pytest-xdist: .../popen-gw0/...).
    folder = Path(tempfile.mkdtemp(prefix="aekit-slurm-", dir="/tmp"))
    up = subprocess.run(["bash", str(SCRIPT), "start", str(folder)], capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield folder / "slurm.conf"
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_a_batch_graded_by_workers_that_slurm_started(slurm, tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    _copy(REFERENCE, subs / "alice")
    _copy(STENCIL, subs / "bob")
    shutil.make_archive(str(subs / "frank"), "zip", REFERENCE)
    out = tmp_path / "out"
    env = dict(os.environ, SLURM_CONF=str(slurm),
               # everything on 127.0.0.1: the scheduler the client starts and the workers in the jobs
               DASK_JOBQUEUE__SLURM__SCHEDULER_OPTIONS='{"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"}',
               DASK_JOBQUEUE__SLURM__WORKER_EXTRA_ARGS='["--host", "127.0.0.1", "--no-dashboard"]')
    run = subprocess.run([sys.executable, "-m", "autograder", "batch", "hw4", str(subs), "--cluster", "slurm",
                          "--workers", "2", "--memory-per-grading", "2048", "--walltime", "00:20:00",
                          "--csv", str(out / "grades.csv"), "--out-dir", str(out / "results"), "--only",
                          "reparametrize", "--timeout", "30", "--limit", "60", "--quiet"],
                         cwd=KIT, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    rows = _rows(out / "grades.csv")
    assert {s: float(r["score"]) for s, r in rows.items()} == {"alice": 10.0, "bob": 0.0, "frank": 10.0}
    # The workers ran as SLURM jobs: their job logs, and slurmctld's record of the allocations.
    logs = list((out / "results" / ".slurm-logs").glob("*.err")) + list((out / "results" / ".slurm-logs").glob("*.out"))
    assert any("Registered to" in p.read_text(errors="replace") for p in logs), [p.name for p in logs]
    controller = (slurm.parent / "slurmctld.log").read_text(errors="replace")
    assert "Allocate JobId=" in controller
    # The client cancelled its jobs at the end. A cancelled job shows as completing (CG) while slurmd
    # ends its processes, so the queue is read until it is empty; a job left running would stay in it
    # for its 20-minute walltime.
    deadline = time.monotonic() + 60
    while True:
        queue = subprocess.run(["squeue", "--noheader"], env=env, capture_output=True, text=True).stdout.strip()
        if not queue or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert queue == ""
