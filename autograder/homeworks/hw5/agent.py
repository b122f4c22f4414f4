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

from autograder.pipeline.calls import answer, answers, evaluating, fit

EXPORTS = ("reparametrize", "kld", "vae_loss", "build", "forward", "train", "codes", "train_short")
STATE: dict = {}


def _student():
    import vae

    return vae


def _tensor(value, what: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} returned {type(value).__name__}, expected a torch tensor")
    return answer(value, what)


def _triple(value, what: str) -> list:
    return answers(value, ("x_hat", "mu", "log_var"), what)


def reparametrize(mu, log_var, weights):
    """z = reparametrize(mu, log_var), and the gradients of sum(weights * z) w.r.t. mu and log_var."""
    vae = _student()
    mu, log_var = mu.clone().requires_grad_(True), log_var.clone().requires_grad_(True)
    z = vae.reparametrize(mu, log_var)
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"reparametrize returned {type(z).__name__}, expected a tensor")
    grads = [None, None]
    if z.requires_grad and z.numel() == weights.numel():
        grads = list(torch.autograd.grad((z * weights.to(z).reshape(z.shape)).sum(), [mu, log_var],
                                         allow_unused=True))
    return {"z": answer(z, "reparametrize"), "grad_mu": grads[0], "grad_log_var": grads[1]}


def kld(mu, log_var):
    return _tensor(_student().kld(mu, log_var), "kld")


def vae_loss(x_hat, x, mu, log_var, beta=None):
    vae = _student()
    if beta is None:
        return _tensor(vae.vae_loss(x_hat, x, mu, log_var), "vae_loss")
    return _tensor(vae.vae_loss(x_hat, x, mu, log_var, beta=beta), "vae_loss")


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
    model = _student().VAE()
    STATE["built"] = model
    return _describe(model)


def _model(which: str):
    if which not in STATE:
        raise RuntimeError(f"there is no {which} model (building or training it failed earlier)")
    return STATE[which]


@torch.no_grad()
def forward(x, which="built"):
    model = evaluating(_model(which))
    return _triple(model(fit(model, x)), "forward")


def train(images, seed, epochs=None):
    """Call the student's ``train_vae(images, seed=seed)`` with their default settings."""
    vae = _student()
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
    vae = _student()
    model = _model(which)
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
