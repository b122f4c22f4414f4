"""Batch grading on a real Dask cluster: a scheduler and two workers, each its own process on
127.0.0.1 (tests/cluster_support.py). The gradings run only hw4's reparametrize tests (``--only``),
so each takes seconds.

- the cluster batch gives the same scores, test by test, as the local batch on a mixed set;
- a worker killed mid-grading has that grading run again elsewhere (every student graded, once);
  a submission whose grading kills its worker every time becomes a grading failure of its own;
- a client stopped mid-batch and started again skips the students already graded;
- a worker whose kit differs from the client's refuses the work and says why.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cluster_support import KIT, LocalDask, children, graders
from batch_support import FAST, REFERENCE, STENCIL, copy_submission as _copy, rows as _rows, run_batch

pytest.importorskip("distributed")
# The batch, cluster and SLURM tests grade students of the same names, and the cluster tests find (and
# kill) grader processes by student name: one worker runs them one after the other (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("processes")

def _batch(subs: Path, out: Path, *extra, wait=True):
    return run_batch(subs, "--csv", out / "grades.csv", "--out-dir", out / "results", *FAST, *extra, wait=wait)


def _scores(folder: Path) -> dict:
    """Each student's score and, test by test, score, status and feedback (results.json minus timing)."""
    found = {}
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        data = json.loads((student / "results.json").read_text())
        found[student.name] = (data["score"], [(t["name"], t["score"], t["status"], t["output"]) for t in data["tests"]])
    return found


@pytest.mark.slow
def test_cluster_batch_gives_the_local_batch_scores(first_batch, tmp_path):
    """The class of tests/batch_support.py on two Dask workers against its local batch (graded
    once for this test and tests/test_batch.py, and kept as it was before those tests regrade it)."""
    local, kept = first_batch["first"], first_batch["kept"]
    assert local.returncode == 0, local.stderr[-2000:]
    remote_root = tmp_path / "remote"
    with LocalDask(tmp_path / "dask", workers=2) as dask:
        remote = _batch(kept / "submissions", remote_root, "--scheduler", dask.address)
    assert remote.returncode == 0, remote.stderr[-2000:]
    assert "Dask dashboard: http://127.0.0.1:" in remote.stdout
    expected, got = _scores(kept / "results"), _scores(remote_root / "results")
    assert set(got) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    assert got == expected
    assert got["alice"][0] == 10.0 and got["frank"][0] == 10.0 and got["bob"][0] == 0.0
    local_rows, remote_rows = _rows(kept / "grades.csv"), _rows(remote_root / "grades.csv")
    assert set(remote_rows) == set(local_rows)
    for student, row in remote_rows.items():
        for field in ("score", "max_score", "status", "failed_tests"):
            assert row[field] == local_rows[student][field], (student, field)
    # Every file the per-student grader wrote comes back, whatever it is.
    for student in got:
        names = {p.name for p in (kept / "results" / student).iterdir()}
        assert names == {p.name for p in (remote_root / "results" / student).iterdir()}
        assert {"results.json", "meta.json", "feedback.txt", "grader.log"} <= names
    # The summary is the local batch's, line for line, but for the timing-free parts and the folders.
    local_summary = local.stdout.split("Graded", 1)[1].replace(str(first_batch["root"]), str(remote_root))
    remote_summary = remote.stdout.split("Graded", 1)[1].replace(str(kept / "submissions"),
                                                                 str(remote_root / "submissions"))
    assert remote_summary == local_summary


def _sandboxed(pid: int) -> bool:
    """Whether the grader ``pid`` now runs student code: a child of it has become the sandbox."""
    for child in children(pid):
        try:
            if b"autograder.pipeline.child" in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0"):
                return True
        except OSError:
            pass
    return False


def _kill_workers_of(student: str, times: int, stop: threading.Event, killed: list) -> None:
    """Kill (SIGKILL) the worker process grading ``student`` while its grader runs the student's
    code, ``times`` times at most. Every grader is looked at again until it is caught or ends (it
    also starts short-lived children, which must not make its sandbox go unseen)."""
    caught = set()
    while not stop.is_set() and len([k for k in killed if k[0] == student]) < times:
        for pid, worker in graders(student):
            if pid not in caught and _sandboxed(pid):  # mid-grading
                caught.add(pid)
                try:
                    os.kill(worker, signal.SIGKILL)
                    killed.append((student, worker, pid))
                except ProcessLookupError:
                    pass
        time.sleep(0.05)


