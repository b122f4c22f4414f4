"""Homework 3, part 1: a small variational autoencoder (VAE) for MNIST digits.

Shapes used in the docstrings:
    B  batch size            Z  latent size (``latent_dim``; the grader uses 20)
    images are (B, 28, 28) float tensors with values in [0, 1] (no channel dimension).

Fill in every region fenced by ``TODO`` banners; keep every name and signature as it is, because
the autograder calls them. The architecture inside ``Encoder`` and ``Decoder`` is yours to choose
within the limits their docstrings give: the grader trains your model for 10 epochs on one CPU
thread and expects that to take about a minute and a half at most.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE_SIDE = 28
PIXELS = IMAGE_SIDE * IMAGE_SIDE  # 784


class Encoder(nn.Module):
    def __init__(self, latent_dim):
        """The approximate posterior q(z | x) = N(mu(x), diag(exp(logvar(x)))).

        Inputs:
        - latent_dim: Z, the size of the latent code

        Suggested architecture (a small MLP; anything of about this size trains in time):
        flatten (B, 28, 28) -> (B, 784), Linear(784, 400) + ReLU, then two Linear(400, Z) heads,
        one for mu and one for logvar.
        """
        super().__init__()
        self.latent_dim = latent_dim
        # ============================== TODO ==============================
        # Create the layers of the encoder described in the docstring.
        # ==================================================================
        ### BEGIN SOLUTION
        self.hidden = nn.Linear(PIXELS, 400)
        self.mu_head = nn.Linear(400, latent_dim)
        self.logvar_head = nn.Linear(400, latent_dim)
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, x):
        """Encode a batch of images.

        Inputs:
        - x: float tensor (B, 28, 28) with values in [0, 1]

        Returns a tuple ``(mu, logvar)``:
        - mu: (B, Z) posterior means
        - logvar: (B, Z) posterior log-variances
        """
        mu, logvar = None, None
        # ============================== TODO ==============================
        # Flatten each image, run the hidden layer, then the two heads.
        # ==================================================================
        ### BEGIN SOLUTION
        hidden = F.relu(self.hidden(x.reshape(x.shape[0], PIXELS)))
        mu, logvar = self.mu_head(hidden), self.logvar_head(hidden)
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return mu, logvar


class Decoder(nn.Module):
    def __init__(self, latent_dim):
        """The likelihood p(x | z): pixel probabilities of a 28 x 28 image.

        Inputs:
        - latent_dim: Z, the size of the latent code

        Suggested architecture: Linear(Z, 400) + ReLU, Linear(400, 784), a sigmoid so that every
        pixel lies in [0, 1], and a reshape to (B, 28, 28).
        """
        super().__init__()
        self.latent_dim = latent_dim
        # ============================== TODO ==============================
        # Create the layers of the decoder described in the docstring.
        # ==================================================================
        ### BEGIN SOLUTION
        self.hidden = nn.Linear(latent_dim, 400)
        self.out = nn.Linear(400, PIXELS)
        ### END SOLUTION
        # ========================== END OF TODO ===========================

    def forward(self, z):
        """Decode a batch of codes.

        Inputs:
        - z: float tensor (B, Z)

        Returns:
        - x_hat: float tensor (B, 28, 28), pixel probabilities in [0, 1]
        """
        x_hat = None
        # ============================== TODO ==============================
        # Run the layers, squash with a sigmoid, reshape to (B, 28, 28).
        # ==================================================================
        ### BEGIN SOLUTION
        logits = self.out(F.relu(self.hidden(z)))
        x_hat = torch.sigmoid(logits).reshape(z.shape[0], IMAGE_SIDE, IMAGE_SIDE)
        ### END SOLUTION
        # ========================== END OF TODO ===========================
        return x_hat


def sample(mu, logvar):
    """Draw z ~ N(mu, exp(logvar)) with the reparametrization trick, so that gradients flow back
    into mu and logvar.

    Inputs:
    - mu: (B, Z) means
    - logvar: (B, Z) log-variances

    Returns:
    - z: (B, Z), z = mu + sigma * epsilon with sigma = exp(logvar / 2) and epsilon ~ N(0, I)
      drawn with ``torch.randn_like`` (so the global seed controls it)
    """
    z = None
    # ============================== TODO ==============================
    # One or two lines.
    # ==================================================================
    ### BEGIN SOLUTION
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return z


def vae_loss(x, x_hat, mu, logvar):
    """The negative ELBO of a batch, averaged over its images:

        (1 / B) * sum over images of [ BCE(x_hat, x) summed over the 784 pixels
                                       + KL(N(mu, exp(logvar)) || N(0, I)) summed over the Z latents ]

    with KL = -1/2 * sum(1 + logvar - mu^2 - exp(logvar)).

    Inputs:
    - x: (B, 28, 28) target images, values in [0, 1]
    - x_hat: (B, 28, 28) reconstructions, values in [0, 1]
    - mu: (B, Z) posterior means
    - logvar: (B, Z) posterior log-variances

    Returns:
    - a scalar tensor (0-dimensional): the per-image negative ELBO
    """
    loss = None
    # ============================== TODO ==============================
    # torch.nn.functional.binary_cross_entropy with reduction="sum", plus
    # the KL term, divided by the batch size B.
    # ==================================================================
    ### BEGIN SOLUTION
    bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    loss = (bce + kl) / x.shape[0]
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return loss


def train(encoder, decoder, train_loader, optimizer, num_epochs=10):
    """Train the encoder and decoder together for ``num_epochs`` passes over ``train_loader``.

    Inputs:
    - encoder: an ``Encoder``; decoder: a ``Decoder`` of the same latent size
    - train_loader: yields ``(x, y)`` batches with x float (B, 1, 28, 28) in [0, 1] and y int (B,)
      (the labels are not used); the given first line of the loop reshapes x to (B, 28, 28)
    - optimizer: a torch optimizer over the parameters of both networks (already made: do not
      make a new one)
    - num_epochs: the number of passes over the training set

    Returns:
    - losses: a list of ``num_epochs`` Python floats, the mean over batches of ``vae_loss`` in
      each epoch (the per-image negative ELBO on the training set)
    """
    device = next(encoder.parameters()).device
    encoder.train()
    decoder.train()
    losses = []
    for epoch in range(1, num_epochs + 1):
        total, batches = 0.0, 0
        for x, _labels in train_loader:
            x = x.to(device).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
            # ============================== TODO ==============================
            # Encode, sample a code, decode, compute vae_loss; zero the
            # gradients, backpropagate, step the optimizer; add the loss's
            # value to total and count the batch.
            # ==================================================================
            ### BEGIN SOLUTION
            mu, logvar = encoder(x)
            x_hat = decoder(sample(mu, logvar))
            loss = vae_loss(x, x_hat, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
            ### END SOLUTION
            # ========================== END OF TODO ===========================
        losses.append(total / max(batches, 1))
        print(f"epoch {epoch}/{num_epochs}: per-image training loss {losses[-1]:.2f}", flush=True)
    return losses
