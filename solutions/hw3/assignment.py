"""Homework 3, part 2: how well do VAE codes interpolate?

Run from anywhere:   python stencil/hw3/assignment.py [--num_epochs 10] [--seed 0] [--load_weights]
or call ``main(parseArguments([...]))`` from the homework notebook.

It trains the VAE of ``vae.py`` on the MNIST training set, then draws pairs of TEST images and
decodes points on the straight line between their codes. You fill in ``create_interpolates``,
``same_digit_pairs``, ``different_digit_pairs`` and ``interpolation_grid`` (the regions fenced by
TODO banners). Everything else is given scaffolding: read it, but keep it as it is.

Shapes used in the docstrings: images are float tensors (28, 28) with values in [0, 1]; a batch of
them is (N, 28, 28); codes are (N, Z).
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

from vae import Decoder, Encoder, sample, train, vae_loss  # noqa: E402

OUTPUT_DIR = HERE / "outputs"
CHECKPOINT_DIR = HERE / "checkpoints"
SAME_DIGIT_FIGURE = "interpolation_same_digit.png"
DIFFERENT_DIGITS_FIGURE = "interpolation_different_digits.png"
LOSSES_FILE = "losses.json"
NUM_INTERIOR = 7  # decoded points strictly between the two images of a pair
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def parseArguments(argv=None):
    """Given: the command-line options (``argv=None`` reads ``sys.argv``; pass ``[]`` for defaults)."""
    parser = argparse.ArgumentParser(description="Homework 3: train a VAE, interpolate between test digits.")
    parser.add_argument("--load_weights", action="store_true", help="load saved weights, skip training")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--num_epochs", type=int, default=10)
    parser.add_argument("--latent_dim", type=int, default=20)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0, help="seeds training and the choice of pairs")
    return parser.parse_args(argv)


def load_images(split):
    """Given: all images and labels of an MNIST split.

    Inputs:
    - split: "train" (60,000 images) or "test" (10,000 images)

    Returns ``(images, labels)``:
    - images: float32 tensor (N, 28, 28), values in [0, 1]
    - labels: int64 tensor (N,), digits 0-9
    """
    from data import mnist

    images, labels = mnist.load(split)
    return torch.tensor(images).float().div_(255.0), torch.tensor(labels).long()


def create_interpolates(A, B, encoder, decoder):
    """Walk in a straight line from the code of A to the code of B and decode the way points.

    The code of an image is the MEAN of its posterior, mu (not a random sample, which would make
    the pictures change every time you run this). With mu_A and mu_B the means of A and B, the
    interior codes are

        z_k = (1 - k / 8) * mu_A + (k / 8) * mu_B        for k = 1, 2, ..., 7.

    Inputs:
    - A, B: float tensors (28, 28) with values in [0, 1], two single images
    - encoder: an ``Encoder`` (maps (N, 28, 28) to (mu, logvar)); decoder: a ``Decoder``

    Returns:
    - images: float tensor (9, 28, 28), in this order: A itself (the original image, not its
      reconstruction), the decodes of z_1, ..., z_7, then B itself
    """
    images = None
    # ============================== TODO ==============================
    # Encode A and B together (stack them into a batch of 2), keep the
    # means, build the 7 interior codes, decode them, and put A and B
    # around them. No gradients are needed here (torch.no_grad()).
    # ==================================================================
    ### BEGIN SOLUTION
    device = next(decoder.parameters()).device
    with torch.no_grad():
        ends = torch.stack([A, B]).to(device)
        mu, _ = encoder(ends)
        weights = torch.arange(1, NUM_INTERIOR + 1, dtype=mu.dtype, device=device) / (NUM_INTERIOR + 1)
        weights = weights.unsqueeze(1)                      # (7, 1)
        codes = (1 - weights) * mu[0] + weights * mu[1]     # (7, Z)
        middle = decoder(codes).reshape(NUM_INTERIOR, *A.shape)
        images = torch.cat([ends[:1], middle, ends[1:]]).to(A.device)
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return images


def same_digit_pairs(seed=0):
    """Draw one random pair of two different TEST images for each digit 0, 1, ..., 9.

    Use ``load_images("test")`` and a ``torch.Generator`` seeded with ``seed`` for every random
    choice (e.g. ``torch.randperm(n, generator=g)``), so that the same seed always gives the same
    pairs and different seeds give different ones, whatever the global random state.

    Inputs:
    - seed: an int

    Returns ``(A, B)``, two float tensors (10, 28, 28): for every digit d, A[d] and B[d] are two
    different test images of digit d (row d of the figure goes from A[d] to B[d])
    """
    A, B = None, None
    # ============================== TODO ==============================
    # For each digit, pick two different random test images of it.
    # ==================================================================
    ### BEGIN SOLUTION
    images, labels = load_images("test")
    generator = torch.Generator().manual_seed(seed)
    first, second = [], []
    for digit in range(10):
        candidates = torch.nonzero(labels == digit).flatten()
        i, j = candidates[torch.randperm(len(candidates), generator=generator)[:2]].tolist()
        first.append(i)
        second.append(j)
    A, B = images[first], images[second]
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return A, B


def different_digit_pairs(seed=0):
    """Draw 10 random pairs of TEST images that show different digits.

    Same rules as ``same_digit_pairs``: ``load_images("test")``, and every random choice from a
    ``torch.Generator`` seeded with ``seed``.

    Inputs:
    - seed: an int

    Returns ``(A, B)``, two float tensors (10, 28, 28): for every row r, A[r] and B[r] are test
    images whose digits differ
    """
    A, B = None, None
    # ============================== TODO ==============================
    # Draw random pairs of test images; keep a pair only if the two
    # digits differ, until you have 10.
    # ==================================================================
    ### BEGIN SOLUTION
    images, labels = load_images("test")
    generator = torch.Generator().manual_seed(seed)
    first, second = [], []
    while len(first) < 10:
        i, j = torch.randint(len(labels), (2,), generator=generator).tolist()
        if labels[i] != labels[j]:
            first.append(i)
            second.append(j)
    A, B = images[first], images[second]
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return A, B


def interpolation_grid(A, B, encoder, decoder):
    """The images of a whole figure: one ``create_interpolates`` row per pair.

    Inputs:
    - A, B: float tensors (N, 28, 28), the first and second images of N pairs
    - encoder, decoder: as in ``create_interpolates``

    Returns:
    - grid: float tensor (N, 9, 28, 28); grid[r] is create_interpolates(A[r], B[r], ...), so the
      left column holds the A images and the right column the B images
    """
    grid = None
    # ============================== TODO ==============================
    # One line: stack the rows, in the order of the pairs.
    # ==================================================================
    ### BEGIN SOLUTION
    grid = torch.stack([create_interpolates(a, b, encoder, decoder) for a, b in zip(A, B)])
    ### END SOLUTION
    # ========================== END OF TODO ===========================
    return grid


# ----------------------------------------------------------------------------------- given
def build_model(args):
    """Given: a fresh encoder and decoder of size ``args.latent_dim`` and one Adam optimizer
    over both (the grader builds them the same way)."""
    encoder = Encoder(args.latent_dim).to(DEVICE)
    decoder = Decoder(args.latent_dim).to(DEVICE)
    optimizer = torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=args.learning_rate)
    return encoder, decoder, optimizer


def load_mnist(batch_size, seed=0, limit=None):
    """Given: a shuffled DataLoader over the MNIST TRAINING set, yielding ``(x, y)`` with x float32
    (B, 1, 28, 28) in [0, 1] and y int64 (B,); ``limit`` keeps only the first images."""
    from data import mnist

    return mnist.loader("train", batch_size=batch_size, shuffle=True, seed=seed, limit=limit)


@torch.no_grad()
def evaluate_test_loss(encoder, decoder, batch_size=1000):
    """Given: the per-image negative ELBO (your ``vae_loss``) over the 10,000 test images."""
    encoder.eval()
    decoder.eval()
    images, _ = load_images("test")
    total = 0.0
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(DEVICE)
        mu, logvar = encoder(x)
        total += float(vae_loss(x, decoder(sample(mu, logvar)), mu, logvar)) * len(x)
    return total / len(images)


def save_model_weights(encoder, decoder):
    """Given: save both networks' weights to ``checkpoints/vae.pt`` beside this file."""
    CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)
    path = CHECKPOINT_DIR / "vae.pt"
    torch.save({"encoder": encoder.state_dict(), "decoder": decoder.state_dict()}, path)
    print(f"Saved weights to {path}")


