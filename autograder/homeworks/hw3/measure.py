"""The grader's own measurements for homework 3, computed in the grader's process from the raw
tensors a student's model returns. Nothing here calls student code directly."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autograder.pipeline import expect
from autograder.pipeline.score import Fail

SIDE = 28
NUM_INTERIOR = 7
WEIGHTS = torch.arange(1, NUM_INTERIOR + 1, dtype=torch.float32) / (NUM_INTERIOR + 1)   # k / 8, k = 1..7


def bce_sum(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over pixels and images (logs clamped at -100)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum")


def kl_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latents and images."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)


def negative_elbo(x, x_hat, mu, logvar) -> float:
    """Per-image negative ELBO (BCE sum + KL sum) / N."""
    return float((bce_sum(x_hat, x) + kl_sum(mu, logvar)) / x.shape[0])


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1] (uint8 images are divided by 255)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def evaluate_nelbo(box, images, latent_dim: int, seed: int, label: str, batch: int = 1000,
                   timeout: float = 600.0) -> float:
    """Per-image negative ELBO of the student's model on ``images`` (uint8 (N, 28, 28)), computed
    by the grader: the model encodes every batch; the grader draws z = mu + sigma * eps with its
    own noise and asks the decoder for the reconstructions, so a reconstruction can depend on its
    image only through the code."""
    n = images.shape[0]
    mus, logvars = [], []
    for start in range(0, n, batch):
        x = as_float(images[start:start + batch])
        mu, logvar = box.call("encode", x, what=f"the {label}'s encoder on {x.shape[0]} test images",
                              seed=seed, timeout=timeout)
        size = (x.shape[0], latent_dim)
        mus.append(expect.values(mu, f"mu from the {label}'s encoder", size))
        logvars.append(expect.values(logvar, f"logvar from the {label}'s encoder", size))
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    if float(logvar.max()) > 30:
        raise Fail(f"The {label}'s logvar reaches {float(logvar.max()):.1f}; variances that large mean "
                   "the encoder is not learning (check the logvar head and the KL term).")
    noise = torch.Generator().manual_seed(seed)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=noise)
    total = 0.0
    for start in range(0, n, batch):
        code = z[start:start + batch]
        x_hat = box.call("decode", code, what=f"the {label}'s decoder on {code.shape[0]} codes",
                         seed=seed, timeout=timeout)
        x_hat = expect.values(x_hat, f"the {label}'s decoder output", (code.shape[0], SIDE, SIDE), 0.0, 1.0)
        total += float(bce_sum(x_hat, as_float(images[start:start + batch])))
    return (total + float(kl_sum(mu, logvar))) / n


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
