"""The grader's data kept on disk between gradings (autograder/pipeline/kept.py): read back only
under the same key, with intact bytes, from a folder nobody else can reach; made again otherwise."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import torch

from autograder.pipeline import accounts, kept
from data import store


pytestmark = pytest.mark.skipif(not accounts.is_root(), reason="only a grader running as root keeps data "
                                                                "(its students' processes run as other users)")


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_KEEP", raising=False)
    return tmp_path / "cache"


class Maker:
    """``make`` for :func:`kept.kept` that counts its calls; ``value`` is what it returns."""

    def __init__(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.value = {"images": torch.randint(0, 256, (20, 3, 8, 8), dtype=torch.uint8, generator=g),
                      "labels": torch.randint(0, 3, (20,), generator=g), "name": "toy", "sizes": [20, 5]}
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.value


def same(a: dict, b: dict) -> bool:
    return (a.keys() == b.keys() and all(torch.equal(a[k], b[k]) if isinstance(a[k], torch.Tensor) else a[k] == b[k]
                                         for k in a))


def keep(make, seed: int = 0, code=()):
    return kept.kept("toy", make, inputs=lambda: {"seed": seed}, code=code)


def test_made_once_then_read_back_to_the_last_bit(cache):
    make = Maker()
    first, second = keep(make), keep(make)
    assert make.calls == 1
    assert same(first, make.value) and same(second, make.value)
    folder = cache / store.PRIVATE
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [p.name for p in folder.iterdir()] == ["toy.pt"]   # no temporary file left behind
    assert stat.S_IMODE((folder / "toy.pt").stat().st_mode) == 0o600


def test_other_inputs_or_other_code_make_it_again_and_replace_it(cache, tmp_path):
    code = tmp_path / "measure.py"
    code.write_text("SIZES = (600, 200, 200)\n")
    make, other = Maker(0), Maker(1)
    keep(make, code=(code,))
    assert same(keep(other, seed=1, code=(code,)), other.value) and other.calls == 1   # another seed
    code.write_text("SIZES = (500, 200, 200)\n")                                         # changed code
    assert same(keep(make, seed=1, code=(code,)), make.value) and make.calls == 2
    assert same(keep(other, seed=1, code=(code,)), make.value) and other.calls == 1      # read back, no call
    assert len(list((cache / store.PRIVATE).iterdir())) == 1                             # one file per name


def test_broken_bytes_are_made_again(cache):
    make = Maker()
    keep(make)
    path = cache / store.PRIVATE / "toy.pt"
    raw = bytearray(path.read_bytes())
    raw[-100] ^= 0x01
    path.write_bytes(bytes(raw))
    assert same(keep(make), make.value) and make.calls == 2
    path.write_bytes(path.read_bytes()[:1000])   # cut short
    assert same(keep(make), make.value) and make.calls == 3
    assert same(keep(make), make.value) and make.calls == 3   # the file was written again, whole


def planted(cache, key_seed: int = 0) -> Maker:
    """A valid file with the right key but other data, as someone else could write it."""
    impostor = Maker(99)
    kept._write(cache / store.PRIVATE / "toy.pt", kept.key_of({"seed": key_seed}), impostor.value)
    return impostor


def test_a_folder_others_could_reach_is_closed_and_emptied_before_use(cache):
    folder = cache / store.PRIVATE
    folder.mkdir(parents=True, mode=0o700)
    planted(cache)
    folder.chmod(0o777)
    make = Maker()
    assert same(keep(make), make.value) and make.calls == 1   # the planted file was not read
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


@pytest.mark.skipif(not accounts.is_root(), reason="needs root to give the folder to another user")
def test_a_folder_or_file_of_another_user_is_never_used(cache):
    folder = cache / store.PRIVATE
    folder.mkdir(parents=True, mode=0o700)
    impostor = planted(cache)
    os.chown(folder / "toy.pt", 65534, 65534)   # a file of another user in our folder
    make = Maker()
    assert same(keep(make), make.value) and make.calls == 1
    impostor = planted(cache)
    os.chown(folder, 65534, 65534)              # the whole folder of another user
    assert same(keep(make), make.value) and make.calls == 2
    assert same(keep(make), make.value) and make.calls == 3   # and nothing of ours was written into it
    assert impostor.calls == 0


def test_a_link_in_place_of_the_folder_is_not_followed(cache, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache.mkdir()
    (cache / store.PRIVATE).symlink_to(elsewhere)
    make = Maker()
    keep(make), keep(make)
    assert make.calls == 2 and not list(elsewhere.iterdir())


def test_nothing_is_kept_when_turned_off_without_root_or_when_the_cache_cannot_be_made(cache, tmp_path,
                                                                                         monkeypatch):
    make = Maker()
    monkeypatch.setenv("AEKIT_KEEP", "0")
    keep(make), keep(make)
    assert make.calls == 2 and not cache.exists()
    monkeypatch.delenv("AEKIT_KEEP")
    monkeypatch.setattr(accounts, "is_root", lambda: False)   # students would run as the grader's user
    keep(make), keep(make)
    assert make.calls == 4 and not cache.exists()
    monkeypatch.setattr(accounts, "is_root", lambda: True)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AEKIT_CACHE", str(blocker))
    assert same(keep(make), make.value) and make.calls == 5


def test_inputs_that_fail_leave_the_failure_to_make(cache):
    def missing():
        raise store.DataError("the emoji font is missing")
    make = Maker()
    assert same(kept.kept("toy", make, inputs=missing), make.value) and make.calls == 1
    assert not (cache / store.PRIVATE / "toy.pt").exists()


def test_prefetch_makes_what_hw2s_gradings_keep_and_a_grading_reads_it(cache, monkeypatch):
    from autograder import prefetch
    from autograder.homeworks.hw2 import hidden, measure

    want = measure.grader_part(measure.grader_base(0), "train", 0)
    assert prefetch.keep("hw1") == []
    assert prefetch.keep("hw2") == ["the grader's training set"]
    assert (cache / store.PRIVATE / "hw2-train.pt").is_file()

    def made_again(*args):
        raise AssertionError("the training set was made again")
    monkeypatch.setattr(measure, "grader_part", made_again)
    got = hidden._training_set(0)
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    with pytest.raises(AssertionError, match="made again"):
        hidden._training_set(1)   # another seed is made (here: refused)
