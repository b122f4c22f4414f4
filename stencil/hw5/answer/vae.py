"""Homework 5: recover a forgotten alphabet by clustering the latent codes of a VAE.

Shapes used in the docstrings:
    N  number of images (a batch)     Z  latent size (``LATENT_DIM``; at most 32)
    images are float tensors (N, 1, 64, 64) with values in [0, 1], 1 = ink.

Fill in every region fenced by ``TODO`` banners and keep every signature as it is: the autograder
imports this file, calls ``train_vae(train_images, seed=...)`` with your default settings (the
constants below), then ``encode(model, images)`` on the dev and test glyphs, and clusters the codes.
Tune the constants and the architecture to raise your dev score (``python check.py``).

Run it:   python answer/vae.py            trains, then writes outputs/dev.npy and outputs/test.npy
          python answer/vae.py --quick    a one-epoch run on 256 glyphs, to test the pipeline
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent          # the answer/ folder
OUTPUT_DIR = HERE.parent / "outputs"            # where main() writes dev.npy and test.npy

# Your settings: train_vae uses them when the grader calls it. Change them freely, but keep the
# training under 5 minutes on one CPU thread (the grader stops it at its time limit).
LATENT_DIM = 16        # Z, the size of a code (the grader accepts at most 32)
EPOCHS = 30
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
BETA = 1.0             # weight of the KL term in vae_loss
DROPOUT = 0.2          # dropout probability in the encoder
DISTORTION = 1.0       # strength of the random distortions in training (0 = none); see distort()


def reparametrize(mu, log_var):
    """Draw z ~ N(mu, exp(log_var)) so that gradients flow back into mu and log_var.

    Inputs:
    - mu: (N, Z) posterior means
    - log_var: (N, Z) posterior log-variances

    Returns:
    - z: (N, Z), z = mu + sigma * epsilon with sigma = exp(log_var / 2) and epsilon ~ N(0, I) drawn
      with ``torch.randn_like`` (so the global seed controls it)
    """
    z = None
    # ============================== TODO ==============================
    # The reparametrization trick, as in homework 4.
    # ==================================================================
    raise NotImplementedError("TODO: fill in reparametrize (vae.py)")
    # ========================== END OF TODO ===========================
    return z


def kld(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) of every image, summed over the latent dimensions:
    -1/2 * sum_j (1 + log_var_j - mu_j^2 - exp(log_var_j)).

    Inputs:
    - mu: (N, Z) posterior means
    - log_var: (N, Z) posterior log-variances

    Returns:
    - kl: (N,), one non-negative number per image (not averaged, not summed over the batch)
    """
    kl = None
    # ============================== TODO ==============================
    # One line: the closed form above, summed over dim=1.
    # ==================================================================
    raise NotImplementedError("TODO: fill in kld (vae.py)")
    # ========================== END OF TODO ===========================
    return kl


def vae_loss(x_hat, x, mu, log_var, beta=BETA):
    """The beta-weighted negative ELBO per image, averaged over the batch:
    mean over images of [ BCE(x_hat, x) summed over the pixels of the image + beta * kld(mu, log_var) ].

    Inputs:
    - x_hat: (N, 1, 64, 64) reconstructions, values in [0, 1]
    - x: (N, 1, 64, 64) target images, values in [0, 1]
    - mu, log_var: (N, Z) the encoder's outputs for the same images
    - beta: a float, the weight of the KL term (1.0 gives the ordinary negative ELBO)

    Returns:
    - a scalar tensor (0-dimensional)
    """
    loss = None
    # ============================== TODO ==============================
    # Binary cross-entropy summed over pixels (torch.nn.functional), plus
    # beta * kld, averaged over the N images.
    # ==================================================================
    raise NotImplementedError("TODO: fill in vae_loss (vae.py)")
    # ========================== END OF TODO ===========================
    return loss