@pytest.mark.slow
def test_killed_workers_lose_nothing_and_a_worker_killer_fails_alone(tmp_path, request):
    subs = tmp_path / "submissions"
    subs.mkdir()
    for student in ("alice", "erin", "mallory"):
        _copy(REFERENCE, subs / student)
    _copy(STENCIL, subs / "bob")
    stop, killed = threading.Event(), []
    # allowed_failures=1: a grading survives one worker death; the second time it is a failure.
    scratch = Path(tempfile.mkdtemp(prefix="aekit-workers-tmp-"))   # the workers' temporary folder:
    scratch.chmod(0o755)                                             # others may enter, as /tmp
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    with LocalDask(tmp_path / "dask", workers=2, allowed_failures=1, worker_env={"TMPDIR": str(scratch)}) as dask:
        killers = [threading.Thread(target=_kill_workers_of, args=(s, n, stop, killed), daemon=True)
                   for s, n in (("alice", 1), ("mallory", 99))]
        for killer in killers:
            killer.start()
        run = _batch(subs, tmp_path / "out", "--scheduler", dask.address)
        stop.set()
        # The killed gradings' folders (copies of the students' files: the worker's scratch folder,
        # the grader's unpacked upload, its student processes' folders and logs) are gone once the
        # restarted workers have started: nothing of theirs stays on the workers' disks.
        def left():
            return [p for p in scratch.iterdir() if p.name.startswith(("aekit-grading-", "aekit-sub-", "aekit-run-",
                                                                        "aekit-log-"))]
        deadline = time.monotonic() + 60
        while left() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not left(), list(scratch.iterdir())
    assert run.returncode == 0, run.stderr[-2000:]
    rows = _rows(tmp_path / "out" / "grades.csv")
    seen = (killed, {student: (row["status"], row["note"]) for student, row in rows.items()})  # if it fails
    assert any(k[0] == "alice" for k in killed), ("the test never caught alice mid-grading", seen)
    assert len([k for k in killed if k[0] == "mallory"]) == 2, seen
    assert sorted(rows) == ["alice", "bob", "erin", "mallory"]
    assert float(rows["alice"]["score"]) == 10.0 and rows["alice"]["status"] == "graded"
    assert float(rows["erin"]["score"]) == 10.0 and float(rows["bob"]["score"]) == 0.0
    assert rows["mallory"]["status"] == "grader-error" and float(rows["mallory"]["score"]) == 0.0
    assert "stopped the cluster worker" in rows["mallory"]["note"]
    mallory = json.loads((tmp_path / "out" / "results" / "mallory" / "results.json").read_text())
    assert all("could not be graded automatically" in t["output"] for t in mallory["tests"])
    # The graders of killed workers died with them: none grades on for nobody.
    time.sleep(1.0)
    for _, _, grader in killed:
        assert not Path(f"/proc/{grader}").exists() or b"zombie" in Path(f"/proc/{grader}/status").read_bytes().lower()