def load_weights(encoder, decoder):
    """Given: load the weights saved by ``save_model_weights``."""
    path = CHECKPOINT_DIR / "vae.pt"
    if not path.is_file():
        raise SystemExit(f"No saved weights at {path}: train first (run without --load_weights).")
    state = torch.load(path, map_location=DEVICE, weights_only=True)
    encoder.load_state_dict(state["encoder"])
    decoder.load_state_dict(state["decoder"])


def save_grid(grid, path, title, row_labels=None):
    """Given: draw an (N, 9, 28, 28) grid (one pair per row, A on the left, B on the right) and
    save it as a PNG; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = grid.detach().cpu().reshape(grid.shape[0], grid.shape[1], 28, 28)
    rows, cols = grid.shape[0], grid.shape[1]
    headers = ["A"] + [f"{k}/{cols - 1}" for k in range(1, cols - 1)] + ["B"]
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.85, rows * 0.85 + 0.6), squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.imshow(grid[r, c], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(headers[c], fontsize=9)
            if c == 0 and row_labels is not None:
                ax.set_ylabel(str(row_labels[r]), rotation=0, labelpad=16, va="center")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def save_losses(losses, test, args):
    """Given: write the training loss of every epoch and the test loss to outputs/losses.json."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {"model": "vae", "per_image_loss": [float(v) for v in losses], "test_loss": float(test),
              "args": vars(args)}
    (OUTPUT_DIR / LOSSES_FILE).write_text(json.dumps(record, indent=2))


