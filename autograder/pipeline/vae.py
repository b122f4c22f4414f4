"""The VAE quantities the grader recomputes (homeworks 3, 4 and 5), in one place and with one
argument order everywhere: ``(x_hat, x, mu, logvar)``, reconstruction first, as in
``torch.nn.functional.binary_cross_entropy(input, target)`` and in the handouts' loss functions.

Everything here runs in the grader's process on tensors a student's process returned; only
:func:`evaluate_nelbo` talks to a student process, and only through the agent's ``encode`` and
``decode`` calls.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import expect, mistakes
from .score import Fail

LOGVAR_MAX = 30.0   # a trained encoder's logvar above this means the encoder is not learning


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float32 in [0, 1] (uint8 images are divided by 255)."""
    return images.float() / 255.0 if images.dtype == torch.uint8 else images.float()


def bce_per_image(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood summed over the pixels of each image, (N, ...) -> (N,)
    (logs clamped at -100, as PyTorch does)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="none").flatten(1).sum(dim=1)


def kl_per_image(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the latents of each image, (N, Z) -> (N,)."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar, dim=1)


def bce_sum(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The Bernoulli negative log-likelihood summed over pixels and images (a 0-d tensor)."""
    return F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum")


def kl_sum(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The KL term summed over latents and images (a 0-d tensor)."""
    return 0.5 * torch.sum(mu.pow(2) + logvar.exp() - 1 - logvar)


def negative_elbo(x_hat, x, mu, logvar, beta: float = 1.0) -> float:
    """The negative ELBO per image: (BCE summed + beta * KL summed) / N."""
    return float((bce_sum(x_hat, x) + beta * kl_sum(mu, logvar)) / x.shape[0])


def evaluate_nelbo(box, images: torch.Tensor, *, latent_size: int, image_shape: tuple, seed: int,
                   label: str, conditions: torch.Tensor | None = None, batch: int = 1000,
                   timeout: float = 600.0) -> float:
    """The negative ELBO per image of a student's trained model on ``images`` (uint8, or floats in
    [0, 1]), computed by the grader.

    The model encodes every batch first (``encode(x)``, or ``encode(x, c)`` with ``conditions``,
    one row per image); then the grader draws the codes z = mu + sigma * eps with its own noise and
    asks the decoder for each batch's reconstructions (of ``(len, *image_shape)``; the decoder gets
    ``torch.cat([z, c], 1)`` with conditions), so a reconstruction can depend on its image only
    through the latent code.
    """
    n = images.shape[0]
    mus, logvars = [], []
    for start in range(0, n, batch):
        x = as_float(images[start:start + batch])
        args = (x,) if conditions is None else (x, conditions[start:start + batch])
        mu, logvar = box.call("encode", *args, what=f"the {label}'s encoder on {x.shape[0]} images",
                              seed=seed, timeout=timeout)
        size = (x.shape[0], latent_size)
        mus.append(expect.values(mu, f"mu from the {label}'s encoder", size))
        logvars.append(expect.values(logvar, f"logvar from the {label}'s encoder", size))
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    if float(logvar.max()) > LOGVAR_MAX:
        raise Fail(f"The {label}'s logvar reaches {float(logvar.max()):.1f}; variances that large mean "
                   "the encoder is not learning (check the logvar layer and the KL term).")
    noise = torch.Generator().manual_seed(seed)
    z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=noise)
    total = 0.0
    for start in range(0, n, batch):
        code = z[start:start + batch]
        if conditions is not None:
            code = torch.cat([code, conditions[start:start + batch]], dim=1)
        x_hat = box.call("decode", code, what=f"the {label}'s decoder on {code.shape[0]} codes",
                         seed=seed, timeout=timeout)
        x_hat = expect.values(x_hat, f"the {label}'s decoder output", (code.shape[0], *image_shape), 0.0, 1.0)
        total += float(bce_sum(x_hat, as_float(images[start:start + batch])))
    return (total + float(kl_sum(mu, logvar))) / n



# The reparametrisation trick, z = mu + exp(logvar / 2) * eps, graded from one large draw: with
# 4096 x Z >= 60,000 entries, the standardised noise of a right answer has a mean within about
# 0.004 and a standard deviation within about 0.003 of N(0, 1) (one standard error); 0.05 is more
# than ten of them, and sigma = exp(logvar) or sigma = logvar miss it by far more.
NOISE_TOLERANCE = 0.05    # allowed |mean| and |std - 1| of (z - mu) / exp(logvar / 2)
NOISE_CORRELATION = 0.1   # allowed |correlation| between the noise of two latent dimensions


def reparametrize_inputs(generator, n: int, latent: int) -> tuple:
    """The grader's inputs for a reparametrisation, each (n, latent): mu ~ N(0, 2^2), logvar uniform
    in [-2, 1], and weights uniform in [0.5, 1.5] (the agent returns the gradients of
    sum(weights * z), so that every entry's gradient is checked)."""
    mu = torch.randn(n, latent, generator=generator) * 2
    logvar = torch.rand(n, latent, generator=generator) * 3 - 2
    weights = torch.rand(n, latent, generator=generator) + 0.5
    return mu, logvar, weights


def judge_noise(z, mu, logvar, name: str = "logvar") -> tuple:
    """Fail unless (z - mu) / exp(logvar / 2) looks like independent standard normal draws; returns
    the noise's (mean, standard deviation). ``name`` is the handout's name for logvar."""
    eps = (z - mu) / torch.exp(0.5 * logvar)
    mean, std = float(eps.mean()), float(eps.std())
    if abs(mean) > NOISE_TOLERANCE or abs(std - 1) > NOISE_TOLERANCE:
        raise Fail(f"(z - mu) / exp({name} / 2) should look like standard normal noise, but it has mean "
                   f"{mean:.3f} and standard deviation {std:.3f}. Use sigma = exp(0.5 * {name}) (not {name}, not "
                   f"exp({name})) and epsilon = torch.randn_like(mu).")
    if abs(float(torch.corrcoef(torch.stack([eps[:, 0], eps[:, 1]]))[0, 1])) > NOISE_CORRELATION:
        raise Fail("The noise in different latent dimensions is correlated; draw a fresh epsilon for every entry.")
    return mean, std


def judge_gradients(grad_mu, grad_logvar, z, mu, logvar, weights, name: str = "logvar") -> None:
    """Fail unless the gradients of sum(weights * z) the agent returned (``None`` where none
    reached) are those of z = mu + exp(logvar / 2) * eps: weights for mu, 0.5 * (z - mu) * weights
    for logvar."""
    if grad_mu is None or grad_logvar is None:
        missing = " and ".join(n for n, g in (("mu", grad_mu), (name, grad_logvar)) if g is None)
        raise Fail(f"No gradient reaches {missing}: z must be computed from mu and {name} with torch operations "
                   "(no .detach(), no torch.no_grad(), no numpy).")
    grad_mu = expect.values(grad_mu, "the gradient of mu", tuple(mu.shape))
    grad_logvar = expect.values(grad_logvar, f"the gradient of {name}", tuple(logvar.shape))
    if not torch.allclose(grad_mu, weights, rtol=1e-4, atol=1e-5):
        raise Fail("d z / d mu should be 1 for every entry; check that z = mu + sigma * epsilon.")
    if not torch.allclose(grad_logvar, 0.5 * (z - mu) * weights, rtol=1e-3, atol=1e-4):
        raise Fail(f"d z / d {name} should be 0.5 * sigma * epsilon; check that sigma = exp(0.5 * {name}).")


def loss_inputs(generator, n: int, image_shape: tuple, latent: int) -> tuple:
    """A batch for grading a loss function: (x_hat, x, mu, logvar). x is sparse like a digit (70 %
    zeros, the rest uniform in [0, 1]), x_hat uniform in [0.01, 0.99], mu ~ N(0, 1), logvar ~ N(0, 0.5^2)."""
    x = (torch.rand(n, *image_shape, generator=generator) > 0.7).float() \
        * torch.rand(n, *image_shape, generator=generator)
    x_hat = torch.rand(n, *image_shape, generator=generator) * 0.98 + 0.01
    mu = torch.randn(n, latent, generator=generator)
    logvar = torch.randn(n, latent, generator=generator) * 0.5
    return x_hat, x, mu, logvar


def judge_negative_elbo(value: float, x_hat, x, mu, logvar, *, call: str, name: str = "logvar") -> None:
    """Fail unless ``value``, what the student's ``call`` returned for this batch, is the negative
    ELBO per image (relative tolerance 1e-4); the message names the known mistake it matches."""
    expected, n = negative_elbo(x_hat, x, mu, logvar), x.shape[0]
    if not expect.close(value, expected, rel=1e-4):
        bce, kl = float(bce_sum(x_hat, x)) / n, float(kl_sum(mu, logvar)) / n
        hint = expect.diagnose(value, mistakes.loss_mistakes(x_hat, x, mu, logvar, name))
        if not hint and abs(value) < bce / 50:   # far below any per-image BCE: some mean over pixels
            hint = (f" It looks averaged over pixels: sum the BCE over the {x[0].numel()} pixels of each image "
                    "(reduction='sum').")
        raise Fail(f"On {n} images {call} returned {value:.4f}; the grader computes {expected:.4f} "
                   f"(BCE {bce:.4f} + KL {kl:.4f} per image).{hint}")


# The bottleneck probe: a reconstruction may depend on its image only through the latent code.
# A decoder that reads anything the encoder kept from its last input (a stashed tensor, a skip
# connection) rebuilds the last batch encoded instead of the one whose codes it was given.
BOTTLENECK_ATOL = 1e-5    # the same code decoded twice, before and after another batch was encoded
BOTTLENECK_CLOSER = 0.9   # share of reconstructions that must lie nearer their own image than the
                          # other batch's (hw4's reference VAE and CVAE, trained: 100 %)


def decode_after_another_batch(box, a, b, *, label: str, image_shape: tuple, timeout: float,
                               conditions: tuple = (None, None)) -> tuple:
    """Encode batch ``a`` and decode its mean codes; encode batch ``b``; decode ``a``'s codes
    again. ``conditions`` (one row per image of ``a`` and of ``b``, or ``None``) go to the encoder
    with their batch and after the code to the decoder. Returns the two decodings of ``a``'s
    codes, each checked to be ``(len(a), *image_shape)`` in [0, 1]."""
    c_a, c_b = conditions
    encoder = f"the {label}'s encoder"
    mu, _ = box.call("encode", *((a,) if c_a is None else (a, c_a)), timeout=timeout, what=encoder)
    mu = expect.values(mu, f"mu of the {label}", (a.shape[0], None))
    code = mu if c_a is None else torch.cat([mu, c_a], dim=1)
    decoder, shape = f"the {label}'s decoder", (a.shape[0], *image_shape)
    first = box.call("decode", code, timeout=timeout, what=decoder)
    box.call("encode", *((b,) if c_b is None else (b, c_b)), timeout=timeout, what=encoder)
    second = box.call("decode", code, timeout=timeout, what=decoder)
    return (expect.values(first, f"the {label}'s decoder output", shape, 0.0, 1.0),
            expect.values(second, f"the {label}'s decoder output", shape, 0.0, 1.0))


def judge_bottleneck(a, b, first, second, *, label: str, conditional: bool = False) -> float:
    """Fail unless both decodings of ``decode_after_another_batch`` agree and rebuild ``a`` rather
    than ``b``; returns the share of reconstructions nearer their own image."""
    if not torch.allclose(first, second, atol=BOTTLENECK_ATOL):
        raise Fail(f"The {label}'s decoder gave a different image for the same code after the encoder saw "
                   f"another batch: its output must depend on z{' (and c)' if conditional else ''} only, not "
                   "on anything the encoder kept from its last input.")
    to_a = (second - a).pow(2).flatten(1).mean(1)
    to_b = (second - b).pow(2).flatten(1).mean(1)
    closer = float((to_a < to_b).float().mean())
    if closer < BOTTLENECK_CLOSER:
        raise Fail(f"Decoding the codes of one batch after encoding another gave images closer to the "
                   f"other batch for {1 - closer:.0%} of them. The decoder must rebuild x from z alone; "
                   "nothing may pass from the encoder to the decoder around the latent code.")
    return closer
