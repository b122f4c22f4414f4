"""The grader's own data pipeline and measurements for homework 2, computed in the grader's process.

Nothing here calls student code. The grader selects the face emoji, labels, splits and augments them
with its own implementation (so a bug in the student's pipeline cannot change what the trained
models are measured on), and computes every error and accuracy from raw model outputs.
"""
from __future__ import annotations

import colorsys
import math
import re

import torch
import torch.nn.functional as F

from autograder.pipeline.vae import as_float

KEYWORD = "face"
SIZES = (600, 200, 200)
FRACTIONS = (0.6, 0.2, 0.2)
CLASS_WORDS = (
    ("smiling", "grinning", "beaming", "laughing", "joy", "kissing", "winking", "hearts", "heart",
     "halo", "partying", "savoring"),
    ("frowning", "crying", "sad", "angry", "enraged", "weary", "tired", "fearful", "anguished",
     "worried", "disappointed", "pensive", "persevering", "confounded", "screaming", "anxious",
     "downcast", "pleading", "unamused", "tears", "steam"),
)
NUM_CLASSES = len(CLASS_WORDS) + 1


# --------------------------------------------------------------------------- text
def words(name: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", name.lower())


def select(names, keyword: str) -> list[int]:
    """Indices of the names holding the keyword's words consecutively (whole words, any case)."""
    wanted = words(keyword)
    found = []
    for index, name in enumerate(names):
        have = words(name)
        if wanted and any(have[i:i + len(wanted)] == wanted for i in range(len(have) - len(wanted) + 1)):
            found.append(index)
    return found


def labels(names, class_words=CLASS_WORDS) -> torch.Tensor:
    """The first class whose words the name has; the last class when none."""
    sets = [set(w) for w in class_words]
    out = []
    for name in names:
        have = set(words(name))
        out.append(next((c for c, wanted in enumerate(sets) if have & wanted), len(sets)))
    return torch.tensor(out, dtype=torch.int64)


# --------------------------------------------------------------------------- splits
def split_sizes(n: int, fractions=FRACTIONS) -> tuple[int, int, int]:
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    return n - n_val - n_test, n_val, n_test


def split(n: int, seed: int, fractions=FRACTIONS):
    """The grader's own seeded split: sorted (train, val, test) index tensors."""
    n_train, n_val, _ = split_sizes(n, fractions)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    parts = order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]
    return tuple(p.sort().values for p in parts)


def rotations_and_shifts(count: int, size: int, g: torch.Generator) -> torch.Tensor:
    """``count`` random affine matrices (count, 2, 3) for ``F.affine_grid``: a rotation by up to 10
    degrees and a shift by up to 4 pixels of a ``size``-pixel image, drawn from ``g``."""
    angle = (torch.rand(count, generator=g) * 2 - 1) * math.radians(10.0)
    shift = (torch.rand(count, 2, generator=g) * 2 - 1) * 4.0 * 2 / size
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = angle.cos(), -angle.sin(), shift[:, 0]
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = angle.sin(), angle.cos(), shift[:, 1]
    return theta


def augment(images: torch.Tensor, count: int, seed: int):
    """The grader's own augmentation: the originals, then flipped, rotated (up to 10 degrees),
    shifted (up to 4 pixels, white fill) and colour-jittered (factors in [0.9, 1.1]) copies.
    images float (N, 3, H, W) in [0, 1] -> (count, 3, H, W), source (count,).

    The copies are changed in place, step by step: each step is the same arithmetic as a new tensor
    would be, without touching 25 MB of fresh memory per step (about half the time on first use)."""
    g = torch.Generator().manual_seed(seed)
    n = images.shape[0]
    source = torch.arange(count) % n
    out = images[source].float()   # indexing copies: the originals stay as they are
    extra = count - n
    if extra <= 0:
        return out, source
    x = out[n:]
    flips = torch.rand(extra, generator=g) < 0.5
    x[flips] = x[flips].flip(-1)
    grid = F.affine_grid(rotations_and_shifts(extra, images.shape[-1], g), list(x.shape), align_corners=False)
    x = F.grid_sample(x.neg_().add_(1), grid, align_corners=False).neg_().add_(1).clamp_(0, 1)   # white fill
    del grid
    b, c, s = 1 + (torch.rand(3, extra, 1, 1, 1, generator=g) * 2 - 1) * 0.1
    x.mul_(b).clamp_(0, 1)                                                   # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x.sub_(mean).mul_(c).add_(mean).clamp_(0, 1)                             # contrast
    grey, term = 0.299 * x[:, 0:1], 0.587 * x[:, 1:2]
    grey.add_(term).add_(torch.mul(x[:, 2:3], 0.114, out=term))            # 0.299 r + 0.587 g + 0.114 b
    x.sub_(grey).mul_(s).add_(grey).clamp_(0, 1)                             # saturation
    out[n:] = x
    return out, source


