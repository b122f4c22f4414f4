"""Shared pytest configuration for the kit's tests."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "notebook: executes a homework notebook end to end (slow; deselect with -m 'not notebook')"
    )


# --------------------------------------------------------------------------- the Gradescope bundle
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

KIT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def gradescope_root():
    """A temporary ``/autograder`` with hw4's bundle unpacked and set up; call the returned
    function with a submission folder to run ``run_autograder`` on it and get results.json."""
    from autograder.gradescope import build

    base = Path(tempfile.mkdtemp(prefix="aekit-gs-", dir="/tmp"))
    os.chmod(base, 0o755)   # like /: the sandbox's own user must reach the data below it
    root = base / "autograder"
    (root / "source").mkdir(parents=True)
    bundle = build("hw4", base / "hw4_gradescope.zip")
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    for script in ("setup.sh", "run_autograder"):
        os.chmod(root / "source" / script, 0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AEKIT_SKIP_INSTALL="1", AEKIT_PYTHON=sys.executable)
    from data import store

    if store.data_root():
        env["AEKIT_DATA"] = store.data_root()
    env.pop("AEKIT_CACHE", None)
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source", env=env,
                           capture_output=True, text=True, timeout=600)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    # Gradescope copies run_autograder to /autograder and runs it from there.
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")

    def run(submission: Path) -> dict:
        target = root / "submission"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(submission, target, ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
        done = subprocess.run(["bash", str(root / "run_autograder")], cwd=root, env=env,
                              capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((root / "results" / "results.json").read_text())

    run.root = root
    yield run
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def hw4_bundle_reference(gradescope_root):
    """hw4's reference solution graded once through the Gradescope bundle: (results, root)."""
    return gradescope_root(KIT / "solutions" / "hw4"), gradescope_root.root
