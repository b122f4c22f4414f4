"""Homework 3's public checks: ``python -m autograder check hw3 [FOLDER]``.

Quick sanity tests that run in seconds. They are not the graded tests: they only tell you that
your functions have the right shapes and behave sensibly on tiny inputs.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect
from autograder.pipeline.checks import ask, reparametrization
from autograder.pipeline.score import Fail, graded


@graded("sample returns z of the same shape as mu, with gradients", points=1)
def sample_shape(ctx):
    reparametrization(ctx, "sample")


@graded("vae_loss with x_hat = 0.5 everywhere, mu = 0, logvar = 0 is 784 * log 2 per image", points=1)
def loss_value(ctx):
    x = torch.zeros(4, 28, 28)
    x[:, 10:18, 10:18] = 1.0
    value = expect.scalar(ask(ctx, "loss", x, torch.full_like(x, 0.5), torch.zeros(4, 3), torch.zeros(4, 3),
                              what="vae_loss on 4 images"), "vae_loss")
    if not math.isclose(value, 784 * math.log(2), rel_tol=1e-3):
        raise Fail(f"With mu = 0 and logvar = 0 the KL term is 0, and a pixel probability of 0.5 costs log 2 per "
                   f"pixel, so the loss per image should be 784 * log 2 = {784 * math.log(2):.1f}; got {value:.2f}. "
                   f"Sum the BCE over pixels and average over images.")


@graded("Encoder(20) and Decoder(20): shapes (2, 20), (2, 20) and (2, 28, 28)", points=1)
def network_shapes(ctx):
    mu, logvar, x_hat = ask(ctx, "probe", 20, torch.rand(2, 28, 28), torch.randn(2, 20),
                            what="Encoder(20) on (2, 28, 28) and Decoder(20) on (2, 20)")
    expect.tensor(mu, "mu", (2, 20))
    expect.tensor(logvar, "logvar", (2, 20))
    expect.tensor(x_hat, "the decoder output", (2, 28, 28), 0.0, 1.0)


@graded("create_interpolates returns 9 images of shape (28, 28) in [0, 1]", points=1)
def interpolates_shape(ctx):
    ask(ctx, "build", 20, what="building Encoder(20) and Decoder(20)")
    A, B = torch.zeros(28, 28), torch.zeros(28, 28)
    A[5:23, 12:16] = 1.0
    B[12:16, 5:23] = 1.0
    answer = ask(ctx, "interpolate", A, B, what="create_interpolates(A, B, encoder, decoder)")
    expect.tensor(answer["images"], "create_interpolates(A, B, ...)", (9, 28, 28), 0.0, 1.0)


@graded("same_digit_pairs and different_digit_pairs return two (10, 28, 28) tensors", points=1)
def pairs_shape(ctx):
    for kind, name in (("same", "same_digit_pairs"), ("different", "different_digit_pairs")):
        A, B = ask(ctx, "pairs", kind, 0, what=f"{name}(0)")
        expect.tensor(A, f"A from {name}(0)", (10, 28, 28), 0.0, 1.0)
        expect.tensor(B, f"B from {name}(0)", (10, 28, 28), 0.0, 1.0)


@graded("train: one epoch of two small batches returns one finite loss and moves the weights", points=1)
def train_step(ctx):
    answer = ask(ctx, "train_short", 0, what="train(...) for 1 epoch on two batches of 32")
    losses = answer["reported"]
    if losses.numel() != 1 or not math.isfinite(float(losses[0])):
        raise Fail(f"train(..., num_epochs=1) should return a list of one finite number, got {losses.tolist()}.")
    if not answer["moved"] > 0:
        raise Fail("The weights did not change: call loss.backward() and optimizer.step() for every batch.")
    if not 100 < float(losses[0]) < 2000:
        raise Fail(f"train reported {float(losses[0]):.1f} per image on its first batches; an untrained VAE should be "
                   f"around 550. Report the mean of vae_loss over the batches.")


CHECKS = [sample_shape, loss_value, network_shapes, interpolates_shape, pairs_shape, train_step]
