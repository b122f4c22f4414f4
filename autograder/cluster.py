"""Batch grading on a Dask cluster: ``python -m autograder batch HW DIR --scheduler ADDRESS`` (a running
Dask scheduler) or ``--cluster slurm`` (workers started as SLURM jobs by dask-jobqueue).

The batch is the local one (:func:`autograder.batch.batch`: skipping students already graded,
``--force``, ``grades.csv``, the summary); only where each grading runs changes:

- the client reads each submission's bytes and sends them with the grading task;
- a worker writes them into a scratch folder of its own and runs the same per-student grader
  process as the local batch (:func:`autograder.batch.grade_one`: isolation, limits and ``--only``
  unchanged), then returns every file of the student's output folder, whatever the grader wrote;
- the client writes that folder under ``--out-dir`` as soon as the student is done, so a client
  that is stopped loses nothing and a second run skips the students already graded.

Before a worker takes work it compares its kit (a fingerprint of the grader's code) and the
homework's data files (their checksums) with the client's; a worker that differs refuses, says why,
and is never given a grading. A worker that agrees offers one grading slot per thread and its memory
limit; each grading asks for one slot and ``--memory-per-grading`` MB, so a worker never runs more
gradings than it has cores or memory for.

The client keeps only as many gradings in flight as the agreeing workers have slots, and sends the
next one as soon as one is done, so no grading waits in a worker's queue.

A worker that dies mid-grading (killed, out of memory, its machine gone) has that grading run again
elsewhere by the scheduler; after ``distributed.scheduler.allowed-failures`` deaths (Dask's default: 3)
the scheduler gives up on the task, and the student gets a grading failure that says so. (The
scheduler counts a death against every task assigned to the worker, which is why none waits there.)

The cluster's processes run with the kit's Dask settings (``autograder/dask.yaml``): Dask's own
upkeep, its statistical profiler above all, would otherwise take CPU from the gradings.
"""
from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import time
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

from . import batch as local
from .homeworks import KIT_ROOT, load_spec
from .pipeline import accounts, scratch

SCRATCH = "aekit-grading-"        # prefix of a worker's scratch folder for one grading
REFUSALS = "aekit-refusals"       # event topic through which workers tell the client why they refuse
MEMORY = "aekit-memory-mb"        # resource: MB a worker offers to gradings
OPTIONS = ("timeout", "seed", "only", "limit", "device")
GPU = "GPU"                        # resource: CUDA devices a worker offers (gradings with --device cuda ask for one)
DASK_SETTINGS = Path(__file__).with_name("dask.yaml")  # the kit's settings for a grading cluster's processes
WORKER_MB = 512  # a SLURM job's memory beyond its grading: the Dask worker itself (measured: ~330 MB
                 # after it has loaded hw4's tests for a failed grading, less before)


class ClusterError(RuntimeError):
    """The cluster cannot grade this batch; the message says why and what to do."""


class KitMismatch(RuntimeError):
    """A worker's kit or data differs from the client's."""


# ---------------------------------------------------------------- the cluster's own upkeep
def dask_settings() -> dict:
    """The kit's Dask settings for a grading cluster (``autograder/dask.yaml``: Dask's upkeep takes
    CPU from the gradings, so what a grading does not need is off), as {dotted key: value}."""
    from dask.config import collect_yaml

    def flat(tree: dict, prefix: str = "") -> dict:
        found = {}
        for key, value in tree.items():
            found.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
        return found

    return flat(next(collect_yaml([str(DASK_SETTINGS)])))


def dask_environment() -> dict:
    """The same settings as the environment variables Dask reads (``DASK_DISTRIBUTED__...``), for
    the worker processes the batch starts itself; they leave a site's other settings alone."""
    return {"DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split(".")): str(value)
            for key, value in dask_settings().items()}


