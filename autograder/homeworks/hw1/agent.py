"""Homework 1's agent: runs INSIDE the student's sandboxed process and calls the student's code.

Every function here takes tensors from the grader, calls the student's ``autoencoder.py``,
``likelihoods.py`` or ``assignment.py``, and returns raw tensors. Nothing here decides a score:
the grader recomputes every error and statistic itself from these raw outputs. The agent holds no
answers, so it may be shipped to students with the public checks.
"""
from __future__ import annotations

import torch

from autograder.pipeline.calls import answer, built, device, evaluating, fit, student, timed_epochs

EXPORTS = ("gaussian_nll", "bernoulli_nll", "bernoulli_gradient", "build", "forward", "encode", "decode",
           "encode_dataset", "sample_uniform", "sample_gaussian", "train", "train_short")
INPUT_SIZE = 28 * 28
STATE: dict = {}


def gaussian_nll(x, mean, sigma):
    return answer(student("likelihoods").gaussian_nll(x, mean, sigma), "gaussian_nll")


def bernoulli_nll(x, p):
    return answer(student("likelihoods").bernoulli_nll(x, p), "bernoulli_nll")


def bernoulli_gradient(x, p):
    """bernoulli_nll(x, p) and the gradient of its sum with respect to p (None when it has none)."""
    p = p.clone().requires_grad_(True)
    value = student("likelihoods").bernoulli_nll(x, p)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"bernoulli_nll returned {type(value).__name__}, expected a torch tensor")
    grad = None
    if value.requires_grad:
        (grad,) = torch.autograd.grad(value.sum(), [p], allow_unused=True)
    return {"value": value.detach(), "grad": None if grad is None else grad.detach()}


def build(latent_size: int):
    """Build ``Autoencoder(784, latent_size)``. The grader calls its ``encoder`` and ``decoder``
    and reads no other attribute."""
    model = student("autoencoder").Autoencoder(INPUT_SIZE, latent_size=latent_size).to(device())
    STATE["model"] = model
    return {"parameters": int(sum(p.numel() for p in model.parameters()))}


@torch.no_grad()
def forward(x):
    model = evaluating(built(STATE))
    return answer(model(fit(model, x)), "the autoencoder's forward")


@torch.no_grad()
def encode(x):
    model = evaluating(built(STATE))
    return answer(model.encoder(fit(model, x)), "the encoder")


@torch.no_grad()
def decode(z):
    model = evaluating(built(STATE))
    return answer(model.decoder(fit(model, z)), "the decoder")


def encode_dataset(images, batch_size: int):
    """The student's ``encode_dataset`` on a loader over ``images``, and the encoder applied to
    all of them at once (for the grader to compare)."""
    model = built(STATE)
    dataset = torch.utils.data.TensorDataset(images, torch.zeros(images.shape[0], dtype=torch.long))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    codes = student("autoencoder").encode_dataset(model, loader)
    return {"codes": answer(codes, "encode_dataset"), "direct": encode(images)}


def sample_uniform(codes, num_samples: int):
    return answer(student("autoencoder").sample_uniform(codes, num_samples), "sample_uniform")


def sample_gaussian(codes, num_samples: int):
    return answer(student("autoencoder").sample_gaussian(codes, num_samples), "sample_gaussian")


def _build_for_training(likelihood: str, latent_size: int):
    assignment = student("assignment")
    args = assignment.parseArguments(["--likelihood", likelihood])
    args.latent_size, args.input_size = latent_size, INPUT_SIZE
    model = student("autoencoder").Autoencoder(INPUT_SIZE, latent_size=latent_size).to(device())
    STATE["model"] = model
    return assignment, args, model


def train(likelihood: str, epochs: int, seed: int, latent_size: int, batch_size: int = 128):
    """Build an autoencoder and call the student's ``train_autoencoder`` once per epoch on the
    grader's seeded loader over the MNIST training set."""
    from data import mnist

    assignment, args, model = _build_for_training(likelihood, latent_size)
    loader = mnist.loader("train", batch_size=batch_size, shuffle=True, seed=seed)
    return {**timed_epochs(lambda: assignment.train_autoencoder(model, loader, args), epochs), "batches": len(loader)}


def train_short(likelihood: str, seed: int, latent_size: int = 16):
    """Public check: two small batches through ``train_autoencoder``; did the parameters move?"""
    from data import mnist

    assignment, args, model = _build_for_training(likelihood, latent_size)
    before = [p.detach().clone() for p in model.parameters()]
    loader = mnist.loader("train", batch_size=32, shuffle=True, seed=seed, limit=64)
    value = assignment.train_autoencoder(model, loader, args)
    moved = sum(float((p.detach() - b).abs().sum()) for p, b in zip(model.parameters(), before))
    return {"reported": answer(value, "train_autoencoder"), "batches": len(loader), "moved": moved}