@pytest.mark.slow
def test_a_restarted_client_keeps_what_was_graded(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    for i in range(5):
        _copy(REFERENCE if i % 2 == 0 else STENCIL, subs / f"student{i}")
    out = tmp_path / "out"
    with LocalDask(tmp_path / "dask", workers=2) as dask:
        first = _batch(subs, out, "--scheduler", dask.address, wait=False)
        deadline = time.monotonic() + 600
        while not list((out / "results").glob("*/meta.json")):
            assert first.poll() is None and time.monotonic() < deadline, "the first client ended early"
            time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
        first.communicate()
        kept = {p.parent.name for p in (out / "results").glob("*/meta.json")}
        assert 1 <= len(kept) < 5
        second = _batch(subs, out, "--scheduler", dask.address)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"{len(kept)} submission(s) already graded, skipped" in second.stdout
    rows = _rows(out / "grades.csv")
    assert sorted(rows) == [f"student{i}" for i in range(5)]
    assert [float(rows[f"student{i}"]["score"]) for i in range(5)] == [10.0, 0.0, 10.0, 0.0, 10.0]


def test_a_submission_travels_to_a_worker_unchanged(tmp_path):
    """The bytes a worker grades are the submission's: same files, same fingerprint, zip or folder."""
    from autograder.batch import fingerprint
    from autograder.cluster import read_submission, write_files

    folder = tmp_path / "alice"
    _copy(REFERENCE, folder)
    (folder / "extra").mkdir()
    (folder / "extra" / "notes.md").write_text("mine\n")
    copy = tmp_path / "worker" / "alice"
    copy.mkdir(parents=True)
    write_files(copy, read_submission(folder))
    assert fingerprint(copy) == fingerprint(folder)
    zipped = Path(shutil.make_archive(str(tmp_path / "frank"), "zip", REFERENCE))
    assert read_submission(zipped) == zipped.read_bytes()


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/escape.txt", "a/../../escape.txt"])
def test_files_from_a_worker_stay_in_the_students_folder(tmp_path, name):
    from autograder.cluster import replace_folder

    folder = tmp_path / "results" / "alice"
    with pytest.raises(ValueError, match="refusing to write"):
        replace_folder(folder, {"results.json": b"{}", name: b"x"})
    assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/escape.txt").exists()


def test_the_kill_helper_finds_a_grader_and_not_its_childs_copy(tmp_path):
    """Between fork and exec a sandbox child has its grader's command line. The killer must take
    the grader, whichever of the two ``/proc`` lists first (process ids wrap round)."""
    ready = tmp_path / "forked"
    family = subprocess.Popen([sys.executable, "-c", "import os, sys, time\n"
                               "child = os.fork()\n"
                               "if child: open(sys.argv[-1], 'w').write(str(child))\n"
                               "time.sleep(60)\n",
                               "autograder", "grade", "hw4", str(tmp_path / "zed"), str(ready)])
    try:
        deadline = time.monotonic() + 30
        while not ready.is_file() or not ready.read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        copy = int(ready.read_text())
        assert children(family.pid) == [copy]
        assert graders("zed") == [(family.pid, os.getpid())]
    finally:
        for pid in children(family.pid):
            os.kill(pid, signal.SIGKILL)
        family.kill()
        family.wait()


def test_a_workers_differences_are_named():
    from autograder.cluster import differences, stamp

    mine = stamp("hw4")
    theirs = {"kit": "0" * 64, "data": {**mine["data"], "mnist/train-labels-idx1-ubyte.gz": "missing or corrupt"}}
    problems = differences(mine, theirs)
    assert len(problems) == 2 and "its kit differs" in problems[0] and "train-labels" in problems[1]
    assert differences(mine, stamp("hw4")) == []


def test_a_worker_loads_the_tests_only_for_a_grading_that_left_no_results(tmp_path):
    """Workers skip loading the homework's tests (seconds and ~300 MB) unless a grader left no
    results; then the student still gets every test at zero, saying why."""
    from autograder.batch import Entry, finish_folder, selected_tests
    from types import SimpleNamespace

    asked = []

    def tests():
        asked.append(1)
        return selected_tests("hw4", SimpleNamespace(only="reparametrize"))

    folder = tmp_path / "alice"
    folder.mkdir()
    meta = finish_folder(folder, Entry("alice", tmp_path / "alice.zip"), "f" * 64, tests, "grader-timeout",
                         "grading took longer than 60 s and was stopped", 60.0)
    results = json.loads((folder / "results.json").read_text())
    assert asked == [1] and meta["status"] == "grader-timeout" and results["score"] == 0
    assert len(results["tests"]) == 2 and all("longer than 60 s" in t["output"] for t in results["tests"])


@pytest.mark.slow
def test_a_worker_with_another_kit_refuses_the_work(tmp_path):
    """A worker running a changed copy of the kit (and without the course's data beside it) takes
    no grading; the client names it, says why, and stops with an error instead of waiting forever."""
    other = tmp_path / "elsewhere" / "kit"
    for part in ("autograder", "data"):
        shutil.copytree(KIT / part, other / part, ignore=shutil.ignore_patterns("__pycache__", "cache"))
    (other / "autograder" / "batch.py").write_text((other / "autograder" / "batch.py").read_text() + "\n# edited\n")
    subs = tmp_path / "submissions"
    subs.mkdir()
    _copy(STENCIL, subs / "bob")
    with LocalDask(tmp_path / "dask", workers=0) as dask:
        dask.add_worker("stale", kit=other, env={"AEKIT_DATA": str(tmp_path / "nothing"), "AEKIT_OFFLINE": "1",
                                                 "AEKIT_CACHE": str(tmp_path / "nothing")})
        dask.wait_for_workers(1)
        run = _batch(subs, tmp_path / "out", "--scheduler", dask.address)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "refuses to grade hw4" in run.stderr and "its kit differs from the client's" in run.stderr
    assert "data file mnist/train-images-idx3-ubyte.gz: missing or corrupt" in run.stderr
    assert "no worker accepted the work" in run.stderr
    assert not (tmp_path / "out" / "results" / "bob" / "results.json").exists()


def test_cuda_gradings_wait_for_no_worker_without_a_gpu(tmp_path):
    """``--device cuda`` on a cluster whose workers have no CUDA device: each grading asks for a
    GPU resource, no worker offers one, and the client says so instead of waiting forever."""
    subs = tmp_path / "submissions"
    subs.mkdir()
    _copy(STENCIL, subs / "bob")
    with LocalDask(tmp_path / "dask", workers=1) as dask:
        dask.wait_for_workers(1)
        run = _batch(subs, tmp_path / "out", "--scheduler", dask.address, "--device", "cuda")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--device cuda: no worker that agrees with this kit has a CUDA device" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out" / "results" / "bob" / "results.json").exists()