def to_uint8(images: torch.Tensor, in_place: bool = False) -> torch.Tensor:
    """Float images in [0, 1] -> uint8; ``in_place`` rounds ``images`` itself on the way (a tensor
    the caller no longer needs)."""
    images = images.clamp_(0, 1) if in_place else images.clamp(0, 1)
    return images.mul_(255).round_().to(torch.uint8)


def grader_base(seed: int) -> dict:
    """The grader's face subset, labels and split, with the chosen images (float, not augmented)."""
    from data import emoji

    emojis = emoji.load()
    chosen = select(emojis.names, KEYWORD)
    names = [emojis.names[i] for i in chosen]
    parts = split(len(names), seed)
    return {"names": names, "labels": labels(names), "indices": dict(zip(("train", "val", "test"), parts)),
            "images": emojis.tensor(chosen)}


PARTS = ("train", "val", "test", "fresh")


def grader_part(base: dict, key: str, seed: int) -> dict:
    """One of :data:`PARTS` of the grader's data (uint8 images), each from a generator of its own:
    the augmented train, val and test sets, and "fresh", new random variations of the training
    emoji never seen in training (for the classifier)."""
    images, y, indices = base["images"], base["labels"], base["indices"]
    if key == "fresh":
        train = indices["train"]
        fresh, source = augment(images[train], SIZES[0] + len(train), seed + 7)
        keep = slice(len(train), None)  # variations only
        return {"images": to_uint8(fresh[keep], in_place=True), "labels": y[train][source[keep]]}
    offset = ("train", "val", "test").index(key) + 1
    augmented, source = augment(images[indices[key]], SIZES[offset - 1], seed + offset)
    return {"images": to_uint8(augmented, in_place=True), "labels": y[indices[key]][source],
            "source": indices[key][source]}


def part_inputs(seed: int) -> dict:
    """Besides this file's code and the emoji set's, what decides :func:`grader_part`'s data (the
    key under which ``pipeline/kept.py`` keeps it between gradings)."""
    from data import emoji

    return {"seed": seed, "emoji": emoji.identity()}


def part_code() -> tuple:
    """The files whose code makes :func:`grader_part`'s data: this one and the emoji set's."""
    from data import emoji

    return (__file__, emoji.__file__)


def grader_data(base: dict, part) -> dict:
    """The grader's face subset, labels, split and augmented sets (uint8 images): ``base`` (from
    :func:`grader_base`) with each of :data:`PARTS` from ``part(key)`` (:func:`grader_part`, made
    once each by the caller)."""
    return {**{key: base[key] for key in ("names", "labels", "indices")}, **{key: part(key) for key in PARTS}}


# --------------------------------------------------------------------------- identifying augmented images
def hue_images(count: int, size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` plain-coloured images whose hues are evenly spread around the colour wheel.

    The augmentations of the homework (flips, small rotations and shifts with white fill, and
    brightness / contrast / saturation jitter) leave a plain image's hue unchanged, so the hue of
    an augmented image tells which of these images it was made from.
    Returns images float (count, 3, size, size) and their hues in degrees (count,)."""
    hues = torch.arange(count, dtype=torch.float64) * (360.0 / count)
    colours = torch.tensor([colorsys.hsv_to_rgb(h / 360.0, 0.75, 0.85) for h in hues.tolist()], dtype=torch.float32)
    images = colours.view(count, 3, 1, 1).expand(count, 3, size, size).contiguous()
    return images, hues


def hues_of(images: torch.Tensor) -> torch.Tensor:
    """The hue in degrees of each image's per-channel median colour (robust to a white border)."""
    flat = images.float().flatten(2)                      # (N, 3, P)
    median = flat.median(dim=2).values                    # (N, 3)
    return torch.tensor([colorsys.rgb_to_hsv(*rgb)[0] * 360.0 for rgb in median.tolist()], dtype=torch.float64)


def identify(images: torch.Tensor, hues: torch.Tensor, tolerance: float):
    """For each image, the index of the original with the closest hue and that distance in degrees."""
    got = hues_of(images).view(-1, 1)
    distance = (got - hues.view(1, -1)).abs()
    distance = torch.minimum(distance, 360.0 - distance)
    best, index = distance.min(dim=1)
    return index, best


# --------------------------------------------------------------------------- metrics
def mse(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    """Mean squared error per pixel and channel."""
    return float(F.mse_loss(x_hat.float(), x.float()))


def mean_image_mse(train: torch.Tensor, test: torch.Tensor) -> float:
    """The error of the laziest model: predict the mean training image for every test image."""
    mean = as_float(train).mean(dim=0, keepdim=True)
    return mse(mean.expand_as(as_float(test)), as_float(test))


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(dim=1) == y).float().mean())


def majority(y: torch.Tensor) -> float:
    """The accuracy of always guessing the most common class: the chance level to beat."""
    return float(torch.bincount(y).max()) / y.numel()


def expected_recon_loss(x_hat, x) -> float:
    return float(F.mse_loss(x_hat, x))


def expected_aux_loss(x_hat, x, logits, y, lam) -> float:
    return float(F.mse_loss(x_hat, x) + lam * F.cross_entropy(logits, y))
