"""The grader's own measurements for homework 3, computed in the grader's process from the raw
tensors a student's model returns (the VAE's losses are the core's, :mod:`autograder.pipeline.vae`).
Nothing here calls student code."""
from __future__ import annotations

import numpy as np
import torch

from autograder.pipeline import expect

SIDE = 28
NUM_INTERIOR = 7
WEIGHTS = torch.arange(1, NUM_INTERIOR + 1, dtype=torch.float32) / (NUM_INTERIOR + 1)   # k / 8, k = 1..7


def line_codes(mu_a: torch.Tensor, mu_b: torch.Tensor, weights: torch.Tensor = WEIGHTS) -> torch.Tensor:
    """(len(weights), Z): (1 - w) * mu_a + w * mu_b for every weight w."""
    w = weights.to(mu_a.dtype).unsqueeze(1)
    return (1 - w) * mu_a + w * mu_b


def project(codes: torch.Tensor, mu_a: torch.Tensor, mu_b: torch.Tensor):
    """Where ``codes`` (M, Z) lie relative to the segment from mu_a to mu_b: their weights
    w = <z - mu_a, d> / |d|^2 along d = mu_b - mu_a, and their distances from that line divided by
    |d| (0 for a code on the line)."""
    d = (mu_b - mu_a).double()
    offset = codes.double() - mu_a.double()
    norm2 = float(d.pow(2).sum())
    w = offset @ d / norm2
    off_line = (offset - w.unsqueeze(1) * d).norm(dim=1) / norm2 ** 0.5
    return w.float(), off_line.float()


def nine_images(value, what: str) -> torch.Tensor:
    """The (9, 28, 28) result of ``create_interpolates`` (any layout of the same 9 x 784 values is accepted)."""
    return expect.values(value, what, (NUM_INTERIOR + 2, SIDE, SIDE), 0.0, 1.0)


class MnistIndex:
    """Finds MNIST images (training or test set) by their exact pixels.

    Each image is keyed by a 64-bit hash of its 784 bytes; a hit is confirmed pixel by pixel. Student
    images are floats in [0, 1] and are matched after ``round(255 * x)``.
    """

    def __init__(self):
        from data import mnist

        self.images, self.labels, self.keys = {}, {}, {}
        rng = np.random.default_rng(12345)
        self._weights = rng.integers(1, 2**63 - 1, size=SIDE * SIDE, dtype=np.uint64)
        for split in ("train", "test"):
            images, labels = mnist.load(split, keep=False)
            self.images[split], self.labels[split] = images.reshape(len(images), -1), labels
            table: dict[int, list[int]] = {}
            for index, key in enumerate(self._hash(self.images[split]).tolist()):
                table.setdefault(key, []).append(index)
            self.keys[split] = table

    def _hash(self, flat: np.ndarray, chunk: int = 4096) -> np.ndarray:
        keys = np.empty(len(flat), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for start in range(0, len(flat), chunk):   # in chunks: 60,000 rows at once would take 380 MB
                part = flat[start:start + chunk].astype(np.uint64)
                keys[start:start + chunk] = (part * self._weights).sum(axis=1, dtype=np.uint64)
        return keys

    def find(self, images: torch.Tensor) -> list[dict | None]:
        """For each float image (N, 28, 28) in [0, 1]: ``{"split", "index", "label"}`` or None."""
        scaled = images.detach().double().reshape(images.shape[0], -1) * 255.0
        exact = (scaled - scaled.round()).abs().amax(dim=1) < 0.02
        flat = scaled.round().clamp(0, 255).to(torch.uint8).numpy()
        keys = self._hash(flat).tolist()
        found = []
        for row, key in enumerate(keys):
            hit = None
            if bool(exact[row]):
                for split in ("test", "train"):
                    for index in self.keys[split].get(key, ()):
                        if np.array_equal(self.images[split][index], flat[row]):
                            hit = {"split": split, "index": index, "label": int(self.labels[split][index])}
                            break
                    if hit:
                        break
            found.append(hit)
        return found
