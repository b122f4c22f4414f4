"""Homework 1's public checks: ``python -m autograder check hw1 [FOLDER]``.

Quick sanity tests that run in seconds. They are not the graded tests: they only tell you that
your functions have the right shapes and behave sensibly on tiny inputs.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect
from autograder.pipeline.checks import ask
from autograder.pipeline.score import Fail, graded

D = 784


@graded("gaussian_nll: one value per image; with x = mean and sigma = 1 it is (784/2) log(2 pi)", points=1)
def gaussian_perfect(ctx):
    x = torch.rand(2, 1, 28, 28)
    value = expect.values(ask(ctx, "gaussian_nll", x, x.clone(), 1.0,
                              what="gaussian_nll(x, x, 1.0) on 2 images"), "gaussian_nll(x, x, 1.0)", (2,))
    want = 0.5 * D * math.log(2 * math.pi)
    if not all(math.isclose(v, want, rel_tol=1e-4) for v in value.tolist()):
        raise Fail(f"gaussian_nll(x, x, sigma=1) should be (D/2) log(2 pi) = {want:.2f} for each image (the squared "
                   f"error is 0, the constant remains), got {[round(v, 2) for v in value.tolist()]}.")


@graded("gaussian_nll grows by ||x - mean||^2 / 2 when sigma = 1", points=1)
def gaussian_grows(ctx):
    mean = torch.full((1, 1, 28, 28), 0.5)
    x = mean.clone()
    x[0, 0, 0, :4] = 1.5   # squared error 4 * 1 = 4
    values = [expect.values(ask(ctx, "gaussian_nll", a, mean, 1.0,
                                what="gaussian_nll on 1 image"), "gaussian_nll", (1,)) for a in (x, mean)]
    gap = float(values[0] - values[1])
    if not math.isclose(gap, 2.0, rel_tol=1e-4):
        raise Fail(f"Moving 4 pixels of x by 1 from the mean should add 4 / 2 = 2 to the NLL at sigma = 1; it added "
                   f"{gap:.4f}.")


@graded("bernoulli_nll: one value per image; with p = 0.5 everywhere it is 784 log 2", points=1)
def bernoulli_half(ctx):
    x = (torch.rand(3, 1, 28, 28) > 0.5).float()
    value = expect.values(ask(ctx, "bernoulli_nll", x, torch.full_like(x, 0.5),
                              what="bernoulli_nll(x, 0.5) on 3 images"), "bernoulli_nll(x, 0.5)", (3,))
    want = D * math.log(2)
    if not all(math.isclose(v, want, rel_tol=1e-4) for v in value.tolist()):
        raise Fail(f"bernoulli_nll(x, p = 0.5) should be 784 log 2 = {want:.2f} for each image (summed over pixels, "
                   f"not averaged), got {[round(v, 2) for v in value.tolist()]}.")


@graded("Autoencoder: encoder gives (2, 16) codes, decoder and forward give (2, 1, 28, 28) in [0, 1]", points=1)
def model_shapes(ctx):
    ask(ctx, "build", 16, what="Autoencoder(784, latent_size=16)")
    x = torch.rand(2, 1, 28, 28)
    expect.tensor(ask(ctx, "encode", x, what="model.encoder(x)"), "model.encoder(x)", (2, 16))
    expect.tensor(ask(ctx, "decode", torch.randn(2, 16), what="model.decoder(z)"), "model.decoder(z)",
                  (2, 1, 28, 28), 0.0, 1.0)
    expect.tensor(ask(ctx, "forward", x, what="model(x)"), "model(x)", (2, 1, 28, 28), 0.0, 1.0)


@graded("encode_dataset returns one code per image: (10, 16) for 10 images in batches of 4", points=1)
def encode_shapes(ctx):
    ask(ctx, "build", 16, what="Autoencoder(784, latent_size=16)")
    answer = ask(ctx, "encode_dataset", torch.rand(10, 1, 28, 28), 4,
                 what="encode_dataset on 10 images in batches of 4")
    expect.tensor(answer["codes"], "encode_dataset(model, loader)", (10, 16))


@graded("sample_uniform returns (M, Z) codes within the training codes' bounds", points=1)
def uniform_shapes(ctx):
    codes = torch.tensor([[0.0, -1.0], [2.0, 1.0], [1.0, 0.0]])
    samples = expect.tensor(ask(ctx, "sample_uniform", codes, 50,
                                what="sample_uniform(codes, 50) for 3 codes of size 2"),
                            "sample_uniform(codes, 50)", (50, 2))
    if float(samples[:, 0].min()) < 0 or float(samples[:, 0].max()) > 2 or float(samples[:, 1].abs().max()) > 1:
        raise Fail("For codes spanning [0, 2] x [-1, 1], some samples lie outside that box.")


@graded("sample_gaussian returns (M, Z) finite codes", points=1)
def gaussian_shapes(ctx):
    codes = torch.randn(40, 3) * torch.tensor([1.0, 2.0, 0.5])
    expect.tensor(ask(ctx, "sample_gaussian", codes, 50, what="sample_gaussian(codes, 50) for 40 codes of size 3"),
                  "sample_gaussian(codes, 50)", (50, 3))


@graded("train_autoencoder: two small batches return a finite loss and move the weights", points=1)
def train_step(ctx):
    for likelihood, low, high in (("gaussian", 700, 1000), ("bernoulli", 100, 2000)):
        answer = ask(ctx, "train_short", likelihood, 0,
                     what=f"train_autoencoder with the {likelihood} NLL on two batches of 32 images")
        total = expect.scalar(answer["reported"], "train_autoencoder")
        if not answer["moved"] > 0:
            raise Fail("The weights did not change: call loss.backward() and optimizer.step() for every batch.")
        per_image = total / answer["batches"]
        if not low < per_image < high:
            raise Fail(f"With the {likelihood} NLL, train_autoencoder reported {per_image:.1f} per image on its first "
                       f"batches; an untrained model should be between {low} and {high}. Return the SUM over batches "
                       "of the batch's mean NLL per image.")


CHECKS = [gaussian_perfect, gaussian_grows, bernoulli_half, model_shapes, encode_shapes, uniform_shapes,
          gaussian_shapes, train_step]
