"""Handwritten signs (glyphs) for homework 5: pooled, verified, split by writer, cached.

>>> from data import signs
>>> x = signs.images("train")          # float32 (N, 64, 64) in [0, 1], 1 = ink; no labels
>>> x, y = signs.images("dev"), signs.labels("dev")   # y: int64 (N,), classes 0-51
>>> signs.CLASSES[y[0]]                 # the character of a class: 'A'-'Z' are 0-25, 'a'-'z' 26-51
>>> t = signs.tensors("test")           # float32 torch tensor (N, 1, 64, 64); test labels are held back

Where the data comes from. The course's two files ``train.npz`` and ``test.npz`` (from the public
repository anoopsarkar/nlp-class-hw, folder ``signvae/data/bin/``) are found through the kit's search
order (:mod:`data.store`: ``$AEKIT_DATA``, the kit's cache, ``../shared/data``, then a verified
download) and checked against their MD5. Each holds 64 x 64 glyph images and their original file
names, ``img{CCC}-{SSS}.png``: CCC is the character (11-36 = 'A'-'Z', 37-62 = 'a'-'z') and SSS the
writer (1-55); index 0 is a blank image. The glyphs are from the Chars74K "EnglishHnd" set
(T. de Campos, B. R. Babu, M. Varma), distributed for research and teaching.

The split. Most glyphs of ``test.npz`` also occur in ``train.npz``, so the two files are not a clean
split. This module pools the unique glyphs (2,113 of them, sorted by file name), drops the blank,
and splits them *by writer* with a fixed seed: 35 writers for ``train``, 10 for ``dev`` and 10 for
``test``, so no writer appears in two splits and dev/test measure how well a model generalises to
new hands. Within a split the glyphs keep the pooled (file name) order, which is the order of the
codes a student hands in.

Labels. Training is unsupervised: ``labels("train")`` is refused. ``labels("dev")`` is given, so
students can score their dev codes (``check.py``). The test labels are returned only by
:func:`grader_labels`, which the grader calls in its own process. In this kit the raw files
(whose names spell the class) are on disk for everyone; a course that hands the data to students
would ship the three pre-split image arrays and the dev labels only, and keep the test labels on
the grading server.

The pooled arrays are cached as one small ``.npz`` (uint8 pixels, class and writer numbers) in the
kit's cache, named by the two source files' checksums, so later loads take milliseconds.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np

from .store import DataError, RemoteFile, cache_dir, fetch, write_atomically

COMMIT = "d6978c4ce4766d83a58061c58e00b2000fa513d8"
MIRRORS = (f"https://raw.githubusercontent.com/anoopsarkar/nlp-class-hw/{COMMIT}/signvae/data/bin/",)
FILES = (
    RemoteFile("signs", "train.npz", "7ec425734ad1fa3acb72e7105dd80260", MIRRORS),
    RemoteFile("signs", "test.npz", "b8eb08e38cb204b172fb44a8fe1cb7ec", MIRRORS),
)
CLASSES = string.ascii_uppercase + string.ascii_lowercase   # class k is the character CLASSES[k]
NUM_CLASSES = len(CLASSES)                                    # 52
SIDE = 64                                                     # images are SIDE x SIDE
NUM_WRITERS = 55
SPLIT_SEED = 2024
SPLIT_WRITERS = {"train": 35, "dev": 10, "test": 10}          # writers per split, in this order
SPLITS = tuple(SPLIT_WRITERS)
POOLED_SIZE = 2113                                            # unique glyphs in the two files
_NAME = re.compile(r"img(\d{3})-(\d{3})\.png$")
_MEMORY: dict[str, np.ndarray] = {}


def parse_name(path: str) -> tuple[int, int] | None:
    """``(class 0-51, writer 1-55)`` of an original file name, or ``None`` for the blank image."""
    match = _NAME.search(str(path))
    if match is None:
        return None
    code, writer = int(match.group(1)), int(match.group(2))
    if not (11 <= code <= 62 and 1 <= writer <= NUM_WRITERS):
        raise DataError(f"unexpected glyph file name {path!r} in the signs data")
    return code - 11, writer


def _cache_path() -> Path:
    tag = "-".join(remote.md5[:8] for remote in FILES)
    return cache_dir() / "signs" / "decoded" / f"pooled-{tag}.npz"


def _read_source(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["images"], archive["paths"]
    except (OSError, ValueError, KeyError) as err:
        raise DataError(f"{path} cannot be read as the signs data ({err})") from None


def _pool() -> dict[str, np.ndarray]:
    """Every unique glyph of the two files, sorted by file name: uint8 pixels, class, writer."""
    glyphs: dict[str, np.ndarray] = {}
    for remote in FILES:
        images, paths = _read_source(fetch(remote))
        for image, path in zip(images, paths):
            if parse_name(path) is None:
                continue  # the blank image (index 0)
            if path in glyphs:
                continue  # the same file in both archives (identical pixels)
            glyphs[str(path)] = image
    names = sorted(glyphs)
    if len(names) != POOLED_SIZE:
        raise DataError(f"the signs files hold {len(names)} unique glyphs, expected {POOLED_SIZE}")
    pixels = np.stack([glyphs[name] for name in names])
    if pixels.shape[1:] != (SIDE, SIDE):
        raise DataError(f"signs images have shape {pixels.shape[1:]}, expected ({SIDE}, {SIDE})")
    parsed = [parse_name(name) for name in names]
    return {
        "pixels": np.round(np.clip(pixels, 0.0, 1.0) * 255).astype(np.uint8),
        "classes": np.array([c for c, _ in parsed], dtype=np.int64),
        "writers": np.array([w for _, w in parsed], dtype=np.int64),
    }


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Save the pooled arrays atomically; a read-only cache (as in the grader's sandbox) is fine."""
    try:
        write_atomically(path, lambda out: np.savez(out, **arrays))
    except OSError:
        pass


