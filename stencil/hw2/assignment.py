"""Homework 2, part 3: training the emoji autoencoders and looking at what they learned.

Run from anywhere:   python stencil/hw2/assignment.py [--aux] [--epochs 30] ...
or call ``main(parseArguments([...]))`` from the homework notebook.

You fill in the body of ``train_epoch`` (the region fenced by TODO banners). Everything else is
given scaffolding: read it, but keep it as it is.
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

from autoencoder import (AuxAutoencoder, ConvAutoencoder, attribute_vector, aux_loss,  # noqa: E402
                         compose, reconstruction_loss)
from emoji_data import CLASS_NAMES, class_labels, make_splits, select_subset  # noqa: E402

OUTPUT_DIR = HERE / "outputs"
CHECKPOINT_DIR = HERE / "checkpoints"
DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")

# Given: the latent arithmetic of part 3 (names of the subset's emoji).
WITH_ATTRIBUTE = ("nerd face",)                                   # wearing glasses
WITHOUT_ATTRIBUTE = ("grinning face", "grinning face with big eyes")  # the same grin, no glasses
TARGETS = ("face with tongue", "slightly smiling face", "winking face")


def parseArguments(argv=None):
    """Given: the command-line options (``argv=None`` reads ``sys.argv``; pass ``[]`` for defaults)."""
    parser = argparse.ArgumentParser(description="Homework 2: a convolutional autoencoder on emoji.")
    parser.add_argument("--aux", action="store_true", help="train the autoencoder with the auxiliary classifier")
    parser.add_argument("--load_weights", action="store_true", help="load saved weights, skip training")
    parser.add_argument("--keyword", default="face", help="the subset: emoji whose name has this word")
    parser.add_argument("--latent_size", type=int, default=32)
    parser.add_argument("--width", type=int, default=16, help="feature maps of the first convolution")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-3)
    parser.add_argument("--lam", type=float, default=1.0, help="weight of the classification loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sizes", type=int, nargs=3, default=[600, 200, 200],
                        help="train, validation and test images after augmentation")
    return parser.parse_args(argv)


def build_model(args, num_classes=len(CLASS_NAMES)):
    """Given: the model the options ask for."""
    if args.aux:
        return AuxAutoencoder(args.latent_size, num_classes, args.width)
    return ConvAutoencoder(args.latent_size, args.width)


def get_optimizer(model, args):
    """Given: one Adam optimizer per model, made on first use and kept on the model, so that
    calling ``train_epoch`` once per epoch keeps Adam's running statistics."""
    if getattr(model, "_hw2_optimizer", None) is None:
        model._hw2_optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    return model._hw2_optimizer


def train_epoch(model, loader, args, aux=False):
    """Train ``model`` for ONE epoch over ``loader``.

    Inputs:
    - model: a ConvAutoencoder (``aux=False``) or an AuxAutoencoder (``aux=True``)
    - loader: yields ``(x, y)`` with x float (B, 3, 64, 64) in [0, 1] and y int64 (B,) classes
    - args: the options of ``parseArguments`` (``args.lam`` weighs the classification loss)
    - aux: when True the loss is ``aux_loss(x_hat, x, logits, y, args.lam)``; when False it is
      ``reconstruction_loss(x_hat, x)`` and y is not used

    Returns a dict:
    - "mse": float, the average over batches of each batch's ``reconstruction_loss``
    - "accuracy": float, the fraction of this epoch's images whose largest logit is at their
      class (aux only; None when ``aux`` is False)
    """
    optimizer = get_optimizer(model, args)
    device = next(model.parameters()).device
    model.train()
    total_mse, batches, correct, seen = 0.0, 0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        # ============================== TODO ==============================
        # For each batch: run the model, compute the loss (aux_loss when aux
        # is True, else reconstruction_loss), zero the gradients,
        # backpropagate, step the optimizer. Add the batch's reconstruction
        # MSE to total_mse and count the batch; with aux, also count the
        # correct predictions in ``correct`` and the images in ``seen``.
        # ==================================================================
        raise NotImplementedError("TODO: fill in train_epoch (assignment.py)")
        # ========================== END OF TODO ===========================
    return {"mse": total_mse / max(batches, 1), "accuracy": correct / seen if aux and seen else None}


