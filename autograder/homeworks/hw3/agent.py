"""Homework 3's agent: runs INSIDE the student's sandboxed process and calls the student's code.

Every function here takes tensors from the grader, calls the student's ``vae.py`` /
``assignment.py``, and returns raw tensors. Nothing here decides a score: the grader recomputes
every loss and checks every image itself from these raw outputs. The agent holds no answers, so it
may be shipped to students with the public checks.

Two things it does besides calling: it records the codes the student's decoder receives while
``create_interpolates`` runs (a forward pre-hook on the decoder), and, when asked to, it narrows
the posterior the student's encoder reports (a forward hook that lowers logvar by ``NARROW``), so
that a sample and a mean coincide and the interpolation weights can be checked on their own.
"""
from __future__ import annotations

import time

import torch

from autograder.pipeline.calls import answer, answers, built, device, evaluating, fit, student, with_gradients

EXPORTS = ("sample", "loss", "probe", "build", "encode", "decode", "interpolate", "grid", "pairs", "train",
           "train_short")
NARROW = 60.0  # logvar - 60: a standard deviation of exp(-30), about 1e-13
STATE: dict = {}


def _images(value, what: str) -> torch.Tensor:
    """:func:`answer`, and a list of image tensors stacked into one."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return torch.stack([v.detach().cpu() for v in value])
    return answer(value, what)


def sample(mu, logvar, weights):
    """z = sample(mu, logvar), and the gradients of sum(weights * z) w.r.t. mu and logvar."""
    z, (grad_mu, grad_logvar) = with_gradients(student("vae").sample, weights, mu, logvar)
    return {"z": answer(z, "sample"), "grad_mu": grad_mu, "grad_logvar": grad_logvar}


def loss(x, x_hat, mu, logvar):
    """The student's ``vae_loss(x, x_hat, mu, logvar)`` (the handout's argument order)."""
    return answer(student("vae").vae_loss(x, x_hat, mu, logvar), "vae_loss")


def _networks(latent_dim: int):
    vae = student("vae")
    encoder, decoder = vae.Encoder(latent_dim), vae.Decoder(latent_dim)
    for net, name in ((encoder, "Encoder"), (decoder, "Decoder")):
        if not isinstance(net, torch.nn.Module):
            raise TypeError(f"{name}({latent_dim}) is a {type(net).__name__}, not an nn.Module")
    return evaluating(encoder.to(device()), decoder.to(device())), decoder


def _encode(encoder, x):
    return answers(encoder(fit(encoder, x)), ("mu", "logvar"), "Encoder.forward")


@torch.no_grad()
def probe(latent_dim: int, x, z):
    """Fresh ``Encoder(latent_dim)`` and ``Decoder(latent_dim)``: [mu, logvar] of x, decoder(z)."""
    encoder, decoder = _networks(latent_dim)
    return _encode(encoder, x) + [answer(decoder(fit(decoder, z)), "Decoder.forward")]


def build(latent_dim: int):
    """Build the encoder and decoder the other steps use; report the number of parameters."""
    encoder, decoder = _networks(latent_dim)
    STATE.update(encoder=encoder, decoder=decoder, latent_dim=latent_dim)
    return {"latent_dim": int(latent_dim),
            "parameters": int(sum(p.numel() for p in list(encoder.parameters()) + list(decoder.parameters())))}


def _models():
    return evaluating(built(STATE, "encoder"), built(STATE, "decoder")), STATE["decoder"]


@torch.no_grad()
def encode(x):
    """[mu, logvar] of the built encoder on x (N, 28, 28)."""
    return _encode(_models()[0], x)


@torch.no_grad()
def decode(z):
    _, decoder = _models()
    return answer(decoder(fit(decoder, z)), "Decoder.forward")


def interpolate(A, B, narrow: bool = False):
    """``create_interpolates(A, B, encoder, decoder)``, and the codes the decoder was given."""
    assignment = student("assignment")
    encoder, decoder = _models()
    codes = []

    def record(module, inputs):
        if inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].dim() >= 1:
            codes.append(inputs[0].detach().reshape(-1, inputs[0].shape[-1]).cpu().clone())

    def lower_logvar(module, inputs, output):
        if isinstance(output, (tuple, list)) and len(output) == 2 and all(isinstance(t, torch.Tensor) for t in output):
            return (output[0], output[1] - NARROW)
        return output

    handles = [decoder.register_forward_pre_hook(record)]
    if narrow:
        handles.append(encoder.register_forward_hook(lower_logvar))
    try:
        with torch.no_grad():
            images = assignment.create_interpolates(A.clone(), B.clone(), encoder, decoder)
    finally:
        for handle in handles:
            handle.remove()
    found = [c for c in codes if c.shape[1] == STATE["latent_dim"]]
    return {"images": _images(images, "create_interpolates"), "codes": torch.cat(found) if found else None}


def grid(A, B, seed: int):
    """``interpolation_grid(A, B, ...)`` and, from the same random state, each row made by
    ``create_interpolates`` on its own."""
    assignment = student("assignment")
    encoder, decoder = _models()
    with torch.no_grad():
        torch.manual_seed(seed)
        whole = _images(assignment.interpolation_grid(A.clone(), B.clone(), encoder, decoder),
                        "interpolation_grid")
        torch.manual_seed(seed)
        rows = [_images(assignment.create_interpolates(A[r].clone(), B[r].clone(), encoder, decoder),
                        "create_interpolates") for r in range(A.shape[0])]
    shapes = {tuple(r.shape) for r in rows}
    return {"grid": whole, "rows": torch.stack(rows) if len(shapes) == 1 else None,
            "row_shapes": [list(r.shape) for r in rows]}


def pairs(kind: str, seed: int):
    """``same_digit_pairs(seed)`` or ``different_digit_pairs(seed)``: [A, B]."""
    assignment = student("assignment")
    function = assignment.same_digit_pairs if kind == "same" else assignment.different_digit_pairs
    value = function(seed)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return [_images(v, function.__name__) for v in value]
    return answers(value, ("A", "B"), function.__name__)   # names what is wrong


def _optimizer(encoder, decoder, learning_rate: float):
    return torch.optim.Adam(list(encoder.parameters()) + list(decoder.parameters()), lr=learning_rate)


def _losses(value) -> torch.Tensor:
    try:
        return torch.tensor([float(v) for v in value], dtype=torch.float64)
    except (TypeError, ValueError):
        return torch.tensor([], dtype=torch.float64)


def train(epochs: int, seed: int, latent_dim: int = 20, batch_size: int = 128, learning_rate: float = 1e-3):
    """Build a model and call the student's ``train`` for ``epochs`` epochs on the grader's loader."""
    from data import mnist

    vae = student("vae")
    build(latent_dim)
    encoder, decoder = STATE["encoder"], STATE["decoder"]
    optimizer = _optimizer(encoder, decoder, learning_rate)
    loader = mnist.loader("train", batch_size=batch_size, shuffle=True, seed=seed)
    start = time.monotonic()
    reported = vae.train(encoder, decoder, loader, optimizer, num_epochs=epochs)
    seconds = time.monotonic() - start
    encoder.eval()
    decoder.eval()
    return {"reported": _losses(reported), "seconds": float(seconds), "batches": len(loader)}


def train_short(seed: int, latent_dim: int = 20):
    """Public check: one epoch of two small batches through ``train``; did the parameters move?"""
    from data import mnist

    vae = student("vae")
    build(latent_dim)
    encoder, decoder = STATE["encoder"], STATE["decoder"]
    parameters = list(encoder.parameters()) + list(decoder.parameters())
    before = [p.detach().clone() for p in parameters]
    loader = mnist.loader("train", batch_size=32, shuffle=True, seed=seed, limit=64)
    reported = vae.train(encoder, decoder, loader, _optimizer(encoder, decoder, 1e-3), num_epochs=1)
    moved = sum(float((p.detach() - b).abs().sum()) for p, b in zip(parameters, before))
    return {"reported": _losses(reported), "moved": moved}
