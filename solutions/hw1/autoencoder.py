"""Homework 1, part 1: a fully connected autoencoder for MNIST, and its decoder used as a generator.

Shapes used in the docstrings:
    N  number of images or codes     Z  latent size (``latent_size``, 16 by default)
    D  pixels per image              images are (N, 1, 28, 28) with values in [0, 1], so D = 784.

Fill in every region fenced by ``TODO`` banners; keep every signature as it is, because the
autograder calls these functions and classes by name.
"""
import math

import torch
import torch.nn as nn


def _image_shape(input_size):
    """(1, side, side) for a square single-channel image of ``input_size`` pixels. Given."""
    side = math.isqrt(input_size)
    if side * side != input_size:
        raise ValueError(f"input_size must be a square number of pixels, got {input_size}")
    return (1, side, side)


class Autoencoder(nn.Module):
    def __init__(self, input_size=784, latent_size=16):
        """A fully connected autoencoder.

        Inputs:
        - input_size: D, the number of pixels of one image (784 for MNIST)
        - latent_size: Z, the size of the code

        Attributes to build (each an ``nn.Module``, for example an ``nn.Sequential``):
        - self.encoder: (N, 1, 28, 28) -> (N, Z): Flatten, Linear(D, 256), ReLU, Linear(256, 128),
          ReLU, Linear(128, Z). The code has no activation: it may take any real value.
        - self.decoder: (N, Z) -> (N, 1, 28, 28): Linear(Z, 128), ReLU, Linear(128, 256), ReLU,
          Linear(256, D), Sigmoid (so every output lies in [0, 1]), and an Unflatten back to the
          image shape (``_image_shape(D)`` gives it).
        """
        super().__init__()
        self.input_size = input_size  # D
        self.latent_size = latent_size  # Z
        self.encoder = None
        self.decoder = None
        # ============================== TODO ==============================
        # Build self.encoder and self.decoder as described in the docstring.
        # ==================================================================
        ### BEGIN SOLUTION
        D, Z = input_size, latent_size
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(D, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, Z),
        )
        self.decoder = nn.Sequential(
            nn.Linear(Z, 128), nn.ReLU(),
            nn.Linear(128, 256), nn.ReLU(),
            nn.Linear(256, D), nn.Sigmoid(),
            nn.Unflatten(1, _image_shape(D)),
        )
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, x):
        """Encode, then decode.

        Inputs:
        - x: float tensor (N, 1, 28, 28) with values in [0, 1]

        Returns:
        - x_hat: (N, 1, 28, 28), the decoder's output for the code of each image, values in [0, 1]
        """
        x_hat = None
        # ============================== TODO ==============================
        # One line.
        # ==================================================================
        ### BEGIN SOLUTION
        x_hat = self.decoder(self.encoder(x))
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return x_hat


@torch.no_grad()
def encode_dataset(model, loader):
    """The codes of every image of a dataset, in the loader's order.

    Inputs:
    - model: an ``Autoencoder``
    - loader: yields ``(x, y)`` batches, x float (B, 1, 28, 28) in [0, 1] (y is not used); it
      does not shuffle, so the codes come out in the dataset's order

    Returns:
    - codes: float tensor (N, Z) on the CPU, row i the code ``model.encoder`` gives image i
    """
    codes = None
    device = next(model.parameters()).device
    model.eval()
    # ============================== TODO ==============================
    # Encode every batch (move x to `device` first) and concatenate the
    # codes into one (N, Z) tensor on the CPU.
    # ==================================================================
    ### BEGIN SOLUTION
    codes = torch.cat([model.encoder(x.to(device)).cpu() for x, _ in loader])
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return codes


def sample_uniform(codes, num_samples):
    """Random codes drawn uniformly from the smallest box that holds the training codes.

    Dimension j of every sample is uniform on [min_j, max_j], the smallest and largest value of
    dimension j over the training codes, independently of the other dimensions. Draw the random
    numbers with ``torch.rand`` (so the global seed controls them).

    Inputs:
    - codes: float tensor (N, Z), the codes of the training images
    - num_samples: M, the number of codes to draw

    Returns:
    - samples: float tensor (M, Z), every entry within its dimension's [min_j, max_j]
    """
    samples = None
    # ============================== TODO ==============================
    # Find the per-dimension bounds, then rescale torch.rand(M, Z).
    # ==================================================================
    ### BEGIN SOLUTION
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    samples = low + (high - low) * torch.rand(num_samples, codes.shape[1], dtype=codes.dtype)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return samples


def sample_gaussian(codes, num_samples):
    """Random codes from a Gaussian fitted to the training codes: the better sampler.

    Fit N(m, S) with m the mean of the codes and S their (Z, Z) covariance matrix (full, not only
    the variances: the dimensions of a code are correlated), then draw fresh samples from it.
    One way: S = L L^T (Cholesky, ``torch.linalg.cholesky``) and sample = m + L eps with
    eps ~ N(0, I) drawn by ``torch.randn``. Add a tiny multiple of the identity to S first (for
    example 1e-6 times its mean variance) so that the factorisation works even when a dimension
    is almost constant.

    Inputs:
    - codes: float tensor (N, Z), the codes of the training images (N > Z)
    - num_samples: M, the number of codes to draw

    Returns:
    - samples: float tensor (M, Z) whose mean and covariance match those of ``codes``
    """
    samples = None
    # ============================== TODO ==============================
    # Fit the mean and covariance, factorise, sample (torch.cov expects
    # variables in rows: pass codes.T).
    # ==================================================================
    ### BEGIN SOLUTION
    data = codes.double()
    mean = data.mean(dim=0)
    covariance = torch.atleast_2d(torch.cov(data.T))
    jitter = 1e-6 * covariance.diagonal().mean().clamp(min=1e-12)
    factor = torch.linalg.cholesky(covariance + jitter * torch.eye(codes.shape[1], dtype=data.dtype))
    noise = torch.randn(num_samples, codes.shape[1], dtype=data.dtype)
    samples = (mean + noise @ factor.T).to(codes.dtype)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return samples