@torch.no_grad()
def evaluate(model, images, labels=None, batch_size=100):
    """Given: the average per-pixel MSE of ``model`` on ``images`` (N, 3, 64, 64), and its accuracy
    on ``labels`` (N,) when the model has a classifier. Returns {"mse": float, "accuracy": float or None}."""
    model.eval()
    device = next(model.parameters()).device
    squared, correct = 0.0, 0
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size].to(device)
        out = model(x)
        x_hat, logits = out if isinstance(out, tuple) else (out, None)
        squared += float(((x_hat - x) ** 2).sum())
        if logits is not None and labels is not None:
            correct += int((logits.argmax(dim=1).cpu() == labels[start:start + batch_size]).sum())
    has_classifier = isinstance(model, AuxAutoencoder) and labels is not None
    return {"mse": squared / images.numel(), "accuracy": correct / images.shape[0] if has_classifier else None}


def load_subset(keyword):
    """Given: the emoji whose name has ``keyword``: (names, images float (K, 3, 64, 64), labels (K,))."""
    from data import emoji

    emojis = emoji.load()
    indices = select_subset(emojis.names, keyword)
    if len(indices) == 0:
        raise SystemExit(f"No emoji name contains the word {keyword!r}.")
    names = [emojis.names[int(i)] for i in indices]
    return names, emojis.tensor(indices), class_labels(names)


def make_loader(images, labels, batch_size, seed):
    """Given: a shuffled DataLoader over (images, labels) in a seeded order."""
    generator = torch.Generator().manual_seed(seed)
    dataset = torch.utils.data.TensorDataset(images, labels)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


def fit(model, splits, labels, args, progress=True):
    """Given: train for ``args.epochs`` epochs; after each, measure the validation set.
    Returns the history: lists of train/validation MSE (and accuracy for the aux model)."""
    from tqdm.auto import tqdm

    train, val = splits["train"], splits["val"]
    train_labels, val_labels = labels[train["source"]], labels[val["source"]]
    loader = make_loader(train["images"], train_labels, args.batch_size, args.seed)
    history = {"train_mse": [], "val_mse": [], "train_accuracy": [], "val_accuracy": []}
    epochs = tqdm(range(1, args.epochs + 1), desc="epochs", disable=None if progress else True, leave=False)
    for epoch in epochs:
        record = train_epoch(model, loader, args, aux=args.aux)
        measured = evaluate(model, val["images"], val_labels)
        history["train_mse"].append(record["mse"])
        history["val_mse"].append(measured["mse"])
        if args.aux:
            history["train_accuracy"].append(record["accuracy"])
            history["val_accuracy"].append(measured["accuracy"])
        text = f"epoch {epoch}: train MSE {record['mse']:.4f}, validation MSE {measured['mse']:.4f}"
        if args.aux:
            text += f", train accuracy {record['accuracy']:.2f}, validation accuracy {measured['accuracy']:.2f}"
        (epochs.write if progress else print)(text)
    return history


def _name(args):
    return "aux" if args.aux else "ae"


def save_model_weights(model, args):
    """Given: save the model's weights under ``checkpoints/`` beside this file."""
    CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)
    path = CHECKPOINT_DIR / f"{_name(args)}.pt"
    torch.save(model.state_dict(), path)
    return path


def load_weights(model, args):
    """Given: load weights saved by ``save_model_weights`` into ``model`` and return it."""
    path = CHECKPOINT_DIR / f"{_name(args)}.pt"
    if not path.is_file():
        raise SystemExit(f"No saved weights at {path}: train first (run without --load_weights).")
    model.load_state_dict(torch.load(path, map_location=DEVICE, weights_only=True))
    return model


