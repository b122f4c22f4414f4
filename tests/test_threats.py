"""The threat model, item by item, each tried by a hostile submission of our own.

Student code may (a) report false numbers, (b) write files anywhere it can, (c) print fake
results, (d) read the grader's secrets or other submissions, (e) patch Python or torch in its own
process, (f) exit, hang, exhaust memory or disk, or spawn processes, (g) use the network,
(h) replay training images as generations, (i) smuggle x past the latent bottleneck, and
(j) arrive as a hostile archive. Most cases here run only hw4's unit tests (seconds, no training);
(h) and (i) ask for a "training" the hostile submission skips.

Where the grader runs as root (CI, Gradescope) the sandbox has a user of its own and no network;
the tests check the strongest promise the machine they run on allows.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest
import torch

from grading_support import grade
from autograder.homeworks.hw4 import hidden
from autograder.pipeline import accounts, kept
from autograder.pipeline.isolate import Limits
from grading_support import feedback_text

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw4"
UNITS = hidden.UNIT_TESTS
ROOT = accounts.is_root() and not accounts.python_blocker()


def hostile(tmp_path: Path, name: str, prelude: str = "", patches=()) -> Path:
    """The reference hw4 with ``prelude`` run when vae.py is imported, and text ``patches``."""
    folder = tmp_path / name
    folder.mkdir()
    for source in REFERENCE.glob("*.py"):
        shutil.copy(source, folder / source.name)
    vae = folder / "vae.py"
    text = vae.read_text()
    for old, new in patches:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    vae.write_text(text + "\n\n# --- hostile part ---\n" + prelude)
    return folder


def by_name(results: dict) -> dict:
    return {t["name"]: t for t in results["tests"]}


def unit_score(results: dict) -> float:
    return sum(t["score"] for t in results["tests"])


FULL_UNITS = sum(t.points for t in UNITS)


# (a) false numbers and (e) patching Python/torch inside the student's own process -------------
def test_a_e_false_numbers_and_patched_torch_change_nothing(tmp_path):
    prelude = '''
import builtins, torch, torch.nn.functional as F
torch.allclose = lambda *a, **k: True             # the grader's comparisons live elsewhere
torch.equal = lambda *a, **k: True
F.binary_cross_entropy = lambda *a, **k: torch.tensor(0.0)
builtins.print = lambda *a, **k: None
def bce_function(x_hat, x):
    return torch.tensor(1.0)                        # a made-up number
'''
    results = grade("hw4", hostile(tmp_path, "liar", prelude), tests=UNITS, options={"call_timeout": 60})
    tests = by_name(results)
    assert tests[hidden.loss_function.name]["score"] == 0   # the grader recomputes the loss itself
    assert tests[hidden.reparametrize_statistics.name]["score"] == hidden.reparametrize_statistics.points


# (b) writing files and (c) printing fake results ------------------------------------------------
def test_b_c_forged_files_and_printed_results_are_ignored(tmp_path):
    decoy_dir = tmp_path / "grader-owned"
    decoy_dir.mkdir(mode=0o755)
    decoy = decoy_dir / "grades.csv"
    decoy.write_text("student,score\n")
    decoy.chmod(0o644)
    out = decoy_dir / "results.json"
    forged = json.dumps({"score": 100, "tests": []})
    prelude = f'''
import os, sys
forged = {forged!r}
for target in ({str(out)!r}, {str(decoy)!r}, "results.json", os.path.expanduser("~/results.json")):
    try:
        with open(target, "w") as handle:
            handle.write(forged)
    except OSError:
        pass
print(forged); print("Total 100 / 100"); sys.stdout.flush()
os.write(2, forged.encode())
def one_hot(labels, class_size):
    raise ValueError("deliberately wrong")
'''
    folder = hostile(tmp_path, "forger", prelude)
    (folder / "assignment.py").write_text((folder / "assignment.py").read_text().replace(
        "def one_hot(labels, class_size):", "def one_hot(labels, class_size):\n    raise ValueError('deliberately wrong')\n\ndef _unused(labels, class_size):", 1))
    results = grade("hw4", folder, out, tests=UNITS, options={"call_timeout": 60})
    written = json.loads(out.read_text())
    assert written == results and written["score"] == FULL_UNITS - hidden.one_hot.points
    if ROOT:  # its own user cannot write to the grader's folders at all
        assert decoy.read_text() == "student,score\n"


# (d) reading the grader's secrets and other submissions ------------------------------------------
@pytest.mark.skipif(not ROOT, reason="needs root: the sandbox's own user is what makes secrets unreadable")
def test_d_secrets_and_other_submissions_are_unreadable(tmp_path, launcher):
    other = tmp_path / "other-student"
    other.mkdir()
    (other / "vae.py").write_text("SECRET = 'another student'\n")
    targets = [KIT / "solutions" / "hw4" / "vae.py", KIT / "autograder" / "homeworks" / "hw4" / "hidden.py",
               KIT / "autograder" / "homeworks" / "hw4" / "measure.py",
               KIT / "autograder" / "models" / "mnist_classifier.pt", other / "vae.py", Path("/etc/shadow")]
    grader_data = kept.folder()   # the grader's data kept between gradings (hw2's training set, say)
    assert grader_data is not None
    kept._write(grader_data / "threat-probe.pt", "probe", {"images": torch.zeros(2, 3)})
    targets.append(grader_data / "threat-probe.pt")
    prelude = f'''
leaked, blocked = [], []
for path in {[str(t) for t in targets]!r}:
    try:
        with open(path, "rb") as handle:
            handle.read(16)
        leaked.append(path)
    except OSError:
        blocked.append(path)
raise RuntimeError("LEAKED " + repr(leaked) if leaked else "ALL BLOCKED " + str(len(blocked)))
'''
    try:
        results = grade("hw4", hostile(tmp_path, "snoop", prelude), tests=UNITS[:1], options={"call_timeout": 60},
                        launcher=launcher)
    finally:
        (grader_data / "threat-probe.pt").unlink(missing_ok=True)
    feedback = results["tests"][0]["output"]
    assert f"ALL BLOCKED {len(targets)}" in feedback, feedback
    # What the sandbox may read is a copy of the kit's public code; the grader's files stay usable.
    assert (KIT / "autograder" / "homeworks" / "hw4" / "hidden.py").stat().st_mode & stat.S_IROTH == 0


# (f) exiting, hanging, memory, disk and processes ------------------------------------------------
@pytest.mark.parametrize("attack, kind_text", [
    ("memory", "more than the"),
    ("disk", "File too large"),
])
def test_f_memory_and_disk_exhaustion_fail_only_that_test(tmp_path, attack, kind_text, launcher):
    body = {
        "memory": "    hog = [torch.ones(64 << 20) for _ in range(40)]\n    time.sleep(30)\n",
        "disk": "    with open('/tmp/big.bin', 'wb') as handle:\n        for _ in range(200):\n"
                "            handle.write(b'x' * (1 << 20))\n",
    }[attack]
    Path("/tmp/big.bin").unlink(missing_ok=True)
    prelude = f"import time, torch\ndef bce_function(x_hat, x):\n{body}    return torch.tensor(0.0)\n"
    limits = Limits(resident_mb=800)
    results = grade("hw4", hostile(tmp_path, attack, prelude), tests=UNITS, limits=limits,
                    options={"call_timeout": 60}, launcher=launcher)
    tests = by_name(results)
    assert tests[hidden.loss_function.name]["score"] == 0   # loss_function calls the hostile bce_function
    assert kind_text in tests[hidden.loss_function.name]["output"], tests[hidden.loss_function.name]["output"]
    assert tests[hidden.one_hot.name]["score"] == hidden.one_hot.points   # a fresh process goes on
    if ROOT:  # what the student's user left in shared scratch folders is removed
        assert not Path("/tmp/big.bin").exists()


@pytest.mark.skipif(not ROOT, reason="needs root: RLIMIT_NPROC counts the sandbox's own user")
def test_f_process_swarm_is_capped_and_escaped_processes_are_killed(tmp_path, launcher):
    prelude = '''
import os, time
started = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.setsid()                     # leave the process group, try to outlive the grading
        time.sleep(600)
        os._exit(0)
    started += 1
raise RuntimeError(f"STARTED {started} UID {os.getuid()}")
'''
    results = grade("hw4", hostile(tmp_path, "swarm", prelude), tests=UNITS[:1], options={"call_timeout": 60},
                    launcher=launcher)
    feedback = results["tests"][0]["output"]
    assert "STARTED" in feedback, feedback
    started = int(feedback.split("STARTED ")[1].split()[0])
    uid = int(feedback.split("UID ")[1].split()[0])
    assert accounts.UID_BASE <= uid < accounts.UID_BASE + accounts.UID_COUNT
    assert started < Limits().processes, feedback
    # Every process of that sandbox's user is gone, even those that left the process group.
    assert [pid for pid, owner, _, _ in accounts._processes() if owner == uid] == []


# (g) network ---------------------------------------------------------------------------------------
def test_g_no_network_where_the_platform_allows(tmp_path, launcher):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    prelude = f'''
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    outcome = "CONNECTED"
except OSError as err:
    outcome = "REFUSED " + type(err).__name__
raise RuntimeError(outcome)
'''
    try:
        results = grade("hw4", hostile(tmp_path, "net", prelude), tests=UNITS[:1], options={"call_timeout": 60},
                        launcher=launcher)
    finally:
        listener.close()
    feedback = results["tests"][0]["output"]
    if accounts.network_flags():
        assert "REFUSED" in feedback, feedback
        assert "network" not in results["output"]
    else:  # the platform has no network namespaces: the feedback says so
        assert "could not cut your code off from the network" in results["output"]


# (h) replaying training images, (i) smuggling x past the bottleneck -------------------------------
# The hostile submissions below skip training (train_vae returns at once): the attack is in the model.
SKIP_TRAINING = ("    total_loss = 0.0\n", "    return 100.0 * len(train_loader)\n    total_loss = 0.0\n")


REPLAY = '''
import torch as _torch
from data import mnist as _mnist


class _Replay(_torch.nn.Module):
    """'Generates' by handing back stored training digits of the requested class."""

    def __init__(self, z_size, noise=0.0):
        super().__init__()
        images, labels = _mnist.load("train", keep=False)
        self.images = _torch.from_numpy(images[:20000].copy()).float().div(255).unsqueeze(1)
        self.labels = _torch.from_numpy(labels[:20000].astype("int64"))
        self.z_size, self.noise = z_size, noise

    def forward(self, code):
        z, c = code[:, :self.z_size], code[:, self.z_size:]
        digits = c.argmax(dim=1)
        out = []
        for row, digit in zip(z, digits):
            pool = (self.labels == digit).nonzero().flatten()
            pick = pool[int((row.abs().sum() * 1e4).item()) % len(pool)]
            out.append(self.images[pick])
        out = _torch.stack(out)
        return (out + self.noise * _torch.randn_like(out)).clamp(0, 1)


_original_init = CVAE.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    self.decoder = _Replay(self.latent_size, NOISE)


CVAE.__init__ = _init
'''


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_h_replayed_training_digits_fail_the_novelty_test(tmp_path, noise):
    folder = hostile(tmp_path, f"replay{noise}", f"NOISE = {noise}\n" + REPLAY)
    text = (folder / "assignment.py").read_text()
    assert text.count(SKIP_TRAINING[0]) == 1
    text = text.replace(*SKIP_TRAINING)
    (folder / "assignment.py").write_text(text)
    results = grade("hw4", folder, tests=[hidden.cvae_novelty], options={"call_timeout": 300})
    test = results["tests"][0]
    assert test["score"] == 0 and "copied from the training set" in feedback_text(test), feedback_text(test)


STASH = '''
import torch as _torch


class _Stash(_torch.nn.Module):
    """Keeps the encoder's last input and returns it from the decoder: no bottleneck at all."""

    def __init__(self, inner, keep):
        super().__init__()
        self.inner, self.keep = inner, keep

    def forward(self, x):
        self.keep["x"] = x
        return self.inner(x)


