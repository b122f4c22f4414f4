"""Train an MNIST digit classifier of the course kit and write its weights and record.

    python -m autograder.models.train_mnist_classifier [--variant grader|released] [--epochs N] [--seed S]

Two variants, made by this same script: ``grader`` (the default) is the grader's private
classifier (``autograder/models/mnist_classifier.pt``, seed 0); ``released`` is the narrower one
students get for their own checks (``autograder/homeworks/hw4/check_classifier.pt``, seed 1).

Fully seeded and deterministic on CPU with two threads: the same seed, epochs, torch version and
kind of CPU give the same weights (another CPU may differ in the last bits, not in accuracy).
Trains on the 60k training images with random shifts of up to +-2 pixels and, for half of the
images, soft strokes (a Gaussian blur and a lower, uneven contrast), because the images it judges
come from VAE decoders, whose digits are legible but grey and blurry. Evaluates on the 10k test
images, as they are and softened, then writes the variant's weights (the state dict) and record
(its SHA-256, test accuracy, architecture, seed, epochs, time, torch version and command).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import time

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from autograder.homeworks.hw4 import check_classifier
from autograder.homeworks.hw4.check_classifier import MnistClassifier, predict
from autograder.models import mnist_classifier
from data import mnist

THREADS = 2
BATCH_SIZE = 128
MAX_LR = 3e-3
MAX_SHIFT = 2
# Where each variant goes, its network and its default seed and epochs.
VARIANTS = {
    "grader": dict(weights=mnist_classifier.WEIGHTS, record=mnist_classifier.RECORD,
                   architecture={}, seed=0, epochs=6),
    "released": dict(weights=check_classifier.WEIGHTS, record=check_classifier.RECORD,
                     architecture={"channels": [16, 32, 64], "hidden": 64}, seed=1, epochs=1),
}


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch, fix the thread count and force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)


def as_tensors(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST ``split`` as float32 images (N, 1, 28, 28) in [0, 1] and int64 labels (N,)."""
    images, labels = mnist.load(split)
    x = torch.from_numpy(np.array(images, dtype=np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(np.array(labels, dtype=np.int64))


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image of x (N, 1, H, W) by its own random whole-pixel offset in
    [-max_shift, max_shift] along each axis, filling with zeros; returns (N, 1, H, W)."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (max_shift,) * 4)                       # (N, 1, H+2s, W+2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=generator)
    rows = (torch.arange(h) + dy)[:, :, None]                             # (N, H, 1)
    cols = (torch.arange(w) + dx)[:, None, :]                             # (N, 1, W)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols].unsqueeze(1)


def _gaussian_kernel(sigma: float) -> torch.Tensor:
    """A normalised 5x5 Gaussian kernel of width ``sigma``, shaped (1, 1, 5, 5) for conv2d."""
    t = torch.arange(-2, 3, dtype=torch.float32)
    g = torch.exp(-(t ** 2) / (2 * sigma ** 2))
    kernel = g[:, None] * g[None, :]
    return (kernel / kernel.sum()).view(1, 1, 5, 5)


BLURS = (0.7, 1.1)


def soften(x: torch.Tensor, generator: torch.Generator, fraction: float = 0.5) -> torch.Tensor:
    """Give about ``fraction`` of the images x (N, 1, 28, 28) soft strokes: one of two Gaussian
    blurs, a gamma in [0.7, 1.5] and a peak brightness in [0.5, 1]; returns (N, 1, 28, 28)."""
    n = x.shape[0]
    chosen = torch.rand(n, generator=generator) < fraction
    which = torch.randint(0, len(BLURS), (n,), generator=generator)
    blurred = torch.stack([nn.functional.conv2d(x, _gaussian_kernel(s), padding=2) for s in BLURS])  # (B, N, 1, H, W)
    out = blurred[which, torch.arange(n)]
    gamma = 0.7 + 0.8 * torch.rand(n, 1, 1, 1, generator=generator)
    peak = 0.5 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)
    out = out.clamp(0, 1).pow(gamma) * peak
    return torch.where(chosen[:, None, None, None], out, x)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of images x (N, 1, 28, 28) whose predicted digit equals y (N,)."""
    model.eval()
    return (predict(model, x) == y).float().mean().item()


def train(epochs: int, seed: int, architecture: dict | None = None) -> tuple[MnistClassifier, float, float]:
    """Train a fresh classifier (``architecture``: keyword arguments of MnistClassifier); returns
    it (in eval mode), its test accuracy and its accuracy on softened test images."""
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = as_tensors("train")
    x_test, y_test = as_tensors("test")
    model = MnistClassifier(**{k: tuple(v) if isinstance(v, list) else v for k, v in (architecture or {}).items()})
    steps_per_epoch = -(-len(x_train) // BATCH_SIZE)
    optimizer = torch.optim.AdamW(model.parameters(), lr=MAX_LR, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=MAX_LR, epochs=epochs, steps_per_epoch=steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch}/{epochs}", leave=False, disable=None)
        for step in bar:
            index = order[step * BATCH_SIZE:(step + 1) * BATCH_SIZE]
            x = soften(random_shift(x_train[index], MAX_SHIFT, generator), generator)
            loss = loss_fn(model(x), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if step % 50 == 0:
                bar.set_postfix(loss=f"{loss.item():.4f}")
        test_acc = accuracy(model, x_test, y_test)
        print(f"epoch {epoch}/{epochs}: last loss {loss.item():.4f}, test accuracy {test_acc:.4f}")
    soft_acc = accuracy(model, soften(x_test, torch.Generator().manual_seed(seed + 1), fraction=1.0), y_test)
    print(f"test accuracy on softened test images: {soft_acc:.4f}")
    return model, test_acc, soft_acc


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="grader",
                        help="grader: the grader's private classifier; released: the one students get")
    parser.add_argument("--epochs", type=int, help="default: 6 (grader), 1 (released)")
    parser.add_argument("--seed", type=int, help="default: 0 (grader), 1 (released)")
    args = parser.parse_args(argv)
    variant = VARIANTS[args.variant]
    args.epochs = variant["epochs"] if args.epochs is None else args.epochs
    args.seed = variant["seed"] if args.seed is None else args.seed
    WEIGHTS, RECORD = variant["weights"], variant["record"]

    start = time.perf_counter()
    model, test_acc, soft_acc = train(args.epochs, args.seed, variant["architecture"])
    seconds = time.perf_counter() - start

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    payload = buffer.getvalue()
    tmp = WEIGHTS.with_name(WEIGHTS.name + ".part")
    tmp.write_bytes(payload)
    os.replace(tmp, WEIGHTS)
    record = {
        "weights": WEIGHTS.name,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "test_accuracy": round(test_acc, 4),
        "softened_test_accuracy": round(soft_acc, 4),
        **({"architecture": variant["architecture"]} if variant["architecture"] else {}),
        "seed": args.seed,
        "epochs": args.epochs,
        "train_seconds": round(seconds, 1),
        "threads": THREADS,
        "torch_version": torch.__version__,
        "command": "python -m autograder.models.train_mnist_classifier "
                   + (f"--variant {args.variant} " if args.variant != "grader" else "")
                   + f"--epochs {args.epochs} --seed {args.seed}",
    }
    RECORD.write_text(json.dumps(record, indent=2) + "\n")
    print(f"test accuracy {test_acc:.4f} in {seconds:.0f} s; wrote {WEIGHTS} ({len(payload)} bytes) and {RECORD}")


if __name__ == "__main__":
    main()