@torch.no_grad()
def save_latents(model, names, images, labels, splits, args):
    """Given: the code of every emoji of the subset, with its name, class and split, saved to
    ``checkpoints/latents_{ae,aux}.pt`` (load with ``torch.load(path)``)."""
    model.eval()
    codes = torch.cat([model.encode(images[s:s + 100].to(DEVICE)).cpu() for s in range(0, len(names), 100)])
    split = ["train"] * len(names)
    for key in ("val", "test"):
        for i in splits[key]["indices"].tolist():
            split[i] = key
    CHECKPOINT_DIR.mkdir(parents=True, exist_ok=True)
    path = CHECKPOINT_DIR / f"latents_{_name(args)}.pt"
    torch.save({"codes": codes, "names": names, "labels": labels, "split": split,
                "class_names": list(CLASS_NAMES)}, path)
    return path


def save_history(history, test, args):
    """Given: write the learning curves to outputs/losses_{ae,aux}.json and draw them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = _name(args)
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    record = {"model": name, "per_image_loss": history["train_mse"], **history,
              "test_mse": test["mse"], "test_accuracy": test["accuracy"], "args": vars(args)}
    (OUTPUT_DIR / f"losses_{name}.json").write_text(json.dumps(record, indent=2))
    panels = 2 if args.aux else 1
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.5), squeeze=False)
    epochs = range(1, len(history["train_mse"]) + 1)
    ax = axes[0][0]
    ax.plot(epochs, history["train_mse"], marker="o", label="train")
    ax.plot(epochs, history["val_mse"], marker="o", label="validation")
    ax.axhline(test["mse"], color="grey", linestyle="--", label=f"test (final) {test['mse']:.4f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE per pixel")
    ax.set_yscale("log")
    ax.set_title(f"{'Autoencoder with classifier' if args.aux else 'Autoencoder'}: reconstruction")
    ax.legend()
    if args.aux:
        ax = axes[0][1]
        ax.plot(epochs, history["train_accuracy"], marker="o", label="train")
        ax.plot(epochs, history["val_accuracy"], marker="o", label="validation")
        ax.axhline(test["accuracy"], color="grey", linestyle="--", label=f"test (final) {test['accuracy']:.2f}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"Classifier ({', '.join(CLASS_NAMES)})")
        ax.legend()
    fig.tight_layout()
    path = OUTPUT_DIR / f"curves_{name}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _show(ax, image, title=""):
    ax.imshow(image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy())
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=7)


@torch.no_grad()
def show_reconstructions(model, images, names, args, count=10):
    """Given: test images (top row) and their reconstructions (bottom row);
    saves outputs/reconstructions_{ae,aux}.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    images = images[:count]
    out = model(images.to(DEVICE))
    x_hat = out[0] if isinstance(out, tuple) else out
    fig, axes = plt.subplots(2, images.shape[0], figsize=(images.shape[0] * 1.1, 2.8), squeeze=False)
    for i in range(images.shape[0]):
        _show(axes[0][i], images[i], names[i] if len(names[i]) < 16 else names[i][:14] + "...")
        _show(axes[1][i], x_hat[i])
    axes[0][0].set_ylabel("test image", fontsize=8)
    axes[1][0].set_ylabel("reconstruction", fontsize=8)
    fig.suptitle("Test emoji and their reconstructions", fontsize=9)
    fig.tight_layout()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"reconstructions_{_name(args)}.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


