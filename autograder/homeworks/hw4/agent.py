"""Homework 4's agent: runs INSIDE the student's sandboxed process and calls the student's code.

Every function here takes tensors from the grader, calls the student's ``vae.py`` /
``assignment.py``, and returns raw tensors. Nothing here decides a score: the grader recomputes
every loss and accuracy itself from these raw outputs. The agent holds no answers, so it may be
shipped to students with the public checks.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from autograder.pipeline.calls import answer, answers, device, evaluating, fit, timed_epochs, with_gradients

EXPORTS = ("reparametrize", "loss", "one_hot", "build", "forward", "encode", "decode", "train",
           "train_short", "trained_samples")
NUM_CLASSES = 10
STATE: dict = {}


def _student():
    import assignment
    import vae

    return vae, assignment


def reparametrize(mu, logvar, weights):
    """z = reparametrize(mu, logvar), and the gradients of sum(weights * z) w.r.t. mu and logvar."""
    vae, _ = _student()
    z, (grad_mu, grad_logvar) = with_gradients(vae.reparametrize, weights, mu, logvar)
    return {"z": answer(z, "reparametrize"), "grad_mu": grad_mu, "grad_logvar": grad_logvar}


def loss(x_hat, x, mu, logvar):
    vae, _ = _student()
    return answer(vae.loss_function(x_hat, x, mu, logvar), "loss_function")


def one_hot(labels, class_size):
    _, assignment = _student()
    return answer(assignment.one_hot(labels, class_size), "one_hot")


def build(kind: str):
    """Build a VAE or CVAE from ``parseArguments([])``'s defaults. The grader reads no attribute
    but the decoder (and only when it decodes), so none is inspected here."""
    vae, assignment = _student()
    args = assignment.parseArguments([])
    if kind == "cvae":
        model = vae.CVAE(args.input_size, num_classes=NUM_CLASSES, latent_size=args.latent_size)
    else:
        model = vae.VAE(args.input_size, latent_size=args.latent_size)
    STATE["model"], STATE["args"], STATE["kind"] = model.to(device()), args, kind
    return {"latent_size": int(args.latent_size), "input_size": int(args.input_size),
            "parameters": int(sum(p.numel() for p in model.parameters()))}


def _model():
    if "model" not in STATE:
        raise RuntimeError("no model was built (building the model failed earlier)")
    return STATE["model"]


@torch.no_grad()
def forward(x, c=None):
    model = evaluating(_model())
    x, c = fit(model, x, c)
    out = model(x) if c is None else model(x, c)
    return answers(out, ("x_hat", "mu", "logvar"), "forward")


@torch.no_grad()
def encode(x, c=None):
    """(mu, logvar) of ``model.forward``; the reconstruction is ignored."""
    _, mu, logvar = forward(x, c)
    return [mu, logvar]


@torch.no_grad()
def decode(z):
    model = evaluating(_model())
    return answer(model.decoder(fit(model, z)), "decoder")


def train(kind: str, epochs: int, seed: int, batch_size: int = 128):
    """Build a model and call the student's ``train_vae`` once per epoch on the grader's loader."""
    from data import mnist

    _, assignment = _student()
    build(kind)
    model, args = STATE["model"], STATE["args"]
    loader = mnist.loader("train", batch_size=batch_size, shuffle=True, seed=seed)
    record = timed_epochs(lambda: assignment.train_vae(model, loader, args, is_cvae=(kind == "cvae")), epochs)
    return {**record, "batches": len(loader)}


def train_short(kind: str, seed: int):
    """Public check: two small batches through ``train_vae``; did the parameters move?"""
    from data import mnist

    _, assignment = _student()
    build(kind)
    model, args = STATE["model"], STATE["args"]
    before = [p.detach().clone() for p in model.parameters()]
    loader = mnist.loader("train", batch_size=32, shuffle=True, seed=seed, limit=64)
    value = assignment.train_vae(model, loader, args, is_cvae=(kind == "cvae"))
    moved = sum(float((p.detach() - b).abs().sum()) for p, b in zip(model.parameters(), before))
    return {"reported": answer(value, "train_vae"), "batches": len(loader), "moved": moved}


@torch.no_grad()
def trained_samples(per_digit: int, seed: int):
    """Public check: the CVAE that ``assignment.py --is_cvae`` saved in ``checkpoints/cvae.pt``
    decodes ``per_digit`` seeded codes per digit, ``decoder(torch.cat([z, one_hot(digit)], 1))``.

    The model is rebuilt with the latent size recorded in ``outputs/losses_cvae.json`` (the
    options it was trained with), else with ``parseArguments([])``'s. Returns ``{"found": False}``
    when there is no checkpoint, else the raw images (N, ...) and the requested digits (N,).
    """
    vae, assignment = _student()
    folder = Path(assignment.__file__).resolve().parent
    weights = folder / "checkpoints" / "cvae.pt"
    if not weights.is_file():
        return {"found": False}
    args = assignment.parseArguments([])
    latent_size, input_size = int(args.latent_size), int(args.input_size)
    try:
        saved = json.loads((folder / "outputs" / "losses_cvae.json").read_text())["args"]
        latent_size, input_size = int(saved["latent_size"]), int(saved["input_size"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    model = vae.CVAE(input_size, num_classes=NUM_CLASSES, latent_size=latent_size)
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    evaluating(model)
    g = torch.Generator().manual_seed(seed)
    digits = torch.arange(NUM_CLASSES).repeat_interleave(per_digit)
    z = torch.randn(digits.shape[0], latent_size, generator=g)
    codes = torch.cat([z, torch.nn.functional.one_hot(digits, NUM_CLASSES).float()], dim=1)
    return {"found": True, "images": answer(model.decoder(codes), "decoder"), "digits": digits,
            "latent_size": latent_size}
