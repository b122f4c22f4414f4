"""The grader's own measurements for homework 1, computed in the grader's process (in float64)
from the raw tensors a student's code returns. Nothing here calls student code directly, except
``reconstruction_error``, which asks the student's encoder and decoder for raw outputs through
the sandbox."""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect
from autograder.pipeline.score import Fail
from autograder.pipeline.vae import as_float

IMAGE = (1, 28, 28)


def per_image(values: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension but the first."""
    return values.flatten(start_dim=1).sum(dim=1)


def pixels(x: torch.Tensor) -> int:
    return x.flatten(start_dim=1).shape[1]


def squared_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """||x - x_hat||^2 of each image, shape (N,)."""
    return per_image((x.double() - x_hat.double()).pow(2))


def gaussian_constant(x: torch.Tensor, sigma: float) -> float:
    """(D / 2) log(2 pi sigma^2): the Gaussian NLL of an image that equals its mean."""
    return 0.5 * pixels(x) * math.log(2 * math.pi * sigma ** 2)


def gaussian_nll(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> torch.Tensor:
    """The closed form ||x - mean||^2 / (2 sigma^2) + (D / 2) log(2 pi sigma^2), shape (N,)."""
    return squared_error(x, mean) / (2 * sigma ** 2) + gaussian_constant(x, sigma)


def gaussian_nll_distribution(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> torch.Tensor:
    """The same NLL from ``torch.distributions.Normal`` (an independent check of the closed form)."""
    normal = torch.distributions.Normal(mean.double(), torch.tensor(float(sigma), dtype=torch.float64))
    return -per_image(normal.log_prob(x.double()))


def bernoulli_nll(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The closed form -sum_d [x_d log p_d + (1 - x_d) log(1 - p_d)], with 0 log 0 = 0, shape (N,)."""
    x, p = x.double(), p.double()
    return -per_image(torch.xlogy(x, p) + torch.xlogy(1 - x, 1 - p))


def bernoulli_nll_distribution(x: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The same NLL from ``torch.distributions.Bernoulli`` (for binary x)."""
    bernoulli = torch.distributions.Bernoulli(probs=p.double(), validate_args=False)
    return -per_image(bernoulli.log_prob(x.double()))


def reconstruction_error(box, images: torch.Tensor, latent_size: int, seed: int, label: str,
                         batch: int = 1000, timeout: float = 600.0, keep: int = 0):
    """Mean over ``images`` of ||x - decoder(encoder(x))||^2 (summed over the 784 pixels),
    computed by the grader; with it, the codes of every image (N, latent_size) and the
    reconstructions of the first ``keep`` images, as the student's model gave them (for pictures).

    The student's encoder gives the codes of every batch; the grader then hands those codes to the
    student's decoder itself, so a reconstruction can only depend on its image through a code of
    ``latent_size`` numbers.
    """
    total, codes, kept = 0.0, [], []
    for start in range(0, images.shape[0], batch):
        x = as_float(images[start:start + batch])
        z = box.call("encode", x, what=f"the {label}'s encoder on {x.shape[0]} test images", seed=seed,
                     timeout=timeout)
        z = expect.values(z, f"the {label}'s codes model.encoder(x)", (x.shape[0], None))
        if z.shape[1] != latent_size:
            raise Fail(f"The {label}'s encoder gives codes of {z.shape[1]} numbers, but the model was built "
                       f"with latent_size={latent_size}: build the last Linear layer of the encoder with "
                       f"latent_size outputs.")
        x_hat = box.call("decode", z, what=f"the {label}'s decoder on {z.shape[0]} codes", seed=seed,
                         timeout=timeout)
        x_hat = expect.values(x_hat, f"the {label}'s decoder output", (x.shape[0], *IMAGE), 0.0, 1.0)
        total += float(squared_error(x, x_hat).sum())
        codes.append(z)
        kept.append(x_hat[:max(keep - start, 0)])
    return total / images.shape[0], torch.cat(codes), torch.cat(kept)


def copied_fraction(samples: torch.Tensor, codes: torch.Tensor, tolerance: float = 1e-5) -> float:
    """Fraction of ``samples`` that coincide with one of ``codes`` (scaled per dimension)."""
    scale = codes.double().std(dim=0).clamp(min=1e-12)
    distance = torch.cdist(samples.double() / scale, codes.double() / scale)
    return float((distance.min(dim=1).values < tolerance).double().mean())
