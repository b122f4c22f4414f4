"""Homework 1: training the autoencoder of ``autoencoder.py`` on MNIST with a loss derived from a
likelihood (``likelihoods.py``), then using its decoder alone as a generator.

Run from anywhere:   python stencil/hw1/assignment.py [--likelihood bernoulli] [--num_epochs 5] ...
or call ``main(parseArguments([...]))`` from the homework notebook.

You fill in the body of ``train_autoencoder`` (the region fenced by TODO banners). Everything else
is given scaffolding: read it, but keep it as it is.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
# Given: lets this file find the course's ``data`` package when run from the kit's folder.
if (HERE.parents[1] / "data" / "__init__.py").is_file() and str(HERE.parents[1]) not in sys.path:
    sys.path.append(str(HERE.parents[1]))

from autoencoder import Autoencoder, encode_dataset, sample_gaussian, sample_uniform  # noqa: E402
from likelihoods import bernoulli_nll, gaussian_nll  # noqa: E402

OUTPUT_DIR = HERE / "outputs"
CHECKPOINT_DIR = HERE / "checkpoints"
LIKELIHOODS = ("gaussian", "bernoulli")
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parseArguments(argv=None):
    """Given: the command-line options (``argv=None`` reads ``sys.argv``; pass ``[]`` for defaults)."""
    parser = argparse.ArgumentParser(description="Homework 1: train an autoencoder on MNIST.")
    parser.add_argument("--likelihood", choices=LIKELIHOODS, default="gaussian",
                        help="p(x | z) whose negative log-likelihood is the loss")
    parser.add_argument("--sigma", type=float, default=1.0,
                        help="standard deviation of every pixel under the Gaussian likelihood")
    parser.add_argument("--load_weights", action="store_true", help="load saved weights, skip training")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--num_epochs", type=int, default=5)
    parser.add_argument("--latent_size", type=int, default=16)
    parser.add_argument("--input_size", type=int, default=28 * 28)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def nll_per_image(x_hat, x, args):
    """Given: the negative log-likelihood of every image of a batch under the likelihood that
    ``args.likelihood`` names, with the decoder's output ``x_hat`` as its parameters.

    Inputs:
    - x_hat: (N, 1, 28, 28), the decoder's output (the Gaussian's mean, or the Bernoulli's p)
    - x: (N, 1, 28, 28), the images
    - args: the options of ``parseArguments`` (``args.likelihood``, ``args.sigma``)

    Returns:
    - float tensor (N,)
    """
    if args.likelihood == "gaussian":
        return gaussian_nll(x, x_hat, args.sigma)
    if args.likelihood == "bernoulli":
        return bernoulli_nll(x, x_hat)
    raise ValueError(f"unknown likelihood {args.likelihood!r} (choose from {', '.join(LIKELIHOODS)})")


def get_optimizer(model, args):
    """Given: one Adam optimizer per model, made on first use and kept on the model, so that
    calling ``train_autoencoder`` once per epoch keeps Adam's running statistics."""
    if getattr(model, "_hw1_optimizer", None) is None:
        model._hw1_optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    return model._hw1_optimizer


def train_autoencoder(model, train_loader, args):
    """Train ``model`` for ONE epoch over ``train_loader``.

    Inputs:
    - model: an ``Autoencoder``
    - train_loader: yields ``(x, y)`` with x float (B, 1, 28, 28) in [0, 1] and y int (B,)
      (the labels are not used: an autoencoder learns without them)
    - args: the options of ``parseArguments`` (the likelihood, sigma and learning rate)

    Returns:
    - total_loss: a Python float, the SUM over batches of the batch's loss, where a batch's loss is
      the MEAN over its images of ``nll_per_image(x_hat, x, args)``; so
      ``total_loss / len(train_loader)`` is the epoch's NLL per image.
    """
    optimizer = get_optimizer(model, args)
    device = next(model.parameters()).device
    model.train()
    total_loss = 0.0
    for x, _ in train_loader:
        x = x.to(device)
        # ============================== TODO ==============================
        # For each batch: reconstruct x with the model, compute the loss (the
        # mean over the batch of nll_per_image), zero the gradients,
        # backpropagate, step the optimizer, and add the loss's value
        # (loss.item()) to total_loss.
        # ==================================================================
        ### BEGIN SOLUTION
        loss = nll_per_image(model(x), x, args).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        ### END SOLUTION
        # ========================== END OF TODO ===========================
    return total_loss


def load_mnist(batch_size, split="train", shuffle=True, limit=None):
    """Given: a DataLoader over an MNIST split, yielding ``(x, y)`` with x float32
    (B, 1, 28, 28) in [0, 1] and y int64 (B,). Data comes from the kit's ``data`` package (see
    the README for where it looks); ``limit`` keeps only the first ``limit`` images."""
    from data import mnist

    return mnist.loader(split, batch_size=batch_size, shuffle=shuffle, limit=limit)


@torch.no_grad()
def reconstruction_error(model, loader):
    """Given: the squared error ||x - x_hat||^2 per image (summed over the 784 pixels), averaged
    over every image of ``loader``. This is what the autograder measures on test images."""
    model.eval()
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for x, _ in loader:
        x = x.to(device)
        total += float((model(x) - x).pow(2).flatten(start_dim=1).sum())
        count += x.shape[0]
    return total / max(count, 1)


