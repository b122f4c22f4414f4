"""Homework 4, part 1: a variational autoencoder (VAE) and a conditional VAE (CVAE) for MNIST.

Shapes used in the docstrings:
    N  batch size            Z  latent size (``latent_size``, 15 by default)
    D  pixels per image      H  hidden width (``hidden_dim``)
    C  number of classes     images are (N, 1, 28, 28) with values in [0, 1], so D = 784.

Fill in every region fenced by ``TODO`` banners; keep every signature as it is, because the
autograder calls these functions and classes by name.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _image_shape(input_size):
    """(1, side, side) for a square single-channel image of ``input_size`` pixels. Given."""
    side = math.isqrt(input_size)
    if side * side != input_size:
        raise ValueError(f"input_size must be a square number of pixels, got {input_size}")
    return (1, side, side)


class VAE(nn.Module):
    def __init__(self, input_size, latent_size=15):
        """A fully connected VAE.

        Inputs:
        - input_size: D, the number of pixels of one image (784 for MNIST)
        - latent_size: Z, the size of the latent code

        Attributes to build (each an ``nn.Module``):
        - self.hidden_dim: H = 400, the width of every hidden layer
        - self.encoder: (N, 1, 28, 28) -> (N, H): Flatten, then three Linear+ReLU layers
        - self.mu_layer: (N, H) -> (N, Z), a Linear layer giving the posterior mean
        - self.logvar_layer: (N, H) -> (N, Z), a Linear layer giving the posterior log-variance
        - self.decoder: (N, Z) -> (N, 1, 28, 28): three Linear+ReLU layers, a Linear layer to D,
          a Sigmoid so pixels lie in [0, 1], and an Unflatten back to the image shape
        """
        super().__init__()
        self.input_size = input_size  # D
        self.latent_size = latent_size  # Z
        self.hidden_dim = None  # H
        self.encoder = None
        self.mu_layer = None
        self.logvar_layer = None
        self.decoder = None
        # ============================== TODO ==============================
        # Build the encoder, mu_layer, logvar_layer and decoder described in
        # the docstring above. Set self.hidden_dim to 400.
        # ==================================================================
        ### BEGIN SOLUTION
        H, D, Z = 400, input_size, latent_size
        self.hidden_dim = H
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(D, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
        )
        self.mu_layer = nn.Linear(H, Z)
        self.logvar_layer = nn.Linear(H, Z)
        self.decoder = nn.Sequential(
            nn.Linear(Z, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, D), nn.Sigmoid(),
            nn.Unflatten(1, _image_shape(D)),
        )
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, x):
        """Encode, sample a code with the reparametrization trick, decode.

        Inputs:
        - x: float tensor (N, 1, 28, 28) with values in [0, 1]

        Returns a tuple ``(x_hat, mu, logvar)``:
        - x_hat: (N, 1, 28, 28) reconstruction, values in [0, 1]
        - mu: (N, Z) posterior means
        - logvar: (N, Z) posterior log-variances
        """
        x_hat, mu, logvar = None, None, None
        # ============================== TODO ==============================
        # Run the encoder, the two heads, reparametrize() and the decoder.
        # ==================================================================
        ### BEGIN SOLUTION
        hidden = self.encoder(x)
        mu, logvar = self.mu_layer(hidden), self.logvar_layer(hidden)
        x_hat = self.decoder(reparametrize(mu, logvar))
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return x_hat, mu, logvar


class CVAE(nn.Module):
    def __init__(self, input_size, num_classes=10, latent_size=15):
        """A fully connected conditional VAE: both encoder and decoder also see the class.

        Inputs:
        - input_size: D, the number of pixels of one image (784 for MNIST)
        - num_classes: C, the number of classes (10 digits)
        - latent_size: Z, the size of the latent code

        Attributes to build (each an ``nn.Module``):
        - self.hidden_dim: H = 400
        - self.encoder: (N, D + C) -> (N, H), the flattened image concatenated with the one-hot
          class: three Linear+ReLU layers
        - self.mu_layer, self.logvar_layer: (N, H) -> (N, Z)
        - self.decoder: (N, Z + C) -> (N, 1, 28, 28), fed ``torch.cat([z, c], dim=1)``: three
          Linear+ReLU layers, a Linear layer to D, a Sigmoid, and an Unflatten to the image shape
        """
        super().__init__()
        self.input_size = input_size  # D
        self.latent_size = latent_size  # Z
        self.num_classes = num_classes  # C
        self.hidden_dim = None  # H
        self.encoder = None
        self.mu_layer = None
        self.logvar_layer = None
        self.decoder = None
        # ============================== TODO ==============================
        # Build the encoder, mu_layer, logvar_layer and decoder described in
        # the docstring above. Set self.hidden_dim to 400.
        # ==================================================================
        ### BEGIN SOLUTION
        H, D, Z, C = 400, input_size, latent_size, num_classes
        self.hidden_dim = H
        self.encoder = nn.Sequential(
            nn.Linear(D + C, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
        )
        self.mu_layer = nn.Linear(H, Z)
        self.logvar_layer = nn.Linear(H, Z)
        self.decoder = nn.Sequential(
            nn.Linear(Z + C, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, H), nn.ReLU(),
            nn.Linear(H, D), nn.Sigmoid(),
            nn.Unflatten(1, _image_shape(D)),
        )
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, x, c):
        """Encode the image with its class, reparametrize, decode with the class.

        Inputs:
        - x: float tensor (N, 1, 28, 28) with values in [0, 1]
        - c: float tensor (N, C), one-hot classes

        Returns a tuple ``(x_hat, mu, logvar)``:
        - x_hat: (N, 1, 28, 28) reconstruction, values in [0, 1]
        - mu: (N, Z) posterior means
        - logvar: (N, Z) posterior log-variances
        """
        x_hat, mu, logvar = None, None, None
        # ============================== TODO ==============================
        # Flatten x, concatenate it with c, encode; reparametrize; decode
        # torch.cat([z, c], dim=1).
        # ==================================================================
        ### BEGIN SOLUTION
        hidden = self.encoder(torch.cat([x.flatten(start_dim=1), c], dim=1))
        mu, logvar = self.mu_layer(hidden), self.logvar_layer(hidden)
        x_hat = self.decoder(torch.cat([reparametrize(mu, logvar), c], dim=1))
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return x_hat, mu, logvar


def reparametrize(mu, logvar):
    """Draw z ~ N(mu, exp(logvar)) so that gradients flow back into mu and logvar.

    Inputs:
    - mu: (N, Z) means
    - logvar: (N, Z) log-variances

    Returns:
    - z: (N, Z), z = mu + sigma * epsilon with sigma = exp(logvar / 2) and epsilon ~ N(0, I)
      drawn with ``torch.randn_like`` (so the global seed controls it)
    """
    z = None
    # ============================== TODO ==============================
    # Implement the reparametrization trick in two or three lines.
    # ==================================================================
    ### BEGIN SOLUTION
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return z


def bce_function(x_hat, x):
    """Given: binary cross-entropy between a reconstruction and its target, SUMMED over every
    pixel of every image in the batch (not averaged). Use it in ``loss_function``.

    Inputs:
    - x_hat: (N, 1, 28, 28) reconstruction, values in [0, 1]
    - x: (N, 1, 28, 28) target images, values in [0, 1]

    Returns:
    - a scalar tensor (0-dimensional)
    """
    return F.binary_cross_entropy(x_hat, x, reduction="sum")


def loss_function(x_hat, x, mu, logvar):
    """The negative ELBO averaged over the batch:
    (BCE summed over pixels and batch + KL(q(z|x) || N(0, I)) summed over latents and batch) / N,
    with KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar)).

    Inputs:
    - x_hat: (N, 1, 28, 28) reconstruction, values in [0, 1]
    - x: (N, 1, 28, 28) target images, values in [0, 1]
    - mu: (N, Z) posterior means
    - logvar: (N, Z) posterior log-variances

    Returns:
    - a scalar tensor (0-dimensional): the per-image negative ELBO
    """
    loss = None
    # ============================== TODO ==============================
    # Use bce_function, add the KL term, divide by the batch size N.
    # ==================================================================
    ### BEGIN SOLUTION
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss = (bce_function(x_hat, x) + kl) / x.shape[0]
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return loss