def digits_of(images):
    """Given: the label of each image (N, 28, 28) found in the test set, or "?" for an image that
    is not a test image. Used only to label the rows of the figures."""
    test_images, test_labels = load_images("test")
    flat = test_images.flatten(1)
    found = []
    for image in images.detach().cpu().float():
        distance = (flat - image.flatten()).abs().sum(dim=1)
        index = int(distance.argmin())
        found.append(str(int(test_labels[index])) if float(distance[index]) < 1e-3 else "?")
    return found


def make_figures(encoder, decoder, seed):
    """Given: draw the pairs with ``seed`` and save the two interpolation figures; each row is
    labelled with the digits of its two test images."""
    encoder.eval()
    decoder.eval()
    paths = []
    for pairs, name, title in ((same_digit_pairs, SAME_DIGIT_FIGURE,
                                f"Same digit: one pair of test images per digit (seed {seed})"),
                               (different_digit_pairs, DIFFERENT_DIGITS_FIGURE,
                                f"Different digits: 10 pairs of test images (seed {seed})")):
        A, B = pairs(seed)
        labels = [f"{a}\u2192{b}" for a, b in zip(digits_of(A), digits_of(B))]
        paths.append(save_grid(interpolation_grid(A, B, encoder, decoder), OUTPUT_DIR / name, title, labels))
    return paths


def main(args, train_loader=None):
    """Given: train the VAE (or load its weights), report the test loss, save the two figures.
    ``train_loader`` defaults to the whole training set (the notebook passes a small one in
    its quick mode)."""
    torch.manual_seed(args.seed)
    encoder, decoder, optimizer = build_model(args)
    if args.load_weights:
        load_weights(encoder, decoder)
    else:
        loader = train_loader if train_loader is not None else load_mnist(args.batch_size, args.seed)
        losses = train(encoder, decoder, loader, optimizer, num_epochs=args.num_epochs)
        save_model_weights(encoder, decoder)
        test = evaluate_test_loss(encoder, decoder)
        print(f"test-set negative ELBO per image: {test:.2f}")
        save_losses(losses, test, args)
    for path in make_figures(encoder, decoder, args.seed):
        print("Saved", path)
    return encoder, decoder


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
