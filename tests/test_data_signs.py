"""The sign (glyph) data of homework 5: verified files, pooling, the split by writer, the labels policy."""
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

from data import DataError, signs, store

KIT = Path(__file__).resolve().parents[1]
SHARED = KIT.parent / "shared" / "data" / "signs"
pytestmark = pytest.mark.skipif(not (SHARED / "train.npz").is_file(), reason="needs ../shared/data/signs")


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache, no environment override, and nothing kept in memory."""
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setenv("AEKIT_OFFLINE", "1")
    monkeypatch.setattr(signs, "_MEMORY", {})
    return tmp_path


def test_remote_files_name_the_course_commit_and_checksums():
    names = {remote.name: remote for remote in signs.FILES}
    assert names["train.npz"].md5 == "7ec425734ad1fa3acb72e7105dd80260"
    assert names["test.npz"].md5 == "b8eb08e38cb204b172fb44a8fe1cb7ec"
    for remote in signs.FILES:
        assert remote.dataset == "signs"
        (mirror,) = remote.mirrors
        assert mirror == ("https://raw.githubusercontent.com/anoopsarkar/nlp-class-hw/"
                          "d6978c4ce4766d83a58061c58e00b2000fa513d8/signvae/data/bin/")


def test_splits_are_disjoint_by_writer_and_cover_every_glyph():
    writers = signs.split_writers()
    assert [len(writers[s]) for s in signs.SPLITS] == [35, 10, 10]
    union = set().union(*writers.values())
    assert union == set(range(1, 56))
    for a in signs.SPLITS:
        for b in signs.SPLITS:
            if a < b:
                assert not set(writers[a]) & set(writers[b])
                assert not set(signs.writers(a)) & set(signs.writers(b))
    sizes = signs.sizes()
    assert sum(sizes.values()) == signs.POOLED_SIZE == 2113
    assert sizes == {"train": 1352, "dev": 380, "test": 381}
    assert signs.split_writers() == writers, "the split must not change between calls"
    assert signs.split_writers(seed=1) != writers


def test_images_shapes_ranges_and_labels_policy():
    x = signs.images("dev")
    assert x.shape == (380, 64, 64) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and 0.1 < x.mean() < 0.6  # ink is 1
    t = signs.tensors("test")
    assert tuple(t.shape) == (381, 1, 64, 64)
    y = signs.labels("dev")
    assert y.shape == (380,) and y.dtype == np.int64 and 0 <= y.min() and y.max() < 52
    assert len(np.unique(y)) >= 45 and signs.CLASSES[0] == "A" and signs.CLASSES[26] == "a"
    with pytest.raises(ValueError, match="held back"):
        signs.labels("test")
    with pytest.raises(ValueError, match="no labels"):
        signs.labels("train")
    with pytest.raises(ValueError, match="split must be one of"):
        signs.images("validation")
    assert signs.grader_labels("test").shape == (381,)
    x[0, 0, 0] = 5.0  # a copy: the shared arrays are unchanged
    assert signs.images("dev")[0, 0, 0] <= 1.0


def test_pooling_matches_the_source_files_glyph_by_glyph():
    train = np.load(SHARED / "train.npz")
    test = np.load(SHARED / "test.npz")
    pooled = signs.pooled()
    names = sorted({str(p) for p in np.concatenate([train["paths"], test["paths"]]) if p != "blank"})
    assert len(names) == 2113
    # spot-check: the k-th pooled glyph is the file with the k-th name, with the same pixels
    lookup = {str(p): (train, i) for i, p in enumerate(train["paths"])}
    lookup.update({str(p): (test, i) for i, p in enumerate(test["paths"]) if str(p) not in lookup})
    for k in (0, 1, 500, 2112):
        archive, index = lookup[names[k]]
        np.testing.assert_array_equal(pooled["pixels"][k], np.round(archive["images"][index] * 255).astype(np.uint8))
        assert (pooled["classes"][k], pooled["writers"][k]) == signs.parse_name(names[k])
    assert signs.parse_name("blank") is None
    assert signs.parse_name("glyphs/handwritten/img011-055.png") == (0, 55)
    assert signs.parse_name("glyphs/handwritten/img062-001.png") == (51, 1)


def test_cache_is_written_and_reused(fresh):
    first = signs.pooled()
    cached = list((fresh / "cache" / "signs" / "decoded").glob("pooled-*.npz"))
    assert len(cached) == 1
    signs.clear_memory()
    again = signs.pooled()
    for key in ("pixels", "classes", "writers"):
        np.testing.assert_array_equal(first[key], again[key])
    assert not again["pixels"].flags.writeable


def test_data_env_folder_comes_first_and_a_corrupt_copy_is_named(fresh, monkeypatch):
    env = fresh / "env" / "signs"
    env.mkdir(parents=True)
    for remote in signs.FILES:
        shutil.copy(SHARED / remote.name, env / remote.name)
    monkeypatch.setenv("AEKIT_DATA", str(fresh / "env"))
    assert store.fetch(signs.FILES[0]) == env / "train.npz"
    monkeypatch.setattr(store, "KIT_ROOT", fresh / "kit")  # hide ../shared
    raw = bytearray((env / "test.npz").read_bytes())
    raw[5000] ^= 0xFF
    (env / "test.npz").write_bytes(bytes(raw))
    assert hashlib.md5(bytes(raw)).hexdigest() != signs.FILES[1].md5
    with pytest.raises(DataError, match=r"test.npz is corrupt \(MD5") as err:
        signs.pooled()
    assert "What to do" in str(err.value)
