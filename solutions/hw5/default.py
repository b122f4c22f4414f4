"""Homework 5: the given default, a tiny and barely trained VAE that runs the whole pipeline.

    python default.py          # trains for one epoch (a few seconds), writes outputs/dev.npy and test.npy
    python check.py            # scores the dev codes the way the grader will

This file is complete: nothing to fill in. It has the same functions and signatures as
``answer/vae.py`` (``reparametrize``, ``kld``, ``vae_loss``, ``VAE``, ``train_vae``, ``encode``), so
you can see every step work end to end before you write your own VAE, and you may read it for
the pieces. Its model is deliberately weak: a fully connected encoder with 32 hidden units, a
two-dimensional code and a single epoch of training. Its codes score only a few points (about a
D in the grade table). Your convolutional VAE in ``answer/vae.py`` is what the grader trains and
scores: the grader never runs this file.
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

HERE = Path(__file__).resolve().parent
OUTPUT_DIR = (HERE.parent if HERE.name == "answer" else HERE) / "outputs"

LATENT_DIM = 2
HIDDEN = 32
EPOCHS = 1
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
BETA = 1.0


def reparametrize(mu, log_var):
    """z = mu + exp(log_var / 2) * epsilon, epsilon ~ N(0, I). mu, log_var, z: (N, Z)."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


def kld(mu, log_var):
    """KL(N(mu, exp(log_var)) || N(0, I)) per image, summed over latents. (N, Z) -> (N,)."""
    return -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)


def vae_loss(x_hat, x, mu, log_var, beta=BETA):
    """Mean over images of BCE summed over pixels + beta * KL. x_hat, x: (N, 1, 64, 64) -> scalar."""
    bce = F.binary_cross_entropy(x_hat, x, reduction="sum")
    return (bce + beta * kld(mu, log_var).sum()) / x.shape[0]


class VAE(nn.Module):
    """A tiny fully connected VAE: (N, 1, 64, 64) -> codes (N, 2) -> (N, 1, 64, 64)."""

    def __init__(self, latent_dim=LATENT_DIM, hidden=HIDDEN):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64 * 64, hidden), nn.ReLU())
        self.mu_layer = nn.Linear(hidden, latent_dim)
        self.log_var_layer = nn.Linear(hidden, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, 64 * 64),
                                     nn.Sigmoid(), nn.Unflatten(1, (1, 64, 64)))

    def forward(self, x):
        """x: (N, 1, 64, 64) -> (x_hat (N, 1, 64, 64), mu (N, Z), log_var (N, Z))."""
        hidden = self.encoder(x)
        mu, log_var = self.mu_layer(hidden), self.log_var_layer(hidden)
        return self.decoder(reparametrize(mu, log_var)), mu, log_var


def train_vae(images, epochs=EPOCHS, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, beta=BETA,
              seed=0, verbose=False):
    """Train a new VAE on images (N, 1, 64, 64); return (model in eval mode, per-epoch mean losses)."""
    torch.manual_seed(seed)
    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    shuffle = torch.Generator().manual_seed(seed)
    losses = []
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(images.shape[0], generator=shuffle)
        total, batches = 0.0, 0
        for first in range(0, images.shape[0], batch_size):
            x = images[order[first:first + batch_size]]
            x_hat, mu, log_var = model(x)
            loss = vae_loss(x_hat, x, mu, log_var, beta=beta)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        losses.append(total / max(batches, 1))
        if verbose:
            print(f"epoch {epoch + 1}/{epochs}: loss {losses[-1]:.1f} per image", flush=True)
    model.eval()
    return model, losses


def encode(model, images, batch_size=256):
    """Posterior means of images (N, 1, 64, 64) in eval mode: float32 (N, Z) on the CPU."""
    model.eval()
    with torch.no_grad():
        codes = torch.cat([model(images[i:i + batch_size])[1] for i in range(0, images.shape[0], batch_size)])
    return codes.float().cpu()


def save_codes(codes, split, folder=OUTPUT_DIR):
    """Write codes (N, Z) as ``folder/{split}.npy``, float32, rows in the data's order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    array = np.ascontiguousarray(torch.as_tensor(codes).detach().cpu().numpy(), dtype=np.float32)
    np.save(folder / f"{split}.npy", array, allow_pickle=False)
    return folder / f"{split}.npy"


def main(argv=None):
    """Train the default on the train glyphs, encode dev and test, save the codes."""
    parser = argparse.ArgumentParser(description="Homework 5: the given weak default, end to end.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(OUTPUT_DIR), help="folder for dev.npy and test.npy")
    args = parser.parse_args(argv)
    for folder in HERE.parents:  # make the kit's data package importable
        if (folder / "data" / "signs.py").is_file() and str(folder) not in sys.path:
            sys.path.append(str(folder))
    from data import signs

    start = time.monotonic()
    model, losses = train_vae(signs.tensors("train"), seed=args.seed, verbose=True)
    out = Path(args.out)
    for split in ("dev", "test"):
        print("Saved", save_codes(encode(model, signs.tensors(split)), split, out))
    record = {"losses": losses, "seconds": time.monotonic() - start, "epochs": EPOCHS,
              "latent_dim": LATENT_DIM, "model": "default"}
    (out / "training.json").write_text(json.dumps(record, indent=2))
    print("These are the weak default's codes. Score them with: python check.py")
    return model, losses


if __name__ == "__main__":
    main()