class VAE(nn.Module):
    def __init__(self, latent_dim=LATENT_DIM, dropout=DROPOUT):
        """A convolutional VAE for 64 x 64 glyphs.

        Inputs:
        - latent_dim: Z, the size of the latent code (at most 32)
        - dropout: the dropout probability of the encoder's Dropout layer

        Attributes to build (each an ``nn.Module``):
        - self.encoder: (N, 1, 64, 64) -> (N, H): convolutions with ReLUs, at least one pooling
          layer (e.g. nn.MaxPool2d), one nn.Dropout, then nn.Flatten and a Linear+ReLU to H features
        - self.mu_layer: (N, H) -> (N, Z), a Linear layer giving the posterior mean
        - self.log_var_layer: (N, H) -> (N, Z), a Linear layer giving the posterior log-variance
        - self.decoder: (N, Z) -> (N, 1, 64, 64): Linear layers and an nn.Unflatten to a small
          feature map, then nn.ConvTranspose2d layers that double its size, each but the last
          followed by nn.BatchNorm2d and a ReLU, and a final nn.Sigmoid so pixels lie in [0, 1]

        A design that works (H = 256): Conv 1->16 (kernel 4, stride 2) 64->32, Conv 16->32
        (kernel 4, stride 2) 32->16, MaxPool 16->8, Conv 32->64 (kernel 3, padding 1), MaxPool 8->4,
        Dropout, Flatten (1024), Linear to 256; the decoder mirrors it with four ConvTranspose2d
        (kernel 4, stride 2, padding 1) 4->8->16->32->64.
        """
        super().__init__()
        self.latent_dim = latent_dim  # Z
        self.encoder = None
        self.mu_layer = None
        self.log_var_layer = None
        self.decoder = None
        # ============================== TODO ==============================
        # Build the encoder, mu_layer, log_var_layer and decoder described
        # in the docstring above.
        # ==================================================================
        raise NotImplementedError("TODO: fill in VAE.__init__ (vae.py)")
        # ========================== END OF TODO ===========================

    def forward(self, x):
        """Encode, sample a code with reparametrize, decode.

        Inputs:
        - x: (N, 1, 64, 64) images with values in [0, 1]

        Returns a tuple ``(x_hat, mu, log_var)``:
        - x_hat: (N, 1, 64, 64) reconstructions, values in [0, 1]
        - mu: (N, Z) posterior means
        - log_var: (N, Z) posterior log-variances
        """
        x_hat, mu, log_var = None, None, None
        # ============================== TODO ==============================
        # Run the encoder, the two heads, reparametrize() and the decoder.
        # ==================================================================
        raise NotImplementedError("TODO: fill in VAE.forward (vae.py)")
        # ========================== END OF TODO ===========================
        return x_hat, mu, log_var


def distort(images, strength=DISTORTION, generator=None):
    """Given: small random rotations, shears, scalings and shifts of a batch of glyphs.

    Training the encoder on distorted glyphs while asking the decoder for the clean ones teaches
    the codes to ignore how a particular hand slants or places a sign: an idea you may use.

    Inputs:
    - images: (N, 1, 64, 64) in [0, 1]
    - strength: 0 returns the images unchanged; 1 rotates by up to about 10 degrees, shears by up
      to 0.15, scales by up to 10 % and shifts by up to 3 pixels
    - generator: an optional torch.Generator for the random draws

    Returns:
    - (N, 1, 64, 64) distorted images in [0, 1]
    """
    if strength <= 0:
        return images
    n = images.shape[0]

    def uniform(scale):
        return (torch.rand(n, generator=generator) * 2 - 1) * scale * strength

    angle, scale, shear = uniform(0.17), 1 + uniform(0.1), uniform(0.15)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = scale * torch.cos(angle)
    theta[:, 0, 1] = -scale * torch.sin(angle) + shear
    theta[:, 1, 0] = scale * torch.sin(angle)
    theta[:, 1, 1] = scale * torch.cos(angle)
    theta[:, 0, 2], theta[:, 1, 2] = uniform(0.1), uniform(0.1)
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False).clamp(0, 1)