def _checkpoint(args):
    return CHECKPOINT_DIR / f"ae_{args.likelihood}.pt"


def save_model_weights(model, args):
    """Given: save the model's weights under ``checkpoints/`` beside this file."""
    CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), _checkpoint(args))
    print(f"Saved weights to {_checkpoint(args)}")


def load_weights(model, args):
    """Given: load weights saved by ``save_model_weights`` into ``model`` and return it."""
    path = _checkpoint(args)
    if not path.is_file():
        raise SystemExit(f"No saved weights at {path}: train first (run without --load_weights).")
    model.load_state_dict(torch.load(path, map_location=DEVICE, weights_only=True))
    return model


def _save_grid(images, rows, cols, path, title, row_labels=None):
    """Given: save a rows x cols grid of (rows*cols, 1, 28, 28) images as one PNG mosaic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    gap = 2
    tiles = images.detach().cpu().reshape(rows, cols, 28, 28)
    mosaic = torch.ones(rows * (28 + gap) - gap, cols * (28 + gap) - gap)
    for r in range(rows):
        for c in range(cols):
            mosaic[r * (28 + gap):r * (28 + gap) + 28, c * (28 + gap):c * (28 + gap) + 28] = tiles[r, c]
    fig, ax = plt.subplots(figsize=(cols * 0.6 + (1.0 if row_labels else 0.2), rows * 0.6 + 0.5))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([r * (28 + gap) + 14 for r in range(rows)], [str(label) for label in row_labels])
        ax.tick_params(length=0)
    else:
        ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


@torch.no_grad()
def show_reconstructions(model, args, count=10):
    """Given: the first ``count`` test images (top row) and their reconstructions (bottom row);
    saves outputs/{likelihood}_reconstructions.png."""
    from data import mnist

    model.eval()
    device = next(model.parameters()).device
    x, _ = next(iter(mnist.loader("test", batch_size=count, shuffle=False)))
    x_hat = model(x.to(device)).cpu()
    return _save_grid(torch.cat([x, x_hat]), 2, count, OUTPUT_DIR / f"{args.likelihood}_reconstructions.png",
                      f"Test images and reconstructions ({args.likelihood} likelihood)", ["input", "output"])


@torch.no_grad()
def show_decoded_codes(model, codes, args, kind):
    """Given: decode 100 random codes drawn by ``sample_uniform`` (``kind="uniform"``) or
    ``sample_gaussian`` (``kind="fitted"``) from the training codes; saves
    outputs/{likelihood}_{kind}_codes.png."""
    model.eval()
    device = next(model.parameters()).device
    sampler = {"uniform": sample_uniform, "fitted": sample_gaussian}[kind]
    title = {"uniform": "uniform in the training codes' box", "fitted": "Gaussian fitted to the training codes"}[kind]
    z = sampler(codes, 100)
    images = model.decoder(z.to(device))
    return _save_grid(images, 10, 10, OUTPUT_DIR / f"{args.likelihood}_{kind}_codes.png",
                      f"Decoded random codes: {title}")


def _save_losses(losses, test_error, args):
    """Given: write the NLL per image of every epoch and the test reconstruction error to
    outputs/{likelihood}_losses.json."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {"likelihood": args.likelihood, "per_image_loss": losses,
              "test_squared_error": test_error, "args": vars(args)}
    path = OUTPUT_DIR / f"{args.likelihood}_losses.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def main(args):
    """Given: build the model, train it (or load weights), save weights, losses and figures."""
    from tqdm.auto import tqdm

    torch.manual_seed(args.seed)
    model = Autoencoder(args.input_size, latent_size=args.latent_size).to(DEVICE)
    losses = []
    if args.load_weights:
        load_weights(model, args)
    else:
        train_loader = load_mnist(args.batch_size)
        for epoch in range(1, args.num_epochs + 1):
            batches = tqdm(train_loader, desc=f"epoch {epoch}/{args.num_epochs}", leave=False, disable=None)
            total = train_autoencoder(model, batches, args)
            losses.append(total / len(train_loader))
            print(f"epoch {epoch}: {args.likelihood} NLL per image {losses[-1]:.2f}")
        save_model_weights(model, args)
    test_error = reconstruction_error(model, load_mnist(1000, split="test", shuffle=False))
    print(f"test squared error per image: {test_error:.2f}")
    if losses:
        print("Saved", _save_losses(losses, test_error, args))
    print("Saved", show_reconstructions(model, args))
    codes = encode_dataset(model, load_mnist(1000, shuffle=False))
    print("Saved", show_decoded_codes(model, codes, args, "uniform"))
    print("Saved", show_decoded_codes(model, codes, args, "fitted"))
    return model


def _run_from_command_line():
    """Given: run ``main``, turning the two expected problems into short messages."""
    import traceback

    from data import DataError

    try:
        main(parseArguments())
    except DataError as err:
        raise SystemExit(f"MNIST is not available.\n{err}")
    except NotImplementedError as err:
        frame = traceback.extract_tb(err.__traceback__)[-1]
        raise SystemExit(f"Not finished yet: {err} (raised at {Path(frame.filename).name} line {frame.lineno}). "
                         "Fill in that TODO region, then run again.")


if __name__ == "__main__":
    _run_from_command_line()