# ---------------------------------------------------------------- what a worker must agree on
def _kit_files():
    for top in ("autograder", "data"):
        for path in sorted((KIT_ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json", ".pt"):
                yield path


@lru_cache(maxsize=1)
def kit_fingerprint() -> str:
    """SHA-256 over the grader's code, tests, weights and the data checksums it knows."""
    digest = hashlib.sha256()
    for path in _kit_files():
        digest.update(str(path.relative_to(KIT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _remote_files(module) -> list:
    from data.store import RemoteFile

    found = []
    for value in vars(module).values():
        items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else [value]
        found += [item for item in items if isinstance(item, RemoteFile)]
    return sorted(set(found), key=lambda f: (f.dataset, f.name))


@lru_cache(maxsize=None)
def data_checksums(homework: str) -> tuple:
    """(file, MD5) of each data file the homework reads, as found on this machine (verified by
    the kit's data store), or (file, "missing or corrupt")."""
    from data.store import DataError, fetch, md5sum

    sums = []
    for dataset in load_spec(homework).datasets:
        for remote in _remote_files(importlib.import_module(f"data.{dataset}")):
            try:
                sums.append((f"{remote.dataset}/{remote.name}", md5sum(fetch(remote, download=False))))
            except DataError:
                sums.append((f"{remote.dataset}/{remote.name}", "missing or corrupt"))
    return tuple(sums)


def stamp(homework: str) -> dict:
    """What a worker must share with the client to grade ``homework``."""
    return {"kit": kit_fingerprint(), "data": dict(data_checksums(homework))}


def differences(expected: dict, actual: dict) -> list[str]:
    """Readable differences between the client's stamp and a worker's."""
    problems = []
    if expected["kit"] != actual["kit"]:
        problems.append(f"its kit differs from the client's (code fingerprint {actual['kit'][:12]}, "
                        f"the client's {expected['kit'][:12]}): install the same version of the kit")
    for name, md5 in expected["data"].items():
        theirs = actual["data"].get(name, "missing or corrupt")
        if theirs != md5:
            problems.append(f"data file {name}: {theirs} (the client's MD5 {md5}); copy the course's "
                            f"data beside the kit or set AEKIT_DATA")
    return problems


def slot_name(expected: dict) -> str:
    """The resource a worker offers once it has agreed with this stamp (one per thread)."""
    return "aekit-grading-" + hashlib.sha256(json.dumps(expected, sort_keys=True).encode()).hexdigest()[:12]


def _worker_memory_mb(worker) -> int:
    limit = getattr(getattr(worker, "memory_manager", None), "memory_limit", None)
    if not limit:
        import psutil

        limit = psutil.virtual_memory().total
    return int(limit // 10**6)  # MB, as Dask counts a worker's --memory-limit


def _worker_gpus() -> int:
    """CUDA devices this worker's gradings may use (0 on a machine without one). The worker itself
    never imports torch: its gradings run in processes of their own."""
    from .pipeline.devices import cuda_device_count

    return cuda_device_count()


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the batch on one machine needs no Dask
    WorkerPlugin = object


class KitCheck(WorkerPlugin):
    """Runs on every worker, present and future: offers grading slots only when the worker's kit
    and data agree with the client's; otherwise refuses, in the worker's log and to the client."""

    def __init__(self, homework: str, expected: dict):
        self.homework, self.expected, self.slot = homework, expected, slot_name(expected)

    async def setup(self, worker):
        await asyncio.get_running_loop().run_in_executor(None, scratch.sweep)  # a killed predecessor's leftovers
        actual = await asyncio.get_running_loop().run_in_executor(None, stamp, self.homework)
        problems = differences(self.expected, actual)
        if problems:
            message = f"worker {worker.address} refuses to grade {self.homework}: " + "; ".join(problems)
            logging.getLogger("autograder").error(message)
            worker.log_event(REFUSALS, {"worker": worker.address, "message": message})
            raise KitMismatch(message)
        await worker.set_resources(**{self.slot: worker.state.nthreads, MEMORY: _worker_memory_mb(worker),
                                      GPU: _worker_gpus()})


# ---------------------------------------------------------------- moving a student's files
def read_submission(path: Path):
    """A submission as bytes (a zip) or {relative path: bytes} (a folder's files, as fingerprinted)."""
    if path.is_file():
        return path.read_bytes()
    return {str(p.relative_to(path)): p.read_bytes()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.is_symlink()}


def write_files(folder: Path, files) -> None:
    """Write ``files`` ({relative path: bytes}) under ``folder``, refusing paths that leave it."""
    root = folder.resolve()
    for name, data in files.items():
        target = (root / name).resolve()
        if root not in target.parents:
            raise ValueError(f"refusing to write {name!r} outside {folder}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def read_tree(folder: Path) -> dict:
    """Every file under ``folder`` as {relative path: bytes}, sub-folders included."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def replace_folder(folder: Path, files: dict) -> None:
    """Make ``folder`` hold exactly ``files``: written beside it, then swapped in."""
    incoming, old = folder.with_name(f".{folder.name}.incoming"), folder.with_name(f".{folder.name}.old")
    for stale in (incoming, old):
        shutil.rmtree(stale, ignore_errors=True)
    incoming.mkdir(parents=True)
    try:
        write_files(incoming, files)
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    if folder.exists():
        os.replace(folder, old)
    os.replace(incoming, folder)
    shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the task a worker runs
def grade_remote(homework: str, student: str, name: str, payload, print_: str, options: dict,
                 expected: dict) -> dict:
    """On a worker: grade one student's submission in a scratch folder; return its output folder."""
    problems = differences(expected, stamp(homework))
    if problems:
        raise KitMismatch(f"this worker refuses to grade {homework}: " + "; ".join(problems))
    args = SimpleNamespace(**options)
    folder, held = scratch.make(SCRATCH)   # (the grading's own grade() sweeps what killed ones left)
    try:
        submission = folder / "submission" / name
        submission.parent.mkdir()
        if isinstance(payload, bytes):
            submission.write_bytes(payload)
        else:
            submission.mkdir()
            write_files(submission, payload)
        out_dir = folder / "results"
        out_dir.mkdir()
        accounts.lock_and_reap([folder])
        # The tests are loaded (torch and all: seconds, ~300 MB) only if a failure needs their names.
        tests = lambda: local.selected_tests(homework, args)  # noqa: E731
        meta = local.grade_one(homework, local.Entry(student, submission), out_dir, args, tests, print_)
        return {"files": read_tree(out_dir / student), "meta": meta}
    finally:
        scratch.remove(folder, held)


# ---------------------------------------------------------------- the client
def _workers(client, slot: str, need_mb: float, gpu: bool = False) -> tuple[set, int, int]:
    """(addresses of the connected workers, how many agreed with the kit, how many gradings those
    can run at once: one per thread, as memory for ``need_mb`` each allows, and with ``gpu`` one
    per CUDA device)."""
    workers = client.scheduler_info(n_workers=-1)["workers"]
    agreed = [w["resources"] for w in workers.values() if w.get("resources", {}).get(slot)]
    return set(workers), len(agreed), sum(min(int(r[slot]), int(r.get(MEMORY, 0) // need_mb),
                                              int(r.get(GPU, 0)) if gpu else int(r[slot])) for r in agreed)


def _place_waiting(slot: str, dask_scheduler=None) -> int:
    """On the scheduler: give waiting gradings to workers that offered grading slots after the
    gradings were submitted (Dask re-examines waiting tasks when a worker joins, not when a worker
    adds resources, as a worker does once it has checked its kit). Returns how many were placed."""
    recommendations = {}
    for worker in dask_scheduler.workers.values():
        if worker.resources.get(slot):
            recommendations.update(dask_scheduler.bulk_schedule_unrunnable_after_adding_worker(worker))
    if recommendations:
        dask_scheduler.transitions(recommendations, stimulus_id=f"aekit-kit-checked-{time.time()}")
    return len(recommendations)


def grade_on_cluster(client, homework: str, todo, out_dir: Path, args, tests):
    """Send each grading of ``todo`` to the cluster of ``client``; yield (entry, meta) as each
    student's folder is written (meta is an exception when the batch could not grade the entry)."""
    from distributed import wait
    from distributed.scheduler import KilledWorker

    # The scheduler loads each task to place it, so it must be able to import the kit (not its data).
    if not client.run_on_scheduler(lambda: importlib.util.find_spec("autograder.cluster") is not None):
        raise ClusterError("the Dask scheduler cannot import the kit's grading task: start it where the kit "
                           "is installed, or with PYTHONPATH naming the kit's folder")
    expected = stamp(homework)
    check = KitCheck(homework, expected)
    refusals: dict[str, str] = {}  # worker address -> why it refused

    def refused(event):
        message = event[1] if isinstance(event, tuple) else event
        worker, text = (message["worker"], message["message"]) if isinstance(message, dict) else ("", str(message))
        if refusals.get(worker) != text:
            refusals[worker] = text
            print(f"warning: {text}", file=sys.stderr)

    client.subscribe_topic(REFUSALS, refused)
    try:  # every worker, and each one that joins later, runs the check before it takes work
        client.register_plugin(check, name=check.slot)
    except KitMismatch as err:
        refused({"worker": str(err).split()[1], "message": str(err)})
    need = float(args.memory_per_grading)
    options = {key: getattr(args, key, None) for key in OPTIONS}
    resources = {check.slot: 1, MEMORY: need}
    gpu = options.get("device") == "cuda"
    if gpu:   # only workers with a GPU take these gradings, one per GPU
        resources[GPU] = 1
    queue, futures = list(todo), {}

    def submit_more(slots: int) -> None:
        # No more gradings in flight than the workers have slots for: the scheduler counts a dead
        # worker against every task assigned to it, so a grading queued behind a worker killer
        # would be failed as a worker killer itself (and every submission's bytes would wait in
        # the scheduler's memory).
        while queue and len(futures) < max(1, slots):
            entry = queue.pop(0)
            print_ = local.fingerprint(entry.path)
            future = client.submit(grade_remote, homework, entry.student, entry.path.name,
                                   read_submission(entry.path), print_, options, expected,
                                   key=f"grade-{homework}-{entry.student}-{print_[:16]}",
                                   resources=resources, pure=False)
            futures[future] = (entry, print_)

    said_waiting, slots, counted = False, _workers(client, check.slot, need, gpu)[2], time.monotonic()
    submit_more(slots)
    while futures:
        try:
            done, _ = wait(list(futures), timeout=5, return_when="FIRST_COMPLETED")
        except TimeoutError:
            connected, agreed, slots = _workers(client, check.slot, need, gpu)
            if slots:
                client.run_on_scheduler(_place_waiting, check.slot)
                submit_more(slots)  # workers may have joined
                continue
            if agreed and gpu:
                raise ClusterError("--device cuda: no worker that agrees with this kit has a CUDA device (or "
                                   "memory for a grading); start workers on GPU machines, or grade with "
                                   "--device cpu or auto")
            if agreed:
                raise ClusterError(f"the workers that agree with this kit offer less memory than a grading "
                                   f"needs ({need:g} MB, --memory-per-grading); give them more memory")
            if refusals and connected and connected <= set(refusals):
                raise ClusterError("no worker accepted the work:\n  " + "\n  ".join(refusals.values()))
            if not said_waiting:
                print("Waiting for cluster workers to join ...", file=sys.stderr)
                said_waiting = True
            continue
        finished = [(future, *futures.pop(future)) for future in done]
        if queue and time.monotonic() - counted > 5:  # workers come and go: count them now and then
            slots, counted = _workers(client, check.slot, need, gpu)[2], time.monotonic()
        submit_more(slots)  # the freed workers start their next gradings while this client writes
        for future, entry, print_ in finished:
            try:
                meta = _collect(future, entry, print_, out_dir, tests, KilledWorker)
            except Exception as err:  # a cancelled task, an unwritable folder: this student only
                meta = err
            future.release()
            yield entry, meta


def _collect(future, entry, print_: str, out_dir: Path, tests, killed_type):
    """Write the student's folder from a finished task; a task that killed its workers every time
    becomes a grading failure for that student."""
    folder = out_dir / entry.student
    if future.status == "finished":
        answer = future.result()
        replace_folder(folder, answer["files"])
        return answer["meta"]
    error = future.exception()
    if isinstance(error, killed_type):
        note = ("the grading stopped the cluster worker that ran it every time it was tried "
                f"({error}); it was not tried again")
        replace_folder(folder, {"grader.log": (note + "\n").encode()})
        return local.finish_folder(folder, entry, print_, tests, "grader-error", note, 0.0)
    return error if isinstance(error, BaseException) else RuntimeError(str(error))


def connect(args):
    """A Dask client for ``--scheduler`` (an address or a scheduler file) or ``--cluster slurm``."""
    import dask
    from distributed import Client

    dask.config.set(dask_settings())  # this process's share: SLURM's scheduler runs in it
    if getattr(args, "cluster", None) == "slurm":
        from dask_jobqueue import SLURMCluster

        # One worker per job, one grading at a time; the rest (account, interface, extra #SBATCH
        # lines) comes from dask-jobqueue's configuration file. Job logs go beside the results.
        logs = dask.config.get("jobqueue.slurm.log-directory", None) or str(Path(args.out_dir) / ".slurm-logs")
        cluster = SLURMCluster(cores=1, processes=1, memory=f"{args.memory_per_grading + WORKER_MB}MB",
                               python=sys.executable, queue=args.queue, walltime=args.walltime,
                               job_name=f"aekit-{args.homework}", log_directory=logs,
                               job_script_prologue=[f"export PYTHONPATH={KIT_ROOT}"]
                               + [f"export {name}={value}" for name, value in dask_environment().items()])
        cluster.scale(jobs=max(1, args.workers))
        return Client(cluster), cluster
    address = args.scheduler
    if Path(address).is_file():
        return Client(scheduler_file=address, timeout=30), None
    return Client(address, timeout=30), None


def main(args) -> int:
    try:
        client, cluster = connect(args)
    except ImportError as err:
        print(f"error: batch grading on a cluster needs dask and distributed (pip install -r requirements.txt): "
              f"{err}", file=sys.stderr)
        return 2
    except (OSError, TimeoutError) as err:
        where = args.scheduler or "the SLURM cluster's scheduler"
        print(f"error: cannot reach the Dask scheduler at {where}: {err}", file=sys.stderr)
        return 2
    try:
        try:
            print(f"Dask dashboard: {client.dashboard_link}")
        except (KeyError, TypeError):
            pass  # this scheduler runs no dashboard
        grader = lambda *rest: grade_on_cluster(client, *rest)  # noqa: E731
        local.batch(args.homework, Path(args.submissions), Path(args.out_dir), Path(args.csv), args,
                    grader=grader)
    except ClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the scheduler went away mid-batch
        print(f"error: lost the Dask scheduler ({err}); the students graded so far are kept, and the same "
              "command run again grades the others", file=sys.stderr)
        return 2
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return 0