def train_vae(images, epochs=EPOCHS, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, beta=BETA,
              seed=0, verbose=False):
    """Train a new ``VAE()`` on ``images`` and return it with its loss curve.

    Inputs:
    - images: (N, 1, 64, 64) training glyphs in [0, 1] (no labels: the training is unsupervised)
    - epochs, batch_size, learning_rate, beta: the training settings (defaults: the constants above)
    - seed: seeds torch before the model is built, so the same call trains the same model
    - verbose: print the loss of every epoch

    Returns a tuple ``(model, losses)``:
    - model: the trained VAE, in eval mode
    - losses: a list of ``epochs`` floats, the mean of ``vae_loss`` over the batches of each epoch
    """
    torch.manual_seed(seed)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    shuffle = torch.Generator().manual_seed(seed)
    losses = []
    n = images.shape[0]
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=shuffle)
        total, batches = 0.0, 0
        start = time.monotonic()
        # ============================== TODO ==============================
        # One epoch: for each batch of `batch_size` images taken in `order`,
        # run the model, compute vae_loss(..., beta=beta), zero the gradients,
        # backpropagate and step the optimizer; add the loss's value to total
        # and count the batch. (Idea: feed the encoder distort(x) but keep
        # the clean x as the target of vae_loss.)
        # ==================================================================
        raise NotImplementedError("TODO: fill in train_vae (vae.py)")
        # ========================== END OF TODO ===========================
        losses.append(total / max(batches, 1))
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.1f} per image ({time.monotonic() - start:.1f} s)",
                  flush=True)
    model.eval()
    return model, losses


def encode(model, images, batch_size=256):
    """The latent codes of ``images``: the posterior means mu of the model in eval mode.

    Inputs:
    - model: a trained VAE
    - images: (N, 1, 64, 64) glyphs in [0, 1]
    - batch_size: how many images go through the model at once

    Returns:
    - codes: float32 tensor (N, Z) on the CPU, row i the code of image i; no gradients
    """
    codes = None
    # ============================== TODO ==============================
    # Put the model in eval mode (dropout off, batch norm frozen), run the
    # images through it in batches without gradients and keep mu.
    # ==================================================================
    raise NotImplementedError("TODO: fill in encode (vae.py)")
    # ========================== END OF TODO ===========================
    return codes


# ------------------------------------------------------------------------------------ given
def _kit_root():
    """Given: make the course kit's ``data`` package importable (the kit is the folder holding data/signs.py)."""
    for folder in HERE.parents:
        if (folder / "data" / "signs.py").is_file():
            if str(folder) not in sys.path:
                sys.path.append(str(folder))
            return
    import importlib.util

    if importlib.util.find_spec("data") is None:  # not importable through PYTHONPATH either
        raise SystemExit(f"Cannot find the course kit (a folder with data/signs.py) above {HERE}; "
                         "set PYTHONPATH to the kit's folder.")


def save_codes(codes, split, folder=OUTPUT_DIR):
    """Given: write codes (N, Z) as ``folder/{split}.npy``, float32, rows in the data's order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = np.ascontiguousarray(torch.as_tensor(codes).detach().cpu().numpy(), dtype=np.float32)
    np.save(folder / f"{split}.npy", array, allow_pickle=False)
    return folder / f"{split}.npy"


def main(argv=None):
    """Given: train on the train glyphs, encode dev and test, save the codes and the loss curve."""
    parser = argparse.ArgumentParser(description="Homework 5: train the VAE and save the dev and test codes.")
    parser.add_argument("--epochs", type=int, default=None, help=f"default: EPOCHS ({EPOCHS})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one epoch on 256 glyphs, to test the pipeline")
    parser.add_argument("--out", default=str(OUTPUT_DIR), help="folder for dev.npy and test.npy")
    args = parser.parse_args(argv)
    _kit_root()
    from data import signs

    train = signs.tensors("train")
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else EPOCHS)
    if args.quick:
        train = train[:256]
    start = time.monotonic()
    model, losses = train_vae(train, epochs=epochs, seed=args.seed, verbose=True)
    seconds = time.monotonic() - start
    out = Path(args.out)
    for split in ("dev", "test"):
        print("Saved", save_codes(encode(model, signs.tensors(split)), split, out))
    record = {"losses": [float(v) for v in losses], "seconds": seconds, "epochs": epochs,
              "latent_dim": int(model.latent_dim), "quick": bool(args.quick)}
    (out / "training.json").write_text(json.dumps(record, indent=2))
    print(f"Trained {epochs} epoch(s) in {seconds:.0f} s. Score the dev codes with: python check.py")
    return model, losses


if __name__ == "__main__":
    try:
        main()
    except NotImplementedError as todo:
        raise SystemExit(f"Not finished yet: {todo}. Fill in that TODO region (or run default.py to see the "
                         "whole pipeline with the given weak model).")
