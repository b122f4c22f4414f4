"""Homework 2's agent: runs INSIDE the student's sandboxed process and calls the student's code.

Every function here takes tensors from the grader, calls the student's ``emoji_data.py``,
``autoencoder.py`` or ``assignment.py``, and returns raw tensors, numbers, strings, lists or dicts.
Nothing here decides a score: the grader recomputes every error and accuracy itself. The agent
holds no answers, so it may be shipped to students with the public checks.
"""
from __future__ import annotations

import torch

from autograder.pipeline.calls import answer, answers, device, built, evaluating, fit, student, timed_epochs

EXPORTS = ("select_subset", "class_labels", "split", "augment", "make_splits", "build", "forward", "encode",
           "decode", "recon_loss", "aux_loss", "attribute", "compose", "train", "reconstruct", "logits",
           "train_short")
STATE: dict = {}


# --------------------------------------------------------------------------- emoji_data.py
def select_subset(names, keyword):
    return answer(student("emoji_data").select_subset(list(names), keyword), "select_subset")


def class_labels(names, class_words):
    words = tuple(tuple(group) for group in class_words)
    return answer(student("emoji_data").class_labels(list(names), words), "class_labels")


def split(n, seed, fractions=(0.6, 0.2, 0.2)):
    return answers(student("emoji_data").split_indices(n, seed, tuple(fractions)), ("train", "val", "test"),
                   "split_indices")


def augment(images, count, seed):
    return answers(student("emoji_data").augment(images, count, seed), ("augmented", "source"), "augment")


def make_splits(images, seed, sizes):
    value = student("emoji_data").make_splits(images, seed, tuple(sizes))
    if not isinstance(value, dict):
        raise TypeError(f"make_splits returned {type(value).__name__}, expected a dict")
    fields = ("images", "source", "indices")
    for key in ("train", "val", "test"):
        if not isinstance(value.get(key), dict) or any(field not in value[key] for field in fields):
            raise TypeError(f"make_splits(...)[{key!r}] should be a dict with 'images', 'source' and 'indices'")
    return {key: {field: answer(value[key][field], f"make_splits(...)[{key!r}][{field!r}]") for field in fields}
            for key in ("train", "val", "test")}


# --------------------------------------------------------------------------- autoencoder.py
def build(kind: str, num_classes: int = 3):
    """Build the model from ``parseArguments([])``'s defaults (kind "ae" or "aux"); describe it."""
    models, args = student("autoencoder"), student("assignment").parseArguments([])
    if kind == "aux":
        model = models.AuxAutoencoder(args.latent_size, num_classes, args.width)
    else:
        model = models.ConvAutoencoder(args.latent_size, args.width)
    STATE["model"], STATE["args"], STATE["kind"] = model.to(device()), args, kind
    STATE.pop("logits_by_code", None)   # decided again for each model (see _outputs)
    # The grader calls forward, encode and decode, and the trained aux model's classifier once its
    # forward pass has shown that the class scores are classifier(encode(x)) (see _outputs).
    return {"latent_size": int(args.latent_size), "width": int(args.width),
            "lam": float(args.lam), "batch_size": int(args.batch_size),
            "parameters": int(sum(p.numel() for p in model.parameters()))}


def _forward(model, x) -> list:
    """[x_hat] for the autoencoder, [x_hat, logits] for aux."""
    out = model(fit(model, x))
    if STATE["kind"] == "aux":
        return answers(out, ("x_hat", "logits"), "AuxAutoencoder.forward")
    return [answer(out, "ConvAutoencoder.forward")]


@torch.no_grad()
def forward(x):
    """The model's forward pass in eval mode."""
    return _forward(evaluating(built(STATE)), x)


@torch.no_grad()
def encode(x):
    model = evaluating(built(STATE))
    return answer(model.encode(fit(model, x)), "encode")


@torch.no_grad()
def decode(z):
    model = evaluating(built(STATE))
    return answer(model.decode(fit(model, z)), "decode")


def recon_loss(x_hat, x):
    return answer(student("autoencoder").reconstruction_loss(x_hat, x), "reconstruction_loss")


def aux_loss(x_hat, x, logits, labels, lam):
    return answer(student("autoencoder").aux_loss(x_hat, x, logits, labels, lam), "aux_loss")


def _linear(weight, bias, shape=None):
    """The grader's linear encoder z = W x + b (no ``shape``) or decoder x = V z + c (to ``shape``)."""
    def apply(batch):
        out = batch.flatten(start_dim=1) @ weight.T + bias
        return out if shape is None else out.view(batch.shape[0], *shape)
    return apply


