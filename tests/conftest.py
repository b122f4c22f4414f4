"""Shared pytest configuration for the kit's tests.

The suite runs on every core (pytest-xdist, ``-n auto --dist loadgroup`` in pyproject.toml; ``-n 0`` runs
it in one process). Two rules keep that safe and cheap:

- tests that share a module- or session-scoped fixture of these tests (a reference grading, a built
  course, a batch of students) run on one worker, so the fixture is made once (:func:`_share_fixtures`);
- tests that watch the machine's processes or start services of their own (tests/test_batch.py,
  tests/test_cluster.py, tests/test_slurm.py) carry ``xdist_group("processes")``: one worker runs them
  one after the other.

Slow tests are started first, so that the long ones do not run alone at the end.

pytest-xdist 3.8 marks a group by appending ``@group`` to a test's node id, which pytest 9 no longer
lets a plugin change; so each worker writes the groups it collected to a file, and the scheduler
below (xdist's ``loadgroup``) reads them from there.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

import cgroup_support

# One test process per core (pytest-xdist), so every process the tests start (graders, notebook
# kernels, nbgrader) computes on one thread. With torch's default, a thread per core, such a process
# beside a busy worker spends most of its CPU waiting on its own threads: hw2's notebook in QUICK mode,
# with one core taken, took 54 s of CPU against 13 s on one thread. The sandbox sets its own.
for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

KIT = Path(__file__).resolve().parents[1]
DEFAULT_BOX_MB = 768   # Gradescope's default autograder box
TESTS = Path(__file__).resolve().parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "notebook: executes a homework notebook end to end (slow; deselect with -m 'not notebook')"
    )
    config.addinivalue_line("markers", "xdist_group(name): tests that pytest-xdist runs on one worker (--dist loadgroup)")


# --------------------------------------------------------------------------- running on every core
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker per core this process may use (its CPU affinity, which CI runners and
    containers set), at most four: each end-to-end grading starts processes of its own."""
    return max(1, min(4, len(os.sched_getaffinity(0))))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    _share_fixtures(items)
    # Slow tests first, with every test of their group (a stable sort: the order is otherwise kept).
    slow = {_group(item) for item in items if item.get_closest_marker("slow") or item.get_closest_marker("notebook")}
    items.sort(key=lambda item: not (item.get_closest_marker("slow") or item.get_closest_marker("notebook")
                                     or _group(item) in slow - {None}))
    groups_file = getattr(config, "workerinput", {}).get("aekit_groups")
    if groups_file:   # a worker: tell the scheduler which tests go together
        groups = {item.nodeid: _group(item) for item in items if _group(item)}
        handle, part = tempfile.mkstemp(dir=Path(groups_file).parent)
        with os.fdopen(handle, "w") as out:
            json.dump(groups, out)
        os.replace(part, groups_file)


def _group(item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return None if mark is None else str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))


def _shared_fixtures(item) -> list[str]:
    """The module- and session-scoped fixtures of this folder that ``item`` uses (directly or not)."""
    found = []
    for name in item.fixturenames:
        for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
            if fixturedef.scope != "function" and fixturedef.baseid.startswith(TESTS.name):
                found.append(f"{fixturedef.baseid}::{name}")
    return found