def pooled() -> dict[str, np.ndarray]:
    """The pooled glyphs as read-only arrays: ``pixels`` uint8 (2113, 64, 64), ``classes`` and
    ``writers`` int64 (2113,). Read from the cache when possible."""
    if "pixels" in _MEMORY:
        return dict(_MEMORY)
    arrays = None
    path = _cache_path()
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in ("pixels", "classes", "writers")}
            if arrays["pixels"].shape != (POOLED_SIZE, SIDE, SIDE):
                arrays = None
        except (OSError, ValueError, KeyError):
            arrays = None
    if arrays is None:
        arrays = _pool()
        _write_cache(path, arrays)
    for key, value in arrays.items():
        value = np.ascontiguousarray(value)
        value.setflags(write=False)  # shared by every caller in this process
        _MEMORY[key] = value
    return dict(_MEMORY)


def split_writers(seed: int = SPLIT_SEED) -> dict[str, tuple[int, ...]]:
    """The writers (1-55) of each split: a seeded permutation cut into 35 / 10 / 10."""
    order = np.random.default_rng(seed).permutation(np.arange(1, NUM_WRITERS + 1))
    out, start = {}, 0
    for split, count in SPLIT_WRITERS.items():
        out[split] = tuple(sorted(int(w) for w in order[start:start + count]))
        start += count
    return out


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")


def _index(split: str) -> np.ndarray:
    _check_split(split)
    writers = pooled()["writers"]
    return np.flatnonzero(np.isin(writers, split_writers()[split]))


def images(split: str) -> np.ndarray:
    """The glyphs of ``split`` ("train", "dev" or "test") as float32 (N, 64, 64) in [0, 1], 1 = ink.

    A new array each call (yours to modify). Raises :class:`data.DataError` with instructions when
    the files are missing or corrupt.
    """
    return pooled()["pixels"][_index(split)].astype(np.float32) / 255.0


def tensors(split: str):
    """The glyphs of ``split`` as a float32 torch tensor (N, 1, 64, 64) in [0, 1]."""
    import torch

    return torch.from_numpy(images(split)).unsqueeze(1)


def labels(split: str) -> np.ndarray:
    """The gold classes of the dev split, int64 (N,) in 0-51 (``CLASSES[k]`` is the character).

    Only "dev" has labels for students: training is unsupervised, and the test labels are held
    back for grading.
    """
    _check_split(split)
    if split == "train":
        raise ValueError("the train split has no labels in this homework: the VAE learns without them "
                         "(use the dev labels to measure your clustering)")
    if split == "test":
        raise ValueError("the test labels are held back for grading; score your work on the dev split")
    return grader_labels(split)


def grader_labels(split: str) -> np.ndarray:
    """Grader side: the gold classes of any split, int64 (N,). The grader calls this in its own
    process for the test split; student code should use :func:`labels`."""
    return pooled()["classes"][_index(split)].copy()


def writers(split: str) -> np.ndarray:
    """The writer (1-55) of every glyph of ``split``, int64 (N,)."""
    return pooled()["writers"][_index(split)].copy()


def sizes() -> dict[str, int]:
    """The number of glyphs in each split."""
    return {split: int(_index(split).size) for split in SPLITS}


def clear_memory() -> None:
    """Forget the arrays kept in this process (tests use it to reload from disk)."""
    _MEMORY.clear()


__all__ = ["CLASSES", "NUM_CLASSES", "SIDE", "DataError", "images", "tensors", "labels", "grader_labels",
           "writers", "split_writers", "sizes", "pooled", "parse_name"]


def prepare() -> None:
    """Fetch, verify and pool the glyphs (used before grading: see autograder/prefetch.py)."""
    pooled()
