"""The VAE quantities the grader recomputes (homeworks 3, 4 and 5), in one place and with one
argument order everywhere: ``(x_hat, x, mu, logvar)``, reconstruction first, as in
``torch.nn.functional.binary_cross_entropy(input, target)`` and in the handouts' loss functions.

Everything here runs in the grader's process on tensors a student's process returned; only
:func:`evaluate_nelbo` talks to a student process, and only through the agent's ``encode`` and
``decode`` calls.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import expect
from .score import Fail

LOGVAR_MAX = 30.0   # a trained encoder's logvar above this means the encoder is not learning


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1] (uint8 images are divided by 255)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def bce_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over the pixels of each image, (N, ...) -> (N,)
    (logs clamped at -100, as PyTorch does)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="none").flatten(1).sum(dim=1)


def kl_per_image(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the latents of each image, (N, Z) -> (N,)."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar, dim=1)


def bce_sum(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The Bernoulli negative log-likelihood summed over pixels and images (a 0-d tensor)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum")


def kl_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The KL term summed over latents and images (a 0-d tensor)."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)


def negative_elbo(x_hat, x, mu, logvar, beta: float = 1.0) -> float:
    """The negative ELBO per image: (BCE summed + beta * KL summed) / N."""
    return float((bce_sum(x_hat, x) + beta * kl_sum(mu, logvar)) / x.shape[0])


def evaluate_nelbo(box, images: torch.Tensor, *, latent_size: int, image_shape: tuple, seed: int,
                   label: str, conditions: torch.Tensor | None = None, batch: int = 1000,
                   timeout: float = 600.0) -> float:
    """The negative ELBO per image of a student's trained model on ``images`` (uint8, or floats in
    [0, 1]), computed by the grader.

    The model encodes every batch first (``encode(x)``, or ``encode(x, c)`` with ``conditions``,
    one row per image); then the grader draws the codes z = mu + sigma * eps with its own noise and
    asks the decoder for each batch's reconstructions (of ``(len, *image_shape)``; the decoder gets
    ``torch.cat([z, c], 1)`` with conditions), so a reconstruction can depend on its image only
    through the latent code.
    """
    n = images.shape[0]
    mus, logvars = [], []
    for start in range(0, n, batch):
        x = as_float(images[start:start + batch])
        args = (x,) if conditions is None else (x, conditions[start:start + batch])
        mu, logvar = box.call("encode", *args, what=f"the {label}'s encoder on {x.shape[0]} images",
                              seed=seed, timeout=timeout)
        size = (x.shape[0], latent_size)
        mus.append(expect.values(mu, f"mu from the {label}'s encoder", size))
        logvars.append(expect.values(logvar, f"logvar from the {label}'s encoder", size))
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    if float(logvar.max()) > LOGVAR_MAX:
        raise Fail(f"The {label}'s logvar reaches {float(logvar.max()):.1f}; variances that large mean "
                   "the encoder is not learning (check the logvar layer and the KL term).")
    noise = torch.Generator().manual_seed(seed)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=noise)
    total = 0.0
    for start in range(0, n, batch):
        code = z[start:start + batch]
        if conditions is not None:
            code = torch.cat([code, conditions[start:start + batch]], dim=1)
        x_hat = box.call("decode", code, what=f"the {label}'s decoder on {code.shape[0]} codes",
                         seed=seed, timeout=timeout)
        x_hat = expect.values(x_hat, f"the {label}'s decoder output", (code.shape[0], *image_shape), 0.0, 1.0)
        total += float(bce_sum(x_hat, as_float(images[start:start + batch])))
    return (total + float(kl_sum(mu, logvar))) / n