def _share_fixtures(items) -> None:
    """Give tests that share a module- or session-scoped fixture (or are linked through a chain of
    them) one ``xdist_group``, so that one worker makes each such fixture once."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared = {}
    for item in items:
        if _group(item):
            continue
        keys = _shared_fixtures(item)
        if keys:
            shared[item] = keys
            for key in keys[1:]:
                parent[root(key)] = root(keys[0])
    for item, keys in shared.items():
        item.add_marker(pytest.mark.xdist_group(root(keys[0])))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """The controller names the file where its workers write the groups."""
    config = node.config
    if not hasattr(config, "_aekit_groups"):
        config._aekit_groups = Path(tempfile.mkdtemp(prefix="aekit-xdist-")) / "groups.json"
    node.workerinput["aekit_groups"] = str(config._aekit_groups)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class GroupsFromWorkers(LoadGroupScheduling):
        """xdist's loadgroup, with each test's group read from what the workers collected."""
        groups = None

        def _split_scope(self, nodeid: str) -> str:
            if "@" in nodeid.rsplit("]", 1)[-1]:   # a group xdist could put in the node id itself
                return super()._split_scope(nodeid)
            if self.groups is None:
                found = getattr(config, "_aekit_groups", None)
                self.groups = json.loads(found.read_text()) if found and found.is_file() else {}
            return self.groups.get(nodeid, nodeid)

    return GroupsFromWorkers(config, log)


def pytest_unconfigure(config):
    if hasattr(config, "_aekit_groups"):
        shutil.rmtree(config._aekit_groups.parent, ignore_errors=True)


# --------------------------------------------------------------------------- the first local batch
@pytest.fixture(scope="session")
def first_batch(tmp_path_factory):
    """tests/batch_support.py's class of six graded once by the local batch: tests/test_batch.py
    checks it (and then regrades it), tests/test_cluster.py compares the Dask batch with it."""
    from batch_support import grade_first_batch

    return grade_first_batch(tmp_path_factory.mktemp("batch"))


# --------------------------------------------------------------------------- the Gradescope bundle
def set_up_bundle(homework: str, base: Path) -> tuple[Path, dict]:
    """``homework``'s bundle unpacked into ``base/autograder/source`` and set up by its own
    ``setup.sh``, as Gradescope builds its image: (the ``/autograder`` root, the environment)."""
    from autograder.gradescope import build
    from data import store

    os.chmod(base, 0o755)   # like /: the sandbox's own user must reach the data below it
    root = base / "autograder"
    (root / "source").mkdir(parents=True)
    bundle = build(homework, base / f"{homework}_gradescope.zip")
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AEKIT_SKIP_INSTALL="1", AEKIT_PYTHON=sys.executable)
    if store.data_root():
        env["AEKIT_DATA"] = store.data_root()
    env.pop("AEKIT_CACHE", None)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    # Gradescope copies run_autograder to /autograder and runs it from there.
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    return root, env


@pytest.fixture(scope="session")
def gradescope_root():
    """A temporary ``/autograder`` with hw4's bundle unpacked and set up; call the returned
    function with a submission folder to run ``run_autograder`` on it and get results.json."""
    base = Path(tempfile.mkdtemp(prefix="aekit-gs-", dir="/tmp"))
    root, env = set_up_bundle("hw4", base)

    def run(submission: Path, box_mb: int | None = None) -> dict:
        """Grade ``submission``; with ``box_mb``, inside a memory cgroup of that size where the
        machine allows one (what happened is kept in ``run.boxes[submission]``)."""
        target = root / "submission"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(submission, target, ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
        command = ["bash", str(root / "run_autograder")]
        options = dict(cwd=root, env=env, capture_output=True, text=True, timeout=1800)
        if box_mb and cgroup_support.available():
            limited = cgroup_support.run(command, box_mb, **options)
            run.boxes[str(submission)] = limited
            done = limited.completed
        else:
            done = subprocess.run(command, **options)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((root / "results" / "results.json").read_text())

    run.root, run.boxes = root, {}
    yield run
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def hw4_bundle_reference(gradescope_root):
    """hw4's reference solution graded once through the Gradescope bundle, inside Gradescope's
    default box (768 MB) where this machine can make one: (results, root)."""
    return gradescope_root(KIT / "solutions" / "hw4", box_mb=DEFAULT_BOX_MB), gradescope_root.root


@pytest.fixture(params=["exec", "fork server"])
def launcher(request):
    """How a test's sandboxes start: a fresh ``python`` (``None``), or copies of a fork server, as
    the ``grade`` verb starts them with two jobs (autograder/pipeline/forkserver.py). Tests of the
    sandbox's promises take this fixture so that both ways keep every one of them."""
    if request.param == "exec":
        return None
    from grading_support import fork_server

    server = fork_server()
    assert server.running, "the fork server did not start"
    return server
