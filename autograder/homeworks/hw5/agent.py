"""Homework 5's agent: runs INSIDE the student's sandboxed process and calls the student's ``vae.py``.

Every function takes tensors from the grader, calls the student's code and returns raw tensors,
numbers, strings, lists or dicts. Nothing here decides a score: the grader clusters the codes and
computes every score itself. The agent holds no answers, so it may be shipped to students with the
public checks.
"""
from __future__ import annotations

import math
import time

import torch

from autograder.pipeline.calls import answer, answers, built, evaluating, fit, student, with_gradients

EXPORTS = ("reparametrize", "kld", "vae_loss", "build", "forward", "train", "codes", "train_short")
STATE: dict = {}


def _triple(value, what: str) -> list:
    return answers(value, ("x_hat", "mu", "log_var"), what)


def reparametrize(mu, log_var, weights):
    """z = reparametrize(mu, log_var), and the gradients of sum(weights * z) w.r.t. mu and log_var."""
    z, (grad_mu, grad_log_var) = with_gradients(student("vae").reparametrize, weights, mu, log_var)
    return {"z": answer(z, "reparametrize"), "grad_mu": grad_mu, "grad_log_var": grad_log_var}


def kld(mu, log_var):
    return answer(student("vae").kld(mu, log_var), "kld")


def vae_loss(x_hat, x, mu, log_var, beta=None):
    keywords = {} if beta is None else {"beta": beta}   # None: the student's default beta
    return answer(student("vae").vae_loss(x_hat, x, mu, log_var, **keywords), "vae_loss")


def _describe(model) -> dict:
    def kinds(module):
        if not isinstance(module, torch.nn.Module):
            return []
        return sorted({type(m).__name__ for m in module.modules()})

    parts = {name: getattr(model, name, None) for name in ("encoder", "mu_layer", "log_var_layer", "decoder")}
    return {
        "modules": {name: isinstance(part, torch.nn.Module) for name, part in parts.items()},
        "kinds": {name: kinds(part) for name, part in parts.items()},
        "latent_dim": getattr(model, "latent_dim", None),
        "parameters": int(sum(p.numel() for p in model.parameters())),
    }


def build():
    """Build ``VAE()`` with the student's defaults and describe its parts."""
    model = student("vae").VAE()
    STATE["built"] = model
    return _describe(model)


@torch.no_grad()
def forward(x, which="built"):
    model = evaluating(built(STATE, which))
    return _triple(model(fit(model, x)), "forward")


def train(images, seed, epochs=None):
    """Call the student's ``train_vae(images, seed=seed)`` with their default settings."""
    vae = student("vae")
    start = time.monotonic()
    kwargs = {"seed": seed} if epochs is None else {"seed": seed, "epochs": epochs}
    result = vae.train_vae(images, **kwargs)
    seconds = time.monotonic() - start
    if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(result[0], torch.nn.Module):
        raise TypeError(f"train_vae must return a tuple (model, losses), got {type(result).__name__}")
    model, losses = result
    model = model.cpu().eval()
    STATE["trained"] = model
    try:
        losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        losses = []
    return {"seconds": seconds, "losses": torch.tensor([v if math.isfinite(v) else float("nan") for v in losses],
                                                       dtype=torch.float64),
            "describe": _describe(model)}


def codes(images, which="trained", batch=256):
    """``encode(model, images)`` and, for comparison, the posterior means of ``model(images)`` in eval mode."""
    vae = student("vae")
    model = built(STATE, which)
    encoded = vae.encode(model, images)
    if not isinstance(encoded, torch.Tensor):
        raise TypeError(f"encode returned {type(encoded).__name__}, expected a torch tensor")
    model.eval()
    with torch.no_grad():
        mus = [_triple(model(fit(model, images[i:i + batch])), "forward")[1] for i in range(0, images.shape[0], batch)]
    return {"codes": encoded.detach().cpu(), "mu": torch.cat(mus)}


def train_short(seed: int, count: int = 64):
    """Public check: one epoch of ``train_vae`` on ``count`` training glyphs, then ``encode``."""
    from data import signs

    images = signs.tensors("train")[:count]
    record = train(images, seed, epochs=1)
    answer = codes(images)
    return {"losses": record["losses"], "codes": answer["codes"], "mu": answer["mu"]}