def attribute(weight, bias, with_images, without_images):
    """attribute_vector with the grader's linear encoder z = W x + b."""
    return answer(student("autoencoder").attribute_vector(_linear(weight, bias), with_images, without_images),
                  "attribute_vector")


def compose(weight, bias, dec_weight, dec_bias, images, vector, strength):
    """compose with the grader's linear encoder and decoder x = V z + c."""
    decode = _linear(dec_weight, dec_bias, tuple(images.shape[1:]))
    return answer(student("autoencoder").compose(_linear(weight, bias), decode, images, vector, strength), "compose")


# --------------------------------------------------------------------------- training
def _float(images):
    """uint8 images -> float in [0, 1] (divided in place: ``float()`` of uint8 is a new tensor)."""
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def _loader(images, labels, batch_size, seed):
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(_float(images), labels), batch_size=batch_size,
                                       shuffle=True, generator=torch.Generator().manual_seed(seed))


def train(kind: str, images, labels, epochs: int, seed: int, num_classes: int = 3):
    """Build a model and call the student's ``train_epoch`` once per epoch on the grader's images."""
    assignment = student("assignment")
    build(kind, num_classes)
    model, args = STATE["model"], STATE["args"]
    loader = _loader(images, labels, int(args.batch_size), seed)
    record = timed_epochs(lambda: assignment.train_epoch(model, loader, args, aux=(kind == "aux")), epochs,
                          loss=lambda answer: answer["mse"])
    return {**record, "batches": len(loader)}


def _code_logits(model, x) -> torch.Tensor:
    """The aux model's class scores without its decoder: ``classifier(encode(x))``."""
    return answer(model.classifier(model.encode(fit(model, x))), "AuxAutoencoder.classifier")


def _logits_by_code(model, x, logits) -> bool:
    """Do ``classifier(encode(x))`` and the forward pass give these logits to the last bit? The
    stencil's forward classifies the code; a model whose forward does something else keeps it."""
    try:
        short = _code_logits(model, x)
    except Exception:  # noqa: BLE001 - any failure of the short way: the forward pass it is
        return False
    return short.dtype == logits.dtype and short.shape == logits.shape and torch.equal(short, logits)


@torch.no_grad()
def _outputs(images, column: int, batch: int = 100) -> torch.Tensor:
    """One of the trained model's outputs (eval mode: 0 the reconstructions, 1 the aux model's
    class scores) on uint8 or float images, joined batch by batch (the others are not kept).

    Class scores come from the forward pass. When its first batch shows that they are exactly
    ``classifier(encode(x))``, the later batches skip the decoder (half the time); any
    other model, or a failure of the short way, keeps the forward pass for every batch."""
    model = evaluating(built(STATE))
    parts = []
    for start in range(0, images.shape[0], batch):
        x = _float(images[start:start + batch])
        if column == 1 and STATE.get("logits_by_code"):
            try:
                parts.append(_code_logits(model, x))
                continue
            except Exception:  # noqa: BLE001 - the forward pass answers, as for any other model
                STATE["logits_by_code"] = False
        value = _forward(model, x)[column]
        if column == 1 and "logits_by_code" not in STATE:
            STATE["logits_by_code"] = _logits_by_code(model, x, value)
        parts.append(value)
    return torch.cat(parts)


def reconstruct(images):
    """The trained model's reconstructions."""
    return _outputs(images, 0)


def logits(images):
    """The trained aux model's class scores."""
    return _outputs(images, 1)


def train_short(kind: str, seed: int):
    """Public check: two small batches of random images through ``train_epoch``; did the weights move?"""
    assignment = student("assignment")
    build(kind)
    model, args = STATE["model"], STATE["args"]
    before = [p.detach().clone() for p in model.parameters()]
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(16, 3, 64, 64, generator=g)
    labels = torch.randint(0, 3, (16,), generator=g)
    record = assignment.train_epoch(model, _loader(images, labels, 8, seed), args, aux=(kind == "aux"))
    moved = sum(float((p.detach() - b).abs().sum()) for p, b in zip(model.parameters(), before))
    if not isinstance(record, dict):
        raise TypeError(f"train_epoch returned {type(record).__name__}, expected a dict with 'mse' and 'accuracy'")
    return {"mse": _number(record.get("mse")), "accuracy": _number(record.get("accuracy")), "moved": moved}


def _number(value):
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return float("nan")
