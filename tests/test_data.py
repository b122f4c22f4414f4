"""The data search order, checksum verification, the verified download path and IDX decoding."""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data import DataError, mnist, store

KIT = Path(__file__).resolve().parents[1]


def _idx_images(n: int) -> bytes:
    header = (2051).to_bytes(4, "big") + n.to_bytes(4, "big") + (28).to_bytes(4, "big") + (28).to_bytes(4, "big")
    return header + bytes(range(256)) * (n * 784 // 256) + bytes(n * 784 % 256)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache and no environment override; ../shared stays as the last local place."""
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setenv("AEKIT_OFFLINE", "1")
    return tmp_path


def _remote(tmp_path, payload: bytes, name="toy.gz", mirrors=()):
    return store.RemoteFile("toyset", name, hashlib.md5(payload).hexdigest(), tuple(mirrors))


def test_search_order_env_then_cache_then_shared(isolated, monkeypatch):
    payload = b"good bytes"
    remote = _remote(isolated, payload)
    env_dir, cache = isolated / "env", isolated / "cache"
    monkeypatch.setenv("AEKIT_DATA", str(env_dir))
    dirs = store.search_dirs("toyset")
    assert dirs == [env_dir / "toyset", cache / "toyset", KIT.parent / "shared" / "data" / "toyset"]
    for folder in (cache / "toyset", env_dir / "toyset"):
        folder.mkdir(parents=True)
        (folder / "toy.gz").write_bytes(payload)
    assert store.fetch(remote) == env_dir / "toyset" / "toy.gz"
    (env_dir / "toyset" / "toy.gz").unlink()
    assert store.fetch(remote) == cache / "toyset" / "toy.gz"


def test_corrupt_copy_is_skipped_for_a_good_one(isolated, monkeypatch):
    payload = b"good bytes"
    remote = _remote(isolated, payload)
    monkeypatch.setenv("AEKIT_DATA", str(isolated / "env"))
    (isolated / "env" / "toyset").mkdir(parents=True)
    (isolated / "env" / "toyset" / "toy.gz").write_bytes(b"corrupted!")
    (isolated / "cache" / "toyset").mkdir(parents=True)
    (isolated / "cache" / "toyset" / "toy.gz").write_bytes(payload)
    assert store.fetch(remote) == isolated / "cache" / "toyset" / "toy.gz"


def test_corrupt_only_copy_gives_one_clear_message(isolated, monkeypatch):
    remote = _remote(isolated, b"the real bytes")
    monkeypatch.setenv("AEKIT_DATA", str(isolated / "env"))
    (isolated / "env" / "toyset").mkdir(parents=True)
    bad = isolated / "env" / "toyset" / "toy.gz"
    bad.write_bytes(b"truncated")
    with pytest.raises(DataError) as err:
        store.fetch(remote)
    message = str(err.value)
    assert "corrupt" in message and str(bad) in message and remote.md5 in message
    assert "What to do" in message and "AEKIT_DATA" in message


def test_download_is_verified_and_kept_only_when_good(isolated, monkeypatch):
    payload = b"served bytes"
    mirror = isolated / "mirror"
    mirror.mkdir()
    (mirror / "toy.gz").write_bytes(payload)
    remote = _remote(isolated, payload, mirrors=[mirror.as_uri()])
    path = store.fetch(remote, download=True)
    assert path == isolated / "cache" / "toyset" / "toy.gz" and path.read_bytes() == payload

    (mirror / "bad.gz").write_bytes(b"tampered bytes")
    tampered = store.RemoteFile("toyset", "bad.gz", hashlib.md5(b"expected").hexdigest(), (mirror.as_uri(),))
    with pytest.raises(DataError, match="download from .* failed"):
        store.fetch(tampered, download=True)
    assert not (isolated / "cache" / "toyset" / "bad.gz").exists()
    assert not list((isolated / "cache" / "toyset").glob(".part-*"))


def test_decode_idx_round_trip_and_errors():
    raw = _idx_images(3)
    images = mnist.decode_idx(raw)
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8 and images[0, 0, 5] == 5
    labels = mnist.decode_idx((2049).to_bytes(4, "big") + (4).to_bytes(4, "big") + bytes([1, 2, 3, 9]))
    assert labels.tolist() == [1, 2, 3, 9]
    with pytest.raises(DataError, match="not an IDX file"):
        mnist.decode_idx(b"\x00\x00\x00\x07" + bytes(20))
    with pytest.raises(DataError, match="expected"):
        mnist.decode_idx(raw[:-10])


def test_real_mnist_loads_with_expected_shapes_and_labels():
    images, labels = mnist.load("train")
    test_images, test_labels = mnist.load("test")
    assert images.shape == (60000, 28, 28) and test_images.shape == (10000, 28, 28)
    assert labels[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]
    assert np.bincount(test_labels).tolist()[:3] == [980, 1135, 1032]
    x, y = next(iter(mnist.loader("test", batch_size=16, shuffle=False)))
    assert tuple(x.shape) == (16, 1, 28, 28) and float(x.max()) <= 1.0 and y.dtype.is_floating_point is False


def test_loader_is_reproducible_with_a_seed():
    first = next(iter(mnist.loader("train", batch_size=8, seed=3)))[1].tolist()
    again = next(iter(mnist.loader("train", batch_size=8, seed=3)))[1].tolist()
    other = next(iter(mnist.loader("train", batch_size=8, seed=4)))[1].tolist()
    assert first == again and first != other


def test_pick_draws_distinct_images_in_the_generators_order():
    import torch

    picked = mnist.pick("test", 40, torch.Generator().manual_seed(3))
    order = torch.randperm(10000, generator=torch.Generator().manual_seed(3))[:40]
    assert picked.dtype == torch.uint8 and tuple(picked.shape) == (40, 1, 28, 28)
    assert np.array_equal(picked[:, 0].numpy(), mnist.load("test")[0][order.numpy()])
    assert not torch.equal(picked, mnist.pick("test", 40, torch.Generator().manual_seed(4)))


def test_missing_mnist_is_one_clear_message_not_a_traceback(tmp_path):
    """With every place empty and no download allowed, a homework sees instructions only."""
    env = dict(os.environ, AEKIT_CACHE=str(tmp_path / "cache"), AEKIT_DATA=str(tmp_path / "nothing"),
               AEKIT_OFFLINE="1")
    code = ("import data.store as s, pathlib; s.KIT_ROOT = pathlib.Path('/nonexistent/kit');\n"
            "from data import mnist, DataError\n"
            "try:\n    mnist.load('test')\nexcept DataError as e:\n    print(e); raise SystemExit(3)\n")
    run = subprocess.run([sys.executable, "-c", code], cwd=KIT, env=env, capture_output=True, text=True)
    assert run.returncode == 3, run.stderr
    assert "t10k-images-idx3-ubyte.gz is missing or corrupt" in run.stdout
    assert "What to do" in run.stdout and "Traceback" not in run.stdout + run.stderr


def test_corrupt_mnist_file_is_named_in_the_message(isolated, monkeypatch):
    """A byte flipped in one real MNIST file: the loader refuses it and says which file and why."""
    import shutil

    source = KIT.parent / "shared" / "data" / "mnist"
    if not source.is_dir():
        pytest.skip("needs ../shared/data/mnist")
    monkeypatch.setattr(store, "KIT_ROOT", isolated / "kit")  # hide ../shared
    monkeypatch.setenv("AEKIT_DATA", str(isolated / "env"))
    shutil.copytree(source, isolated / "env" / "mnist")
    target = isolated / "env" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    target.chmod(0o644)
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    monkeypatch.setattr(mnist, "_MEMORY", {})
    monkeypatch.setattr(mnist, "_decoded_path", lambda remote: isolated / "none" / (remote.md5 + ".npy"))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz is corrupt \(MD5"):
        mnist.load("test")


def _as_another_user(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python process of user ``nobody``, as a student's sandboxed process is a
    user of its own (root only)."""
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    return subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True,
                          preexec_fn=drop, timeout=120)


def test_a_decoded_cache_is_readable_by_every_user_and_mapped_not_copied():
    """The grader decodes MNIST once; a student's process (another user) must load that cache,
    not decode the archive again, and every process shares the pages of one file."""
    import mmap
    import shutil
    import tempfile

    source = KIT.parent / "shared" / "data" / "mnist"
    if not source.is_dir():
        pytest.skip("needs ../shared/data/mnist")
    folder = Path(tempfile.mkdtemp(prefix="aekit-cache-test-"))
    try:
        folder.chmod(0o755)   # as the kit's folder is: others may enter it
        env = dict(os.environ, AEKIT_CACHE=str(folder / "cache"), AEKIT_DATA=str(source.parent),
                   AEKIT_OFFLINE="1", PYTHONPATH=str(KIT))
        decode = ("from data import mnist\nimages, labels = mnist.load('test')\n"
                  "print(images.shape[0], int(labels[:50].sum()))\n")
        made = subprocess.run([sys.executable, "-c", decode], cwd=KIT, env=env, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        decoded = sorted((folder / "cache" / "mnist" / "decoded").glob("*.npy"))
        assert len(decoded) == 2 and all(p.stat().st_mode & 0o444 == 0o444 for p in decoded)
        if os.geteuid() == 0:
            # Another user, with the archive out of reach: only the decoded cache can answer.
            strict = dict(env, AEKIT_DATA=str(folder / "no-archives"))
            student = _as_another_user(decode + "import numpy as np, mmap\nbase = images\n"
                                       "while getattr(base, 'base', None) is not None: base = base.base\n"
                                       "print(isinstance(base, mmap.mmap))\n", strict)
            assert student.returncode == 0, student.stderr[-2000:]
            assert student.stdout.split() == made.stdout.split() + ["True"]
        # In this process too: a load maps the file rather than reading a private copy.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AEKIT_CACHE", str(folder / "cache"))
            patch.setattr(mnist, "_MEMORY", {})
            images, _ = mnist.load("test")
            base = images
            while getattr(base, "base", None) is not None:
                base = base.base
            assert isinstance(base, mmap.mmap) and not images.flags.writeable
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_caches_written_by_owner_only_are_shared_by_prefetch(isolated):
    """Older kits wrote their caches readable by their owner only; ``share_cache`` (run by the
    prefetch verb) opens them to the students' processes, and leaves links and others' files be."""
    cache = isolated / "cache"
    store.write_atomically(cache / "toyset" / "new.npy", lambda out: out.write(b"new"))
    old = cache / "toyset" / "old.npy"
    old.write_bytes(b"old")
    old.chmod(0o600)
    (cache / "toyset" / "private").mkdir(mode=0o700)
    (cache / "toyset" / "link").symlink_to("/etc/shadow")
    grader = cache / store.PRIVATE   # the grader's own data (autograder/pipeline/kept.py) stays private
    grader.mkdir(mode=0o700)
    (grader / "hw2-train.pt").write_bytes(b"kept")
    (grader / "hw2-train.pt").chmod(0o600)
    assert (cache / "toyset" / "new.npy").stat().st_mode & 0o777 == 0o644
    assert store.share_cache() == 2
    assert old.stat().st_mode & 0o777 == 0o644
    assert (cache / "toyset" / "private").stat().st_mode & 0o777 == 0o755
    assert os.stat("/etc/shadow").st_mode & 0o004 == 0   # a link is not followed
    assert grader.stat().st_mode & 0o777 == 0o700 and (grader / "hw2-train.pt").stat().st_mode & 0o777 == 0o600
    assert store.share_cache() == 0
