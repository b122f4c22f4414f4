"""Homework 2, part 1: choosing emoji by their names, splitting them, and augmenting each split.

Shapes used in the docstrings:
    N  number of images        H, W  image height and width (64 x 64 for the emoji)
    K  number of selected emoji     C  number of classes
    images are float tensors (N, 3, H, W) with values in [0, 1] (RGB on a white background).

Fill in every region fenced by ``TODO`` banners; keep every signature as it is, because the
autograder calls these functions by name.
"""
import math
import re

import torch
import torch.nn.functional as F

# Given: the words that put a face emoji into a class (see ``class_labels``). A name with none of
# these words goes into the last class, "other".
CLASS_NAMES = ("happy", "unhappy", "other")
CLASS_WORDS = (
    ("smiling", "grinning", "beaming", "laughing", "joy", "kissing", "winking", "hearts", "heart",
     "halo", "partying", "savoring"),
    ("frowning", "crying", "sad", "angry", "enraged", "weary", "tired", "fearful", "anguished",
     "worried", "disappointed", "pensive", "persevering", "confounded", "screaming", "anxious",
     "downcast", "pleading", "unamused", "tears", "steam"),
)

# Given: how strong the random transformations of ``augment`` are.
MAX_ROTATION_DEGREES = 10.0   # rotate by an angle drawn uniformly in [-10, 10] degrees
MAX_SHIFT_PIXELS = 4.0        # shift by up to 4 pixels horizontally and vertically
JITTER = 0.1                  # brightness, contrast and saturation factors drawn in [0.9, 1.1]


def name_words(name):
    """Given: the words of an emoji name, lower case: runs of letters and digits.

    >>> name_words("Face with Stuck-out Tongue")
    ['face', 'with', 'stuck', 'out', 'tongue']
    """
    return re.findall(r"[a-z0-9]+", name.lower())


def select_subset(names, keyword):
    """The emoji whose name contains ``keyword`` as whole words.

    A name matches when the words of ``keyword`` (see ``name_words``) appear in the words of the
    name, consecutively and in the same order. Case does not matter, and a keyword never matches
    part of a word: "face" selects "grinning face" and "Face with Tongue" but not
    "person facepalming"; "cat face" selects "cat face" but not "face with cat ears".

    Inputs:
    - names: a list of N strings
    - keyword: a string of one or more words

    Returns:
    - int64 tensor (K,): the indices of the matching names, in increasing order (K may be 0)
    """
    indices = None
    # ============================== TODO ==============================
    # Compare the words of each name with the words of the keyword.
    # ==================================================================
    ### BEGIN SOLUTION
    wanted = name_words(keyword)
    size = len(wanted)
    found = []
    for index, name in enumerate(names):
        words = name_words(name)
        if size and any(words[start:start + size] == wanted for start in range(len(words) - size + 1)):
            found.append(index)
    indices = torch.tensor(found, dtype=torch.int64)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return indices


def class_labels(names, class_words=CLASS_WORDS):
    """A class for every name, read from its words.

    Class ``c`` (for ``c < len(class_words)``) holds the names that contain at least one of the
    words in ``class_words[c]`` (whole words, as in ``select_subset``); when a name has words of
    several classes, the first such class wins. Names with none of the words get the last class,
    ``len(class_words)``, so there are ``C = len(class_words) + 1`` classes.

    Inputs:
    - names: a list of N strings
    - class_words: a sequence of C - 1 sequences of single lower-case words

    Returns:
    - int64 tensor (N,) with values in [0, C)
    """
    labels = None
    # ============================== TODO ==============================
    # One label per name.
    # ==================================================================
    ### BEGIN SOLUTION
    word_sets = [set(words) for words in class_words]
    found = []
    for name in names:
        words = set(name_words(name))
        found.append(next((c for c, wanted in enumerate(word_sets) if words & wanted), len(word_sets)))
    labels = torch.tensor(found, dtype=torch.int64)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return labels


def split_sizes(n, fractions=(0.6, 0.2, 0.2)):
    """Given: how many of ``n`` items go to train, validation and test. Validation and test get
    ``round(n * fraction)`` items each; train gets the rest.

    >>> split_sizes(119)
    (71, 24, 24)
    """
    n_val, n_test = round(n * fractions[1]), round(n * fractions[2])
    return n - n_val - n_test, n_val, n_test


def split_indices(n, seed, fractions=(0.6, 0.2, 0.2)):
    """A random split of the indices 0..n-1 into train, validation and test.

    The sizes are those of ``split_sizes(n, fractions)``. The split depends only on ``seed``: use
    your own ``torch.Generator`` seeded with it (not the global random state), so that the same
    seed always gives the same split and different seeds give different splits.

    Inputs:
    - n: the number of items
    - seed: an int
    - fractions: three fractions adding up to 1

    Returns a tuple ``(train, val, test)`` of int64 tensors of shapes (n_train,), (n_val,) and
    (n_test,), each sorted in increasing order; together they hold every index 0..n-1 exactly once.
    """
    train, val, test = None, None, None
    # ============================== TODO ==============================
    # Shuffle 0..n-1 with a seeded generator and cut the permutation.
    # ==================================================================
    ### BEGIN SOLUTION
    n_train, n_val, _ = split_sizes(n, fractions)
    generator = torch.Generator().manual_seed(int(seed))
    order = torch.randperm(n, generator=generator)
    train = order[:n_train].sort().values
    val = order[n_train:n_train + n_val].sort().values
    test = order[n_train + n_val:].sort().values
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return train, val, test


