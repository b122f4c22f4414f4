"""Homework 5's public checks: ``python -m autograder check hw5 [FOLDER]`` (FOLDER holds vae.py).

Quick sanity tests that run in seconds. They are not the graded tests: they tell you that your
functions have the right shapes and behave sensibly on tiny inputs. To see your score, run
``python answer/vae.py`` and then ``python check.py``.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect
from autograder.pipeline.checks import ask, reparametrization
from autograder.pipeline.score import Fail, graded

from .scoring import MAX_CODE_DIM


@graded("reparametrize returns z shaped like mu, with gradients to mu and log_var", points=1)
def reparametrize_shape(ctx):
    reparametrization(ctx, logvar="log_var")


@graded("kld is 0 for mu = 0, log_var = 0 and positive otherwise, one value per image", points=1)
def kld_zero(ctx):
    zero = expect.tensor(ask(ctx, "kld", torch.zeros(5, 3), torch.zeros(5, 3),
                             what="kld(zeros(5, 3), zeros(5, 3))"), "kld", (5,))
    if float(zero.abs().max()) > 1e-6:
        raise Fail(f"kld(0, 0) should be 0 for every image, got {zero.tolist()}.")
    moved = expect.tensor(ask(ctx, "kld", torch.ones(2, 3), torch.zeros(2, 3),
                              what="kld(ones(2, 3), zeros(2, 3))"), "kld", (2,))
    if not torch.allclose(moved, torch.full((2,), 1.5), atol=1e-4):
        raise Fail(f"kld(mu = 1, log_var = 0) over 3 latents should be 1.5 per image, got {moved.tolist()}.")


@graded("vae_loss with a zero KL term is the per-image BCE summed over pixels", points=1)
def loss_bce_only(ctx):
    x = torch.zeros(4, 1, 64, 64)
    value = expect.scalar(ask(ctx, "vae_loss", torch.full_like(x, 0.5), x, torch.zeros(4, 3), torch.zeros(4, 3),
                              None, what="vae_loss on 4 images"), "vae_loss")
    if not math.isclose(value, 4096 * math.log(2), rel_tol=1e-3):
        raise Fail(f"With mu = 0 and log_var = 0 the KL term is 0, so the loss per image should be 4096 * log 2 = "
                   f"{4096 * math.log(2):.1f}; got {value:.2f}.")


@graded("VAE() forward: shapes (2, 1, 64, 64), (2, Z), (2, Z) with Z <= 32", points=1)
def forward_shapes(ctx):
    ask(ctx, "build", what="building VAE()")
    x_hat, mu, log_var = ask(ctx, "forward", torch.rand(2, 1, 64, 64), what="VAE()'s forward on 2 images")
    expect.tensor(x_hat, "x_hat", (2, 1, 64, 64), 0.0, 1.0)
    z = expect.tensor(mu, "mu", (2, None)).shape[1]
    expect.tensor(log_var, "log_var", (2, z))
    if z > MAX_CODE_DIM:
        raise Fail(f"Your codes have {z} numbers; the grader accepts at most {MAX_CODE_DIM}.")


@graded("train_vae runs one epoch on 64 glyphs and encode returns the posterior means", points=1)
def short_training(ctx):
    answer = ask(ctx, "train_short", 0 * 3, what="train_vae(64 glyphs, epochs=1), then encode")
    losses = answer["losses"]
    if losses.numel() != 1 or not bool(torch.isfinite(losses).all()):
        raise Fail(f"train_vae(..., epochs=1) should return (model, [one finite loss]); got losses {losses.tolist()}.")
    codes = expect.tensor(answer["codes"], "encode(model, images)", (64, None))
    if codes.shape != answer["mu"].shape or not torch.allclose(codes, answer["mu"], rtol=1e-4, atol=1e-4):
        raise Fail("encode(model, images) should return the posterior means mu of model(images) in eval mode.")


CHECKS = [reparametrize_shape, kld_zero, loss_bce_only, forward_shapes, short_training]
