"""Homework 2's public checks: ``python -m autograder check hw2 [FOLDER]``.

Quick sanity tests that run in seconds. They are not the graded tests: they only tell you that
your functions have the right shapes and behave sensibly on tiny inputs.
"""
from __future__ import annotations

import torch

from autograder.pipeline import expect
from autograder.pipeline.checks import ask
from autograder.pipeline.score import Fail, graded


@graded("select_subset picks 'grinning face' but not 'red heart'", points=1)
def subset(ctx):
    got = ask(ctx, "select_subset", ["grinning face", "red heart", "Face with Tongue"], "face",
              what="select_subset(['grinning face', 'red heart', 'Face with Tongue'], 'face')")
    expect.tensor(got, "select_subset", (None,), finite=True)
    if got.tolist() != [0, 2]:
        raise Fail(f"Expected the indices [0, 2], got {got.tolist()}.")


@graded("split_indices(10, seed=0) gives splits of sizes 6, 2 and 2", points=1)
def split(ctx):
    parts = ask(ctx, "split", 10, 0, (0.6, 0.2, 0.2), what="split_indices(10, 0)")
    sizes = [p.numel() for p in parts]
    if sizes != [6, 2, 2] or sorted(torch.cat(parts).tolist()) != list(range(10)):
        raise Fail(f"Expected three disjoint splits of sizes [6, 2, 2] covering 0..9, got sizes {sizes}.")


@graded("augment(2 images, 6, seed) returns (6, 3, 64, 64) images in [0, 1] and sources [0, 1, 0, 1, 0, 1]", points=1)
def augment(ctx):
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    out, source = ask(ctx, "augment", images, 6, 0, what="augment(2 images, 6, 0)")
    expect.tensor(out, "augmented images", (6, 3, 64, 64), 0.0, 1.0)
    if source.tolist() != [0, 1, 0, 1, 0, 1]:
        raise Fail(f"Expected source [0, 1, 0, 1, 0, 1], got {source.tolist()}.")


@graded("ConvAutoencoder: (2, 3, 64, 64) in, (2, 3, 64, 64) out, codes (2, Z)", points=1)
def autoencoder(ctx):
    info = ask(ctx, "build", "ae", what="building the ConvAutoencoder")
    x = torch.rand(2, 3, 64, 64)
    (x_hat,) = ask(ctx, "forward", x, what="the ConvAutoencoder's forward")
    expect.tensor(x_hat, "x_hat", (2, 3, 64, 64), 0.0, 1.0)
    expect.tensor(ask(ctx, "encode", x, what="encode"), "codes", (2, info["latent_size"]))


@graded("AuxAutoencoder: forward returns x_hat (2, 3, 64, 64) and logits (2, 3)", points=1)
def aux_autoencoder(ctx):
    ask(ctx, "build", "aux", 3, what="building the AuxAutoencoder")
    x_hat, logits = ask(ctx, "forward", torch.rand(2, 3, 64, 64), what="the AuxAutoencoder's forward")
    expect.tensor(x_hat, "x_hat", (2, 3, 64, 64), 0.0, 1.0)
    expect.tensor(logits, "logits", (2, 3))


@graded("reconstruction_loss(x, x) is 0 and aux_loss with lam = 0 equals it", points=1)
def losses(ctx):
    x = torch.rand(2, 3, 64, 64)
    zero = expect.scalar(ask(ctx, "recon_loss", x, x, what="reconstruction_loss(x, x)"),
                         "reconstruction_loss")
    if abs(zero) > 1e-7:
        raise Fail(f"reconstruction_loss(x, x) should be 0, got {zero}.")
    half = expect.scalar(ask(ctx, "aux_loss", torch.full_like(x, 0.5), torch.zeros_like(x), torch.zeros(2, 3),
                             torch.tensor([0, 1]), 0.0, what="aux_loss with lam = 0"),
                         "aux_loss")
    if abs(half - 0.25) > 1e-5:
        raise Fail(f"aux_loss(0.5 everywhere, zeros, ..., lam=0) should be the MSE 0.25, got {half}.")


@graded("train_epoch: two small batches return a dict with a finite 'mse' and move the weights", points=1)
def train_step(ctx):
    answer = ask(ctx, "train_short", "ae", 0, what="train_epoch on two batches of 8 images")
    if not answer["moved"] > 0:
        raise Fail("The weights did not change: call loss.backward() and optimizer.step() for every batch.")
    if answer["mse"] is None or not 0 < answer["mse"] < 1:
        raise Fail(f"train_epoch's 'mse' should be the average batch MSE (between 0 and 1), got {answer['mse']}.")


CHECKS = [subset, split, augment, autoencoder, aux_autoencoder, losses, train_step]
