"""Homework 4, part 2: training the VAE and CVAE of ``vae.py`` on MNIST and looking at them.

Run from anywhere:   python stencil/hw4/assignment.py [--is_cvae] [--num_epochs 10] ...
or call ``main(parseArguments([...]))`` from the homework notebook.

You fill in ``one_hot`` and the body of ``train_vae`` (the regions fenced by TODO banners).
Everything else is given scaffolding: read it, but keep it as it is.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
# Given: lets this file find the course's ``data`` package when run from the kit's folder.
if (HERE.parents[1] / "data" / "__init__.py").is_file() and str(HERE.parents[1]) not in sys.path:
    sys.path.append(str(HERE.parents[1]))

from vae import CVAE, VAE, loss_function  # noqa: E402

OUTPUT_DIR = HERE / "outputs"
CHECKPOINT_DIR = HERE / "checkpoints"
NUM_CLASSES = 10
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parseArguments(argv=None):
    """Given: the command-line options (``argv=None`` reads ``sys.argv``; pass ``[]`` for defaults)."""
    parser = argparse.ArgumentParser(description="Homework 4: train a VAE or a CVAE on MNIST.")
    parser.add_argument("--is_cvae", action="store_true", help="train the conditional VAE")
    parser.add_argument("--load_weights", action="store_true", help="load saved weights, skip training")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--num_epochs", type=int, default=10)
    parser.add_argument("--latent_size", type=int, default=15)
    parser.add_argument("--input_size", type=int, default=28 * 28)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    return parser.parse_args(argv)


def one_hot(labels, class_size):
    """Turn integer class labels into one-hot rows.

    Inputs:
    - labels: int tensor (N,) with values in [0, class_size)
    - class_size: C, the number of classes

    Returns:
    - float32 tensor (N, C), on the same device as ``labels``, with a single 1.0 in each row at
      the column of that row's label and 0.0 elsewhere
    """
    targets = None
    # ============================== TODO ==============================
    # Build the one-hot matrix (torch.nn.functional.one_hot or indexing).
    # ==================================================================
    raise NotImplementedError("TODO: fill in one_hot (assignment.py)")
    # ========================== END OF TODO ===========================
    return targets


def get_optimizer(model, args):
    """Given: one Adam optimizer per model, made on first use and kept on the model, so that
    calling ``train_vae`` once per epoch keeps Adam's running statistics."""
    if getattr(model, "_hw4_optimizer", None) is None:
        model._hw4_optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    return model._hw4_optimizer


def train_vae(model, train_loader, args, is_cvae=False):
    """Train ``model`` for ONE epoch over ``train_loader``.

    Inputs:
    - model: a VAE (``is_cvae=False``) or a CVAE (``is_cvae=True``) from vae.py
    - train_loader: yields ``(x, y)`` with x float (B, 1, 28, 28) in [0, 1] and y int (B,)
    - args: the options of ``parseArguments`` (``args.learning_rate`` sets the optimizer)
    - is_cvae: when True, condition the model on ``one_hot(y, 10)``

    Returns:
    - total_loss: a Python float, the SUM over batches of ``loss_function``'s value (each already
      a per-image average), so ``total_loss / len(train_loader)`` is the epoch's per-image loss.
      The autograder recomputes this number from your model: report the real one.
    """
    optimizer = get_optimizer(model, args)
    device = next(model.parameters()).device
    model.train()
    total_loss = 0.0
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        # ============================== TODO ==============================
        # For each batch: run the model (a CVAE also gets one_hot(y, 10)),
        # compute loss_function, zero the gradients, backpropagate, step the
        # optimizer, and add the loss's value to total_loss.
        # ==================================================================
        raise NotImplementedError("TODO: fill in train_vae (assignment.py)")
        # ========================== END OF TODO ===========================
    return total_loss


def load_mnist(batch_size):
    """Given: a shuffled DataLoader over the MNIST training set, yielding ``(x, y)`` with
    x float32 (B, 1, 28, 28) in [0, 1] and y int64 (B,). Data comes from the kit's ``data``
    package (see the README for where it looks)."""
    from data import mnist

    return mnist.loader("train", batch_size=batch_size, shuffle=True)


def _checkpoint(args):
    return CHECKPOINT_DIR / ("cvae.pt" if args.is_cvae else "vae.pt")


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
    """Given: save a rows x cols grid of (rows*cols, 1, 28, 28) images as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = images.detach().cpu().reshape(rows, cols, 28, 28)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.8, rows * 0.8 + 0.4))
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.imshow(images[r, c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if row_labels is not None and c == 0:
                ax.set_ylabel(str(row_labels[r]), rotation=0, labelpad=10)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


@torch.no_grad()
def show_vae_images(model, latent_size):
    """Given: decode 100 codes z ~ N(0, I) with the VAE's decoder; saves outputs/vae_samples.png."""
    model.eval()
    device = next(model.parameters()).device
    z = torch.randn(100, latent_size, device=device)
    return _save_grid(model.decoder(z), 10, 10, OUTPUT_DIR / "vae_samples.png", "VAE samples")


