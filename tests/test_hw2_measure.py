"""hw2's grader data: the augmentation works in place, step by step, for speed (fewer fresh pages
on the grading's critical path). These tests hold it to the plain arithmetic of new tensors, to
the last bit, so that the grader's training, test and variation sets never move."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autograder.homeworks.hw2 import measure


def plain_augment(images: torch.Tensor, count: int, seed: int):
    """The documented augmentation, each step a new tensor (how the grader computed it before)."""
    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    source = torch.arange(count) % n
    out = images[source].clone().float()
    extra = count - n
    if extra <= 0:
        return out, source
    x = out[n:]
    flips = torch.rand(extra, generator=g) < 0.5
    x = torch.where(flips.view(-1, 1, 1, 1), x.flip(-1), x)
    theta = measure.rotations_and_shifts(extra, images.shape[-1], g)   # (the draws are not what is tested)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = (1 - F.grid_sample(1 - x, grid, align_corners=False)).clamp(0, 1)
    b, c, s = 1 + (torch.rand(3, extra, 1, 1, 1, generator=g) * 2 - 1) * 0.1
    x = (x * b).clamp(0, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (mean + c * (x - mean)).clamp(0, 1)
    grey = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    x = (grey + s * (x - grey)).clamp(0, 1)
    out[n:] = x
    return out, source


def plain_uint8(images: torch.Tensor) -> torch.Tensor:
    return (images.clamp(0, 1) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("n, count, size, seed", [(10, 35, 64, 0), (7, 7, 64, 3), (5, 3, 16, 4), (23, 410, 32, 111),
                                                  (1, 50, 8, 9)])
def test_the_in_place_augmentation_is_the_plain_arithmetic_to_the_last_bit(n, count, size, seed):
    images = torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed + 100))
    before = images.clone()
    got, got_source = measure.augment(images, count, seed)
    want, want_source = plain_augment(images, count, seed)
    assert torch.equal(got_source, want_source)
    assert got.dtype == want.dtype and torch.equal(got, want)
    assert torch.equal(images, before), "augment changed the images it was given"


def test_rounding_to_uint8_in_place_is_the_plain_rounding():
    x = torch.rand(40, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 1.4 - 0.2   # outside [0, 1] too
    kept = x.clone()
    assert torch.equal(measure.to_uint8(x), plain_uint8(kept))
    assert torch.equal(x, kept), "to_uint8 without in_place changed its input"
    assert torch.equal(measure.to_uint8(x, in_place=True), plain_uint8(kept))


def test_the_graders_emoji_sets_are_the_plain_augmentation_of_its_split():
    base = measure.grader_base(0)
    images, indices = base["images"], base["indices"]
    for offset, key in enumerate(("train", "val", "test"), start=1):
        part = measure.grader_part(base, key, 0)
        want, source = plain_augment(images[indices[key]], measure.SIZES[offset - 1], offset)
        assert torch.equal(part["images"], plain_uint8(want)), key
        assert torch.equal(part["source"], indices[key][source]), key
    fresh = measure.grader_part(base, "fresh", 0)
    train = indices["train"]
    want, _ = plain_augment(images[train], measure.SIZES[0] + len(train), 7)
    assert torch.equal(fresh["images"], plain_uint8(want[len(train):]))
