"""The grader's own measurements for homework 4, computed in the grader's process from the raw
tensors a student's model returns. Nothing here calls student code directly."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.pipeline import expect
from autograder.pipeline.score import Fail

NUM_CLASSES = 10
IMAGE = (1, 28, 28)


def bce_sum(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over pixels and images (logs clamped at -100)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum")


def kl_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latents and images."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)


def negative_elbo(x_hat, x, mu, logvar) -> float:
    """Per-image negative ELBO (BCE sum + KL sum) / N."""
    return float((bce_sum(x_hat, x) + kl_sum(mu, logvar)) / x.shape[0])


def one_hot(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels.long(), NUM_CLASSES).float()


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1] (uint8 images are divided by 255)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def evaluate_nelbo(box, images, labels, conditional: bool, latent_size: int, seed: int,
                   label: str, batch: int = 1000, timeout: float = 600.0) -> float:
    """Per-image negative ELBO of the student's model on ``images`` (uint8 (N, 1, 28, 28), or
    floats in [0, 1]), computed by the grader.

    The model encodes every batch first; then the grader draws the codes z = mu + sigma * eps with
    its own noise and asks the decoder for each batch's reconstructions, so the reconstruction can
    only depend on the image through the latent code.
    """
    n = images.shape[0]
    conds = one_hot(labels) if conditional else None
    mus, logvars = [], []
    for start in range(0, n, batch):
        x = as_float(images[start:start + batch])
        c = conds[start:start + batch] if conditional else None
        mu, logvar = box.call("encode", x, c, what=f"the {label}'s forward pass on {x.shape[0]} images",
                              seed=seed, timeout=timeout)
        size = (x.shape[0], latent_size)
        mus.append(expect.values(mu, f"mu from the {label}'s forward()", size))
        logvars.append(expect.values(logvar, f"logvar from the {label}'s forward()", size))
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    if float(logvar.max()) > 30:
        raise Fail(f"The {label}'s logvar reaches {float(logvar.max()):.1f}; variances that large mean "
                   "the encoder is not learning (check the logvar layer and the KL term).")
    noise = torch.Generator().manual_seed(seed)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=noise)
    total = 0.0
    for start in range(0, n, batch):
        code = z[start:start + batch]
        if conditional:
            code = torch.cat([code, conds[start:start + batch]], dim=1)
        x_hat = box.call("decode", code, what=f"the {label}'s decoder on {code.shape[0]} codes",
                         seed=seed, timeout=timeout)
        x_hat = expect.values(x_hat, f"the {label}'s decoder output", (code.shape[0], *IMAGE), 0.0, 1.0)
        total += float(bce_sum(x_hat, as_float(images[start:start + batch])))
    return (total + float(kl_sum(mu, logvar))) / n


def smooth(images: torch.Tensor) -> torch.Tensor:
    """Two passes of a 3x3 box blur, (N, 1, H, W) -> (N, 1, H, W): small pixel noise, blur or
    contrast changes of a copied image then still land next to the original."""
    for _ in range(2):
        images = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return images


def nearest_distances(images: torch.Tensor, reference: torch.Tensor, chunk: int = 5000) -> torch.Tensor:
    """For each of ``images`` (N, 1, 28, 28) in [0, 1], the root-mean-square pixel distance to its
    nearest neighbour among ``reference`` (M, 1, 28, 28), both smoothed (see :func:`smooth`);
    shape (N,). ``reference`` may be uint8 (0-255) and is converted a chunk at a time, so the
    60,000 training images never exist as floats all at once."""
    a = smooth(images.float()).reshape(images.shape[0], -1).double()
    best = torch.full((a.shape[0],), float("inf"), dtype=torch.float64)
    for start in range(0, reference.shape[0], chunk):
        part = reference[start:start + chunk]
        part = part.float() / 255 if part.dtype == torch.uint8 else part.float()
        b = smooth(part).reshape(-1, a.shape[1]).double()
        squared = (a.pow(2).sum(1, keepdim=True) - 2 * a @ b.T + b.pow(2).sum(1)).clamp_min(0)
        best = torch.minimum(best, squared.min(dim=1).values)
    return (best / a.shape[1]).sqrt().float()


def within_group_spread(images: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Mean root-mean-square pixel distance between pairs of images of the same group, per group
    (shape (G,)); 0 means every image of the group is the same."""
    flat = images.reshape(images.shape[0], -1).double()
    spreads = []
    for group in groups.unique(sorted=True):
        members = flat[groups == group]
        distances = torch.cdist(members, members).pow(2) / flat.shape[1]
        count = members.shape[0]
        spreads.append(float(distances.sqrt().sum() / max(count * (count - 1), 1)))
    return torch.tensor(spreads)