@torch.no_grad()
def show_vae_interpolation(model, latent_size):
    """Given: each row walks in a straight line between two random codes; saves
    outputs/vae_interpolation.png."""
    model.eval()
    device = next(model.parameters()).device
    start, end = torch.randn(10, 1, latent_size, device=device), torch.randn(10, 1, latent_size, device=device)
    weights = torch.linspace(0, 1, 10, device=device).view(1, 10, 1)
    z = (start * (1 - weights) + end * weights).reshape(100, latent_size)
    return _save_grid(model.decoder(z), 10, 10, OUTPUT_DIR / "vae_interpolation.png", "VAE interpolation")


@torch.no_grad()
def show_cvae_images(model, latent_size):
    """Given: row k shows 10 CVAE samples of digit k; saves outputs/cvae_samples.png."""
    model.eval()
    device = next(model.parameters()).device
    digits = torch.arange(NUM_CLASSES, device=device).repeat_interleave(10)
    z = torch.randn(100, latent_size, device=device)
    images = model.decoder(torch.cat([z, one_hot(digits, NUM_CLASSES)], dim=1))
    return _save_grid(images, 10, 10, OUTPUT_DIR / "cvae_samples.png", "CVAE samples by digit",
                      row_labels=list(range(NUM_CLASSES)))


@torch.no_grad()
def report_digit_accuracy(model, latent_size, per_digit=100):
    """Given: how often the course's released MNIST classifier reads the requested digit in
    ``per_digit`` CVAE samples of each digit; prints it and returns it (None without the kit).

    This estimates the graded generation test, which uses the grader's own classifier (full marks
    above 90 %). Write the figure in your README.md. ``python -m autograder check hw4`` prints it too.
    """
    try:
        from autograder.homeworks.hw4 import check_classifier
        classifier = check_classifier.load()
    except (ImportError, RuntimeError) as err:
        print(f"(Cannot score the CVAE's samples here: {err}. Run `python -m autograder check hw4` from the kit.)")
        return None
    model.eval()
    device = next(model.parameters()).device
    digits = torch.arange(NUM_CLASSES).repeat_interleave(per_digit)
    z = torch.randn(digits.shape[0], latent_size, device=device)
    images = model.decoder(torch.cat([z, one_hot(digits.to(device), NUM_CLASSES)], dim=1))
    accuracy, by_digit = check_classifier.digit_accuracy(classifier, images.cpu(), digits)
    print(f"The released classifier reads the requested digit in {check_classifier.describe(accuracy, by_digit)} "
          "of the CVAE's samples (the graded test needs > 90 % with the grader's own classifier).")
    return accuracy


def _save_losses(losses, args):
    """Given: write the per-image loss of every epoch to outputs/losses_{vae,cvae}.json and a plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = "cvae" if args.is_cvae else "vae"
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {"model": name, "per_image_loss": losses, "args": vars(args)}
    (OUTPUT_DIR / f"losses_{name}.json").write_text(json.dumps(record, indent=2))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(range(1, len(losses) + 1), losses, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("negative ELBO per image")
    ax.set_title(f"{name.upper()} training loss")
    fig.tight_layout()
    fig.savefig(OUTPUT_DIR / f"loss_{name}.png", dpi=80)
    plt.close(fig)


def main(args):
    """Given: build the model, train it (or load weights), save weights, losses and figures."""
    from tqdm.auto import tqdm

    if args.is_cvae:
        model = CVAE(args.input_size, num_classes=NUM_CLASSES, latent_size=args.latent_size).to(DEVICE)
    else:
        model = VAE(args.input_size, latent_size=args.latent_size).to(DEVICE)
    if args.load_weights:
        load_weights(model, args)
    else:
        train_loader = load_mnist(args.batch_size)
        losses = []
        for epoch in range(1, args.num_epochs + 1):
            batches = tqdm(train_loader, desc=f"epoch {epoch}/{args.num_epochs}", leave=False, disable=None)
            total = train_vae(model, batches, args, is_cvae=args.is_cvae)
            losses.append(total / len(train_loader))
            print(f"epoch {epoch}: per-image loss {losses[-1]:.2f}")
        _save_losses(losses, args)
        save_model_weights(model, args)
    if args.is_cvae:
        print("Saved", show_cvae_images(model, args.latent_size))
        report_digit_accuracy(model, args.latent_size)
    else:
        print("Saved", show_vae_images(model, args.latent_size))
        print("Saved", show_vae_interpolation(model, args.latent_size))
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
