"""Known wrong versions of the VAE loss, for feedback that names the mistake.

A loss test computes the right number itself; when the student's number differs, it passes the
``(hint, number)`` pairs below to :func:`autograder.pipeline.expect.diagnose`, which returns the
hint of the wrong formula the student's number matches. Every number here is a per-image average
over a batch of N images (the convention of homeworks 3, 4 and 5).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def kl_variants(mu: torch.Tensor, logvar: torch.Tensor) -> dict:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latents and images, and its common wrong forms."""
    mu, logvar = mu.double(), logvar.double()
    return {
        "right": float(0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)),
        "squared_variance": float(0.5 * torch.sum(mu.pow(2) + logvar.exp().pow(2) - 1 - logvar)),
        "twice_logvar": float(-0.5 * torch.sum(1 + 2 * logvar - mu.pow(2) - logvar.exp())),
        "std_as_variance": float(0.5 * torch.sum(mu.pow(2) + (0.5 * logvar).exp() - 1 - logvar)),
    }


def kl_mistakes(mu: torch.Tensor, logvar: torch.Tensor, name: str = "logvar", scale: float = 1.0) -> list:
    """``(hint, number)`` pairs for a per-image KL term (times ``scale``, for a beta) computed wrongly."""
    n = mu.shape[0]
    kl = kl_variants(mu, logvar)
    return [
        (f"The KL term uses exp({name}) ** 2 (that is sigma^4): the variance is exp({name}) itself, "
         f"KL = -1/2 * sum(1 + {name} - mu^2 - exp({name})).", scale * kl["squared_variance"] / n),
        (f"The KL term uses 2 * {name}: {name} is already log(sigma^2), so it enters as 1 + {name}, "
         f"not 1 + 2 * {name}.", scale * kl["twice_logvar"] / n),
        (f"The KL term uses exp({name} / 2), the standard deviation, where the variance exp({name}) belongs.",
         scale * kl["std_as_variance"] / n),
        ("The KL term has the wrong sign: KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar)) is never negative.",
         -scale * kl["right"] / n),
        ("The KL term is twice too large: keep the factor 1/2.", 2 * scale * kl["right"] / n),
    ]


def loss_mistakes(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                  name: str = "logvar", beta: float = 1.0) -> list:
    """``(hint, number)`` pairs for a per-image negative ELBO (BCE summed over pixels + beta * KL,
    averaged over the N images) computed wrongly."""
    n = x.shape[0]
    bce = float(F.binary_cross_entropy(x_hat.double().clamp(0, 1), x.double(), reduction="sum"))
    mse = float(F.mse_loss(x_hat.double(), x.double(), reduction="sum"))
    kl = beta * kl_variants(mu, logvar)["right"]
    right = (bce + kl) / n
    wrong_kl = [(hint, bce / n + number) for hint, number in kl_mistakes(mu, logvar, name, beta)]
    return [
        ("It looks summed over the batch: divide the whole loss by the number of images N.", right * n),
        ("The KL term is summed over the batch but not divided by N: divide both terms by N.", bce / n + kl),
        ("It matches the BCE alone: add the KL term.", bce / n),
        ("It uses the squared error (MSE) where the Bernoulli likelihood needs the binary cross-entropy: "
         "F.binary_cross_entropy(x_hat, x, reduction='sum').", (mse + kl) / n),
        ("It uses the mean squared error where the Bernoulli likelihood needs the binary cross-entropy summed "
         "over pixels: F.binary_cross_entropy(x_hat, x, reduction='sum').", mse / x.numel() + kl / n),
        ("The BCE looks averaged over pixels: sum it over every pixel (reduction='sum') before dividing by N.",
         bce / x.numel() + kl / n),
        ("x and x_hat look swapped: the BCE takes the reconstruction first, binary_cross_entropy(x_hat, x).",
         (float(F.binary_cross_entropy(x.double().clamp(0, 1), x_hat.double(), reduction="sum")) + kl) / n),
    ] + wrong_kl