class _Return(_torch.nn.Module):
    def __init__(self, keep):
        super().__init__()
        self.keep = keep

    def forward(self, z):
        return self.keep["x"].view(-1, 1, 28, 28)


_original_init = VAE.__init__


def _init(self, *args, **kwargs):
    _original_init(self, *args, **kwargs)
    keep = {}
    self.encoder = _Stash(self.encoder, keep)
    self.decoder = _Return(keep)


VAE.__init__ = _init
'''


def test_i_a_stash_around_the_bottleneck_is_caught(tmp_path):
    folder = hostile(tmp_path, "stash", STASH)
    text = (folder / "assignment.py").read_text()
    text = text.replace(*SKIP_TRAINING)
    (folder / "assignment.py").write_text(text)
    results = grade("hw4", folder, tests=[hidden.vae_bottleneck], options={"call_timeout": 300})
    test = results["tests"][0]
    assert test["score"] == 0 and "depend on z" in feedback_text(test), feedback_text(test)


# (j) hostile archives --------------------------------------------------------------------------
def _zip(path: Path, entries) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, *mode in entries:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode:
                info.external_attr = mode[0] << 16
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize("case, words", [
    ("dotdot", "outside the submission"),
    ("absolute", "outside the submission"),
    ("symlink", "symbolic link"),
    ("bomb", "expands suspiciously"),
    ("members", "entries"),
    ("not_a_zip", "neither a folder nor a zip"),
])
def test_j_hostile_archives_are_refused_with_a_message(tmp_path, case, words):
    path = tmp_path / f"{case}.zip"
    if case == "dotdot":
        _zip(path, [("../../evil.py", "x = 1\n")])
    elif case == "absolute":
        _zip(path, [("/tmp/evil.py", "x = 1\n")])
    elif case == "symlink":
        _zip(path, [("vae.py", "/etc/passwd", stat.S_IFLNK | 0o777)])
    elif case == "bomb":
        _zip(path, [("vae.py", b"\0" * (50 << 20))])
    elif case == "members":
        _zip(path, [(f"f{i}.py", "") for i in range(600)])
    else:
        path.write_bytes(b"this is not a zip at all")
    results = grade("hw4", path, tests=UNITS)
    assert results["score"] == 0
    assert all(words in t["output"] for t in results["tests"]), results["tests"][0]["output"]
    assert not (tmp_path.parent / "evil.py").exists() and not Path("/tmp/evil.py").exists()


# determinism --------------------------------------------------------------------------------------
def test_the_same_submission_graded_twice_gives_identical_results(tmp_path):
    first = grade("hw4", REFERENCE, tests=UNITS)
    second = grade("hw4", REFERENCE, tests=UNITS)
    strip = lambda r: [(t["name"], t["score"], t["output"]) for t in r["tests"]]  # noqa: E731
    assert strip(first) == strip(second) and first["score"] == FULL_UNITS
    assert os.path.exists(REFERENCE / "vae.py")