@torch.no_grad()
def show_arithmetic(model, names, images, strengths=(0.5, 1.0, 1.5, 2.0)):
    """Given: latent arithmetic. The attribute vector is the mean code of WITH_ATTRIBUTE minus the
    mean code of WITHOUT_ATTRIBUTE; each row adds it, with growing strength, to the code of one
    emoji of TARGETS. Saves outputs/arithmetic.png and returns (path, vector)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model.eval()
    index = {name: i for i, name in enumerate(names)}
    missing = [n for n in WITH_ATTRIBUTE + WITHOUT_ATTRIBUTE + TARGETS if n not in index]
    if missing:
        raise ValueError(f"these emoji are not in the subset: {missing}")
    pick = lambda chosen: images[[index[n] for n in chosen]].to(DEVICE)  # noqa: E731
    vector = attribute_vector(model.encode, pick(WITH_ATTRIBUTE), pick(WITHOUT_ATTRIBUTE))
    targets = pick(TARGETS)
    columns = 2 + len(strengths)
    fig, axes = plt.subplots(len(TARGETS) + 1, columns, figsize=(columns * 1.2, (len(TARGETS) + 1) * 1.35))
    for ax in axes.flat:
        ax.axis("off")
    sources = [(n, images[index[n]]) for n in WITH_ATTRIBUTE + WITHOUT_ATTRIBUTE]
    for col, (name, image) in enumerate(sources[:columns]):
        _show(axes[0][col], image, ("+ " if name in WITH_ATTRIBUTE else "- ") + name[:16])
        axes[0][col].axis("on")
    for row, name in enumerate(TARGETS, start=1):
        _show(axes[row][0], images[index[name]], name[:18])
        _show(axes[row][1], model(targets[row - 1:row])[0], "reconstruction")
        for col, strength in enumerate(strengths, start=2):
            composite = compose(model.encode, model.decode, targets[row - 1:row], vector, strength)
            _show(axes[row][col], composite[0], f"+ {strength:g} x vector")
        for ax in axes[row]:
            ax.axis("on")
    fig.suptitle("Latent arithmetic: code + strength x (mean code with glasses - mean code without)", fontsize=8)
    fig.tight_layout()
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / "arithmetic.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path, vector


def main(args):
    """Given: build the subset and its splits, train (or load) the model, save weights, latent
    codes, learning curves and figures."""
    torch.manual_seed(args.seed)
    names, images, labels = load_subset(args.keyword)
    splits = make_splits(images, args.seed, tuple(args.sizes))
    print(f"{len(names)} emoji with the word {args.keyword!r}: " + ", ".join(
        f"{k} {len(splits[k]['indices'])} -> {splits[k]['images'].shape[0]} images" for k in ("train", "val", "test")))
    model = build_model(args).to(DEVICE)
    if args.load_weights:
        load_weights(model, args)
        history = None
    else:
        history = fit(model, splits, labels, args)
        print("Saved weights to", save_model_weights(model, args))
    test = evaluate(model, splits["test"]["images"], labels[splits["test"]["source"]])
    text = f"final average test MSE per pixel: {test['mse']:.5f}"
    if args.aux:
        text += f"; test accuracy {test['accuracy']:.3f}"
    print(text)
    if history is not None:
        print("Saved", save_history(history, test, args))
    print("Saved latent codes to", save_latents(model, names, images, labels, splits, args))
    test_idx = splits["test"]["indices"]
    print("Saved", show_reconstructions(model, images[test_idx], [names[i] for i in test_idx], args))
    if not args.aux and args.keyword == "face":
        print("Saved", show_arithmetic(model, names, images)[0])
    return model, splits, history


def _run_from_command_line():
    """Given: run ``main``, turning the two expected problems into short messages."""
    import traceback

    from data import DataError

    try:
        main(parseArguments())
    except DataError as err:
        raise SystemExit(f"The emoji images are not available.\n{err}")
    except NotImplementedError as err:
        frame = traceback.extract_tb(err.__traceback__)[-1]
        raise SystemExit(f"Not finished yet: {err} (raised at {Path(frame.filename).name} line {frame.lineno}). "
                         "Fill in that TODO region, then run again.")


if __name__ == "__main__":
    _run_from_command_line()
