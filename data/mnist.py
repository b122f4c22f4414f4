"""MNIST for every homework: the four original IDX files, verified, decoded once and cached.

>>> from data import mnist
>>> images, labels = mnist.load("train")      # uint8 (60000, 28, 28), uint8 (60000,)
>>> loader = mnist.loader("train", batch_size=128, shuffle=True, seed=0)
>>> x, y = next(iter(loader))                  # float32 (128, 1, 28, 28) in [0, 1], int64 (128,)

Decoded arrays are cached as ``.npy`` files next to the kit's download cache (named by the source
file's checksum). Later loads map them read-only into memory, which costs about a millisecond: the
pages are read when first used, and every process that maps a file (a grader and its students'
trainings) shares one copy of them. Datasets share the loaded arrays rather than copying them.
"""
from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np

from .store import DataError, RemoteFile, cache_dir, fetch, write_atomically

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FILES = {
    ("train", "images"): RemoteFile("mnist", "train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", MIRRORS),
    ("train", "labels"): RemoteFile("mnist", "train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", MIRRORS),
    ("test", "images"): RemoteFile("mnist", "t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", MIRRORS),
    ("test", "labels"): RemoteFile("mnist", "t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", MIRRORS),
}
SIZES = {"train": 60000, "test": 10000}
_MEMORY: dict[tuple[str, str], np.ndarray] = {}


def decode_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an uncompressed IDX byte string (magic 2049 labels or 2051 images) to a uint8 array."""
    if len(raw) < 8:
        raise DataError(f"{name} is too short to be an IDX file")
    magic = int.from_bytes(raw[0:4], "big")
    count = int.from_bytes(raw[4:8], "big")
    if magic == 2049:
        shape, offset = (count,), 8
    elif magic == 2051:
        rows, cols = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        shape, offset = (count, rows, cols), 16
    else:
        raise DataError(f"{name} is not an IDX file (magic number {magic})")
    expected = int(np.prod(shape))
    if len(raw) - offset != expected:
        raise DataError(f"{name} holds {len(raw) - offset} bytes of data, expected {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(shape)


def _decoded_path(remote: RemoteFile) -> Path:
    return cache_dir() / "mnist" / "decoded" / f"{remote.name.split('.')[0]}-{remote.md5[:12]}.npy"


def _load_part(split: str, part: str, keep: bool = True) -> np.ndarray:
    key = (split, part)
    if key in _MEMORY:
        return _MEMORY[key]
    remote = FILES[key]
    decoded = _decoded_path(remote)
    array = None
    if decoded.is_file():
        try:
            array = np.load(decoded, mmap_mode="r")   # pages read when used, shared between processes
        except (OSError, ValueError):
            array = None
    expected_len = SIZES[split]
    if array is None or array.shape[0] != expected_len:
        source = fetch(remote)
        with gzip.open(source, "rb") as handle:
            array = decode_idx(handle.read(), str(source))
        if array.shape[0] != expected_len:
            raise DataError(f"{source} holds {array.shape[0]} items, expected {expected_len}")
        _write_cache(decoded, array)
    array = np.ascontiguousarray(array)
    array.setflags(write=False)  # shared by every caller in this process
    if keep:
        _MEMORY[key] = array
    return array


def _write_cache(path: Path, array: np.ndarray) -> None:
    """Save a decoded array atomically; a read-only cache (as in the grader's sandbox) is fine."""
    try:
        write_atomically(path, lambda out: np.save(out, array))
    except OSError:
        pass


def load(split: str, keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(images, labels)`` of ``split`` ("train" or "test"), both read-only.

    images: uint8 array (N, 28, 28), 0 = background; labels: uint8 array (N,), digits 0-9.
    With ``keep=False`` the arrays are not kept for later calls in this process (saves memory
    when only a part is needed). Raises :class:`data.DataError` with instructions when the files
    are missing or corrupt.
    """
    if split not in SIZES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return _load_part(split, "images", keep), _load_part(split, "labels", keep)


def tensors(split: str, limit: int | None = None):
    """The first ``limit`` examples of ``split`` (all by default) as torch tensors, for a grader
    that measures on real digits: images uint8 (N, 1, 28, 28), 0 = background; labels int64 (N,).
    They are copies, and the decoded arrays are not kept for later calls in this process."""
    import torch

    images, labels = load(split, keep=False)
    limit = len(labels) if limit is None else limit
    return (torch.from_numpy(images[:limit].copy()).unsqueeze(1),
            torch.from_numpy(labels[:limit].astype(np.int64)))


def pick(split: str, count: int, generator):
    """``count`` images of ``split`` drawn without replacement with the ``torch.Generator``
    ``generator``, in the order drawn: uint8 tensor (count, 1, 28, 28), 0 = background. A grader
    picks its test images this way, with its own seeded generator."""
    import torch

    images, _ = tensors(split)
    return images[torch.randperm(len(images), generator=generator)[:count]]


class MNIST:
    """A map-style dataset over MNIST that keeps the images as uint8 and converts per batch.

    Item ``i`` is ``(image float32 (1, 28, 28) in [0, 1], label int)``; ``dataset[list_of_indices]``
    through ``__getitems__`` returns a whole batch at once, which keeps loaders fast on a laptop.
    """

    def __init__(self, split: str, limit: int | None = None):
        import torch

        images, labels = load(split)
        if limit is not None:
            images, labels = images[:limit], labels[:limit]
        with warnings.catch_warnings():  # shared read-only memory: never written through these tensors
            warnings.simplefilter("ignore", UserWarning)
            self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels.astype(np.int64))

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index].unsqueeze(0).float().div_(255.0), int(self.labels[index])

    def __getitems__(self, indices):
        import torch

        index = torch.as_tensor(indices, dtype=torch.long)
        return self.images[index].unsqueeze(1).float().div_(255.0), self.labels[index]


def prepare() -> None:
    """Fetch, verify and decode both splits (used before grading: see autograder/prefetch.py)."""
    for split in ("train", "test"):
        load(split, keep=False)


def _whole_batch(batch):
    return batch


def loader(split: str, batch_size: int = 128, shuffle: bool = True, seed: int | None = None,
           limit: int | None = None):
    """A ``torch.utils.data.DataLoader`` over ``split`` yielding ``(x, y)`` batches.

    x: float32 (B, 1, 28, 28) in [0, 1]; y: int64 (B,). With ``seed`` the shuffling order is
    reproducible; ``limit`` keeps only the first ``limit`` examples (for quick runs).
    """
    import torch

    generator = None
    if seed is not None:
        generator = torch.Generator()
        generator.manual_seed(seed)
    return torch.utils.data.DataLoader(
        MNIST(split, limit), batch_size=batch_size, shuffle=shuffle, generator=generator,
        collate_fn=_whole_batch,
    )
