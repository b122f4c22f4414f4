"""Homework 1, part 2: losses derived from likelihoods.

The decoder of an autoencoder outputs the parameters theta = g(z) of a distribution p(x | z) over
images. Training by maximum likelihood means minimising the negative log-likelihood (NLL)
-log p(x | z) of each training image. You implement the full NLL of two choices of p(x | z), with
every constant included, one value per image.

Shapes used in the docstrings:
    N  number of images        D  pixels per image (784 for MNIST)
    images are (N, 1, 28, 28) with values in [0, 1]; the functions must also accept (N, D).

Fill in every region fenced by ``TODO`` banners; keep every signature as it is, because the
autograder calls these functions by name.
"""
import math

import torch

EPS = 1e-7  # probabilities are clamped to [EPS, 1 - EPS] before taking logs


def gaussian_nll(x, mean, sigma):
    """Negative log-likelihood of ``x`` under an isotropic Gaussian N(mean, sigma^2 I), per image.

    Every pixel d is an independent Gaussian with mean ``mean[d]`` and standard deviation
    ``sigma`` (the same for all pixels), so for one image

        -log p(x | mean, sigma) = sum_d [ (x_d - mean_d)^2 / (2 sigma^2) + 0.5 * log(2 pi sigma^2) ]
                                = ||x - mean||^2 / (2 sigma^2) + (D / 2) * log(2 pi sigma^2).

    Keep the constant term: the autograder compares your value with the exact log-density.

    Inputs:
    - x: float tensor (N, 1, 28, 28) (or (N, D)), the images
    - mean: float tensor of the same shape as x, the decoder's output
    - sigma: a positive Python float, the standard deviation of every pixel

    Returns:
    - float tensor (N,): the NLL of each image, summed over its D pixels (not averaged)
    """
    nll = None
    # ============================== TODO ==============================
    # Sum the squared error over every dimension but the first, scale it
    # by 1 / (2 sigma^2) and add the constant (D / 2) * log(2 pi sigma^2).
    # ==================================================================
    ### BEGIN SOLUTION
    squared_error = (x - mean).pow(2).flatten(start_dim=1).sum(dim=1)
    pixels = x.flatten(start_dim=1).shape[1]
    variance = float(sigma) ** 2
    nll = squared_error / (2 * variance) + 0.5 * pixels * math.log(2 * math.pi * variance)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return nll


def bernoulli_nll(x, p):
    """Negative log-likelihood of ``x`` under independent Bernoulli pixels with probabilities ``p``,
    per image: the binary cross-entropy summed over pixels,

        -log p(x | p) = -sum_d [ x_d * log(p_d) + (1 - x_d) * log(1 - p_d) ].

    MNIST pixels are grey levels in [0, 1], not only 0 or 1; use the same formula (a cross-entropy
    with soft targets). The value must stay finite when a probability is exactly 0 or 1 while the
    pixel agrees with it (a saturated Sigmoid gives such values): clamp ``p`` to
    [EPS, 1 - EPS] first (``torch.log1p(-p)`` is an accurate log(1 - p)), or use
    ``torch.nn.functional.binary_cross_entropy`` with ``reduction="none"``, which clamps each
    log at -100.

    Inputs:
    - x: float tensor (N, 1, 28, 28) (or (N, D)), values in [0, 1]
    - p: float tensor of the same shape as x, values in [0, 1], the decoder's output

    Returns:
    - float tensor (N,): the NLL of each image, summed over its D pixels (not averaged)
    """
    nll = None
    # ============================== TODO ==============================
    # Two or three lines: clamp p, take the elementwise cross-entropy,
    # sum it over every dimension but the first.
    # ==================================================================
    ### BEGIN SOLUTION
    p = p.clamp(EPS, 1 - EPS)
    log_likelihood = x * torch.log(p) + (1 - x) * torch.log1p(-p)
    nll = -log_likelihood.flatten(start_dim=1).sum(dim=1)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return nll