def augment(images, count, seed):
    """``count`` images made from ``images``: the originals first, then random variations.

    Output ``i`` is made from ``images[i % N]``. The first N outputs are the original images,
    unchanged. Every later output is its source image transformed by, in this order:

    1. a horizontal flip with probability 1/2;
    2. a rotation by an angle drawn uniformly in [-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES]
       and a shift by up to MAX_SHIFT_PIXELS pixels in each direction, the uncovered corners
       filled with white (use ``F.affine_grid`` and ``F.grid_sample``; no torchvision);
    3. colour jitter: brightness, contrast and saturation factors, each drawn uniformly in
       [1 - JITTER, 1 + JITTER]. Brightness multiplies the pixels; contrast blends the image with
       its mean grey level; saturation blends it with its own greyscale version
       (grey = 0.299 R + 0.587 G + 0.114 B). Clamp to [0, 1] after each step.

    Draw every random number from a ``torch.Generator`` seeded with ``seed``, so that the same
    seed always gives the same images.

    Inputs:
    - images: float tensor (N, 3, H, W) in [0, 1]
    - count: int, how many images to return (count >= N)
    - seed: an int

    Returns a tuple ``(augmented, source)``:
    - augmented: float tensor (count, 3, H, W) in [0, 1]
    - source: int64 tensor (count,), ``source[i] = i % N``, the index of each output's original
    """
    augmented, source = None, None
    n = images.shape[0]
    if count < n:
        raise ValueError(f"count ({count}) must be at least the number of images ({n})")
    # ============================== TODO ==============================
    # Build source, copy the source images, then transform every output
    # from index N on (flip, rotate and shift, colour jitter).
    # ==================================================================
    ### BEGIN SOLUTION
    generator = torch.Generator().manual_seed(int(seed))
    source = torch.arange(count, dtype=torch.int64) % n
    augmented = images[source].clone().float()
    extra = count - n
    if extra > 0:
        x = augmented[n:]
        flip = torch.rand(extra, generator=generator) < 0.5
        x[flip] = x[flip].flip(-1)
        angle = (torch.rand(extra, generator=generator) * 2 - 1) * math.radians(MAX_ROTATION_DEGREES)
        shift = (torch.rand(extra, 2, generator=generator) * 2 - 1) * MAX_SHIFT_PIXELS
        height, width = x.shape[-2:]
        cos, sin = torch.cos(angle), torch.sin(angle)
        # affine_grid works in coordinates where the image spans [-1, 1]: one pixel is 2 / size
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0] * 2 / width], dim=1),
                             torch.stack([sin, cos, shift[:, 1] * 2 / height], dim=1)], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # grid_sample fills with zeros: transform 1 - x so that the fill becomes white
        x = 1 - F.grid_sample(1 - x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        x = x.clamp(0, 1)
        factors = 1 + (torch.rand(3, extra, 1, 1, 1, generator=generator) * 2 - 1) * JITTER
        x = (x * factors[0]).clamp(0, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (mean + factors[1] * (x - mean)).clamp(0, 1)
        grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
        x = (grey + factors[2] * (x - grey)).clamp(0, 1)
        augmented[n:] = x
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return augmented, source


def make_splits(images, seed, sizes=(600, 200, 200), fractions=(0.6, 0.2, 0.2)):
    """Split ``images`` into train, validation and test, then augment each split on its own.

    Split the indices with ``split_indices(N, seed, fractions)``; then augment the images of each
    split with ``augment`` to ``sizes`` images (train with seed ``seed + 1``, validation with
    ``seed + 2``, test with ``seed + 3``). Every augmented image stays in its source image's split,
    so no variation of a test image is ever trained on.

    Inputs:
    - images: float tensor (N, 3, H, W) in [0, 1]
    - seed: an int
    - sizes: how many images each split should hold after augmentation
    - fractions: passed on to ``split_indices``

    Returns a dict with keys "train", "val" and "test", each a dict holding
    - "images": float tensor (sizes[k], 3, H, W) in [0, 1], the augmented images of that split
    - "source": int64 tensor (sizes[k],), the index in ``images`` (0..N-1) each one was made from
    - "indices": int64 tensor, the split's own indices from ``split_indices``
    """
    splits = None
    # ============================== TODO ==============================
    # Use split_indices and augment; map augment's source (an index
    # within the split) back to an index of ``images``.
    # ==================================================================
    ### BEGIN SOLUTION
    parts = split_indices(images.shape[0], seed, fractions)
    splits = {}
    for offset, (key, indices, size) in enumerate(zip(("train", "val", "test"), parts, sizes), start=1):
        augmented, source = augment(images[indices], size, seed + offset)
        splits[key] = {"images": augmented, "source": indices[source], "indices": indices}
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return splits
