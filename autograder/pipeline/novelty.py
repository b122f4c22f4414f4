"""How new a model's generated images are, measured against its training images.

A generative model that stores training images and replays them, or whose samples do not change
with the code it is given, can still score well on likelihood or on a classifier's reading. These
measurements, computed in the grader's process from images a student's process returned, show it:
the distance of each sample to its nearest training image (after a light blur, so that a copy with
a little noise still counts as a copy), and the spread of the samples drawn for one group (one
digit, one class). A homework sets the thresholds, calibrated on its own data.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .vae import as_float


def smooth(images: torch.Tensor) -> torch.Tensor:
    """Two passes of a 3x3 box blur, (N, C, H, W) -> (N, C, H, W): small pixel noise, blur or
    contrast changes of a copied image then still land next to the original."""
    for _ in range(2):
        images = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return images


def nearest_distances(images: torch.Tensor, reference: torch.Tensor, chunk: int = 2000) -> torch.Tensor:
    """For each of ``images`` (N, C, H, W) in [0, 1], the root-mean-square pixel distance to its
    nearest neighbour among ``reference`` (M, C, H, W), both smoothed (see :func:`smooth`);
    shape (N,). ``reference`` may be uint8 (0-255) and is converted a chunk at a time, so a whole
    training set never exists as floats all at once."""
    a = smooth(images.float()).reshape(images.shape[0], -1).double()
    best = torch.full((a.shape[0],), float("inf"), dtype=torch.float64)
    for start in range(0, reference.shape[0], chunk):
        b = smooth(as_float(reference[start:start + chunk])).reshape(-1, a.shape[1]).double()
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
