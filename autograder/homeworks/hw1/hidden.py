"""Homework 1's graded tests (100 points). Never shipped to students.

Every number that decides a score is computed here, in the grader's process, from raw tensors the
student's sandboxed process returns (see ``agent.py``). Units run in one sandbox; the Gaussian- and
the Bernoulli-trained autoencoders train in two more sandboxes side by side, one CPU thread each.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect, pictures, training
from autograder.pipeline.isolate import StudentFailure
from autograder.pipeline.score import Fail, Partial, graded
from autograder.pipeline.vae import as_float

from . import measure

LATENT_SIZE = 16          # the code size the handout fixes; the grader builds every model with it
EPOCHS = 5                # the grader calls train_autoencoder this many times
# Test-set reconstruction error ||x - x_hat||^2 per image (summed over 784 pixels), computed by the
# grader on RECON_IMAGES test images it picks. Calibration (grader's seed 0, one thread, 5 epochs):
# the reference reaches 11.1 trained with the Gaussian NLL and 10.8 with the Bernoulli NLL (11.3 and
# 10.9 on the whole test set); after only 2 of its 5 epochs it is at 16.4. Full marks below 15 leave
# the reference a margin of about 35 % (seeds and test subsets move it by a few tenths), while a
# model that stops learning early or learns with a broken loss does not pass. Credit falls linearly
# to zero at 50, about the error of the training set's mean image (52.9), that is, of a decoder that
# ignores its code.
RECON_PASS = 15.0
RECON_ZERO = 50.0
RECON_IMAGES = 5000
LIKELIHOODS = ("gaussian", "bernoulli")
SIGMAS = (1.0, 0.3, 2.5)  # the Gaussian tests use sigma = 1 and two other values


TRAININGS = training.Trainings(
    LIKELIHOODS,
    lambda ctx, kind: training.Job(("train", kind, EPOCHS, ctx.seed(40), LATENT_SIZE), seed=ctx.seed(41),
                                   what=f"train_autoencoder ({EPOCHS} epochs with the {kind} NLL on the MNIST "
                                        "training set)"),
    epochs=EPOCHS, label=str, requires=("reported", "seconds"), harvest=lambda kind: (_error, _pictured))


def _images(g: torch.Generator, n: int) -> torch.Tensor:
    """Digit-like test inputs: mostly 0, some pixels 1, some grey."""
    on = (torch.rand(n, 1, 28, 28, generator=g) > 0.75).float()
    grey = torch.rand(n, 1, 28, 28, generator=g)
    return torch.where(torch.rand(n, 1, 28, 28, generator=g) > 0.5, on, on * grey)


def _close(value: torch.Tensor, expected: torch.Tensor, rel: float = 1e-4, abs_tol: float = 1e-3) -> bool:
    return bool(torch.allclose(value.double(), expected.double(), rtol=rel, atol=abs_tol))


def _first(t: torch.Tensor) -> float:
    return float(t.reshape(-1)[0])


# --------------------------------------------------------------------------- likelihoods
def _gaussian(ctx, x, mean, sigma, n):
    value = ctx.call("gaussian_nll", x, mean, sigma,
                     what=f"gaussian_nll(x, mean, sigma={sigma:g}) on {n} images of shape (1, 28, 28)")
    return expect.values(value, f"gaussian_nll(x, mean, sigma={sigma:g})", (n,))


@graded("gaussian_nll: its constant is (D/2) log(2 pi sigma^2), as torch.distributions says (sigma = 1 and "
        "sigma != 1)", points=12)
def gaussian_constant(ctx):
    mean = torch.rand(6, 1, 28, 28, generator=ctx.generator(1))
    for sigma in SIGMAS:
        value = _gaussian(ctx, mean.clone(), mean, sigma, 6)
        expected = torch.full((6,), measure.gaussian_constant(mean, sigma), dtype=torch.float64)
        assert _close(expected, measure.gaussian_nll_distribution(mean, mean, sigma))  # the two references agree
        if _close(value, expected):
            continue
        got, want, d = _first(value), float(expected[0]), 784
        hint = " Your value is 0: the constant term (D/2) log(2 pi sigma^2) is missing." if abs(got) < 1e-3 else \
            expect.diagnose(got, (
                ("It is the constant for sigma = 1: the constant must use sigma, log(2 pi sigma^2).",
                 0.5 * d * math.log(2 * math.pi)),
                ("It uses log(2 pi sigma); the variance is sigma^2: log(2 pi sigma^2).",
                 0.5 * d * math.log(2 * math.pi * sigma)),
                ("It looks averaged over pixels: sum over the D pixels instead.", want / d),
                ("It is twice the right value: the constant is HALF of D log(2 pi sigma^2).",
                 d * math.log(2 * math.pi * sigma ** 2))), rel=1e-4)
        raise Fail(f"With x equal to the mean, the squared error is 0 and the NLL is only its constant. For "
                   f"sigma = {sigma:g} on 6 images of D = 784 pixels, gaussian_nll returned {got:.4f} for the first "
                   f"image; -log N(x; x, sigma^2 I) = (D/2) log(2 pi sigma^2) = {want:.4f} (torch.distributions.Normal "
                   f"agrees).{hint}")
    return "The Gaussian NLL's constant is (D/2) log(2 pi sigma^2) for sigma = " + ", ".join(f"{s:g}" for s in SIGMAS) + "."


@graded("gaussian_nll minus its constant equals ||x - mean||^2 / (2 sigma^2) (sigma = 1 and sigma != 1)",
        points=12)
def gaussian_squared_error(ctx):
    g = ctx.generator(2)
    x = _images(g, 8)
    mean = torch.rand(8, 1, 28, 28, generator=g) * 0.98 + 0.01
    for sigma in SIGMAS:
        value = _gaussian(ctx, x, mean, sigma, 8)
        constant = _gaussian(ctx, mean.clone(), mean, sigma, 8)
        difference = value.double() - constant.double()
        error = measure.squared_error(x, mean)
        expected = error / (2 * sigma ** 2)
        assert _close(expected, measure.gaussian_nll_distribution(x, mean, sigma)
                      - measure.gaussian_nll_distribution(mean, mean, sigma))
        if _close(difference, expected):
            continue
        hint = expect.diagnose(float((difference / expected).mean()), (   # the ratio to the right term
            ("You divide by 2, not by 2 sigma^2: sigma is ignored in the squared-error term.", sigma ** 2),
            ("You divide by 2 sigma; the variance is sigma^2: divide by 2 sigma^2.", sigma),
            ("The factor 1/2 is missing: divide by 2 sigma^2.", 2.0),
            ("Divide the squared error by 2 sigma^2.", 2 * sigma ** 2),
            ("It looks averaged over pixels: sum over the D pixels instead.", 1 / 784),
            ("The sign is wrong: the NLL grows with the squared error.", -1.0)), rel=1e-3)
        raise Fail(f"gaussian_nll(x, mean, sigma) - gaussian_nll(mean, mean, sigma) should be the squared-error "
                   f"term ||x - mean||^2 / (2 sigma^2) (what torch.distributions.Normal gives too). For "
                   f"sigma = {sigma:g} and the first of 8 images, ||x - mean||^2 = {_first(error):.3f}, so the "
                   f"term is {_first(expected):.4f}; your difference is {_first(difference):.4f}.{hint}")
    return "The Gaussian NLL's squared-error term is ||x - mean||^2 / (2 sigma^2) for sigma = " + \
        ", ".join(f"{s:g}" for s in SIGMAS) + "."


def _bernoulli(ctx, x, p, n, what):
    value = ctx.call("bernoulli_nll", x, p, what=f"bernoulli_nll(x, p) on {n} {what}")
    return expect.values(value, "bernoulli_nll(x, p)", (n,))


def _bernoulli_hint(value: torch.Tensor, x: torch.Tensor, p: torch.Tensor) -> str:
    expected = measure.bernoulli_nll(x, p)
    candidates = (
        (expected / 784, "It looks averaged over pixels: sum over the D pixels instead."),
        (-expected, "The sign is wrong: return the NEGATIVE log-likelihood."),
        (measure.bernoulli_nll(p, x.clamp(1e-7, 1 - 1e-7)), "x and p look swapped: the log is taken of p."),
        (-measure.per_image(torch.xlogy(x.double(), p.double())),
         "Only the x log p term is there: add (1 - x) log(1 - p)."),
    )
    for guess, text in candidates:
        if _close(value, guess, rel=1e-3):
            return " " + text
    return ""


@graded("bernoulli_nll equals -log Bernoulli(x; p) (torch.distributions, binary x) and the binary "
        "cross-entropy (grey x), summed over pixels", points=12)
def bernoulli_values(ctx):
    g = ctx.generator(3)
    binary = (torch.rand(7, 1, 28, 28, generator=g) > 0.7).float()
    grey = _images(g, 7)
    p = torch.rand(7, 1, 28, 28, generator=g) * 0.98 + 0.01
    for x, what in ((binary, "binary images"), (grey, "images with grey pixels")):
        value = _bernoulli(ctx, x, p, 7, what)
        expected = measure.bernoulli_nll(x, p)
        if x is binary:
            assert _close(expected, measure.bernoulli_nll_distribution(x, p))
        if not _close(value, expected):
            raise Fail(f"On 7 {what} with p in [0.01, 0.99], bernoulli_nll returned {_first(value):.4f} for the "
                       f"first image; -sum_d [x log p + (1 - x) log(1 - p)] = {_first(expected):.4f}"
                       f"{' (torch.distributions.Bernoulli agrees)' if x is binary else ''}."
                       f"{_bernoulli_hint(value, x, p)}")
    return "bernoulli_nll agrees with torch.distributions.Bernoulli and the binary cross-entropy."


@graded("bernoulli_nll stays finite, with finite gradients, when p is exactly 0 or 1 where the pixel agrees",
        points=4)
def bernoulli_saturated(ctx):
    g = ctx.generator(4)
    x = (torch.rand(5, 1, 28, 28, generator=g) > 0.7).float()
    p = torch.rand(5, 1, 28, 28, generator=g) * 0.9 + 0.05
    saturated = torch.rand(5, 1, 28, 28, generator=g) > 0.5
    p = torch.where(saturated, x, p)   # exactly 0 or 1, and right, on about half the pixels
    answer = ctx.call("bernoulli_gradient", x, p,
                      what="bernoulli_nll(x, p) and its gradient, with p exactly 0 or 1 on some pixels")
    value = expect.values(answer["value"], "bernoulli_nll(x, p)", (5,), finite=False)
    if not bool(torch.isfinite(value).all()):
        raise Fail("With p exactly 0 where x = 0 (or exactly 1 where x = 1), bernoulli_nll returned "
                   f"{[round(v, 2) for v in value.tolist()]}; those pixels should add (almost) nothing, giving "
                   f"{_first(measure.bernoulli_nll(x, p)):.2f} for the first image. 0 * log(0) is NaN in floating "
                   "point: clamp p to [1e-7, 1 - 1e-7] before the logs, or use "
                   "torch.nn.functional.binary_cross_entropy(p, x, reduction='none').")
    grad = answer.get("grad")
    if grad is None:
        raise Fail("No gradient reaches p through bernoulli_nll: compute it with torch operations (no .detach(), "
                   "no numpy, no torch.no_grad()), or training cannot use it.")
    grad = expect.values(grad, "the gradient of bernoulli_nll with respect to p", (5, 1, 28, 28), finite=False)
    if not bool(torch.isfinite(grad).all()):
        raise Fail("bernoulli_nll is finite, but its gradient with respect to p contains NaN or infinity where p is "
                   "exactly 0 or 1, which would spoil training. Clamp p BEFORE taking the logs (clamping the logs "
                   "afterwards still lets 0 * inf = NaN into the gradient).")
    return "bernoulli_nll and its gradient stay finite when the Sigmoid saturates."


# --------------------------------------------------------------------------- model, codes, samplers
@graded("Autoencoder and NLL shapes: (N, 1, 28, 28) -> codes (N, 16) -> images in [0, 1]; NLLs (N,) also for "
        "(N, 784) inputs", points=8)
def shapes(ctx):
    g, problems, checks = ctx.generator(5), [], 4

    def check(label, action) -> bool:
        try:
            action()
            return True
        except (Fail, StudentFailure) as err:
            problems.append(f"- {label}: {err.feedback if isinstance(err, StudentFailure) else err}")
            return False

    def output(name, inputs, what, shape, *bounds):   # draws its inputs only when the check runs
        return lambda: expect.tensor(ctx.call(name, inputs(), what=what), what.split(" on ")[0], shape, *bounds)

    def flat():
        x = (torch.rand(3, 784, generator=g) > 0.5).float()
        p = torch.rand(3, 784, generator=g) * 0.9 + 0.05
        for name, args in (("gaussian_nll", (x, p, 0.5)), ("bernoulli_nll", (x, p))):
            value = ctx.call(name, *args, what=f"{name} on images of shape (3, 784)")
            expect.tensor(value, f"{name} on inputs of shape (3, 784)", (3,))

    if check("building the model", lambda: ctx.call("build", LATENT_SIZE,
                                                    what=f"Autoencoder(784, latent_size={LATENT_SIZE})")):
        images = lambda: torch.rand(5, 1, 28, 28, generator=g)
        check("forward", output("forward", images, "model(x) on 5 images", (5, 1, 28, 28), 0.0, 1.0))
        check("encoder", output("encode", images, "model.encoder(x) on 5 images", (5, LATENT_SIZE)))
        check("decoder", output("decode", lambda: torch.randn(7, LATENT_SIZE, generator=g) * 3,
                                f"model.decoder(z) on 7 codes of size {LATENT_SIZE}", (7, 1, 28, 28), 0.0, 1.0))
    else:
        problems += ["- encoder: not checked (no model)", "- decoder: not checked (no model)"]
    check("the NLLs on flattened images (sum over every dimension but the first)", flat)
    if not problems:
        return "The autoencoder and both NLLs have the right shapes."
    if len(problems) == checks:
        raise Fail("\n".join(problems))
    return Partial(1 - len(problems) / checks, "\n".join(problems))


@graded("encode_dataset returns the encoder's code of every image, in order", points=6)
def encode_dataset(ctx):
    from data import mnist

    ctx.call("build", LATENT_SIZE, seed=ctx.seed(6), what=f"Autoencoder(784, latent_size={LATENT_SIZE})")
    x = as_float(mnist.pick("test", 250, ctx.generator(7)))
    answer = ctx.call("encode_dataset", x, 64,
                      what="encode_dataset(model, loader) on 250 test images in batches of 64 (the last has 58)")
    direct = expect.values(answer["direct"], "model.encoder(x)", (250, LATENT_SIZE))
    codes = answer["codes"]
    if isinstance(codes, torch.Tensor) and codes.dim() == 2 and codes.shape[0] in (64, 58):
        raise Fail(f"encode_dataset returned {codes.shape[0]} codes for 250 images: it keeps only one batch. "
                   "Collect the codes of every batch and concatenate them (torch.cat).")
    codes = expect.values(codes, "encode_dataset(model, loader)", (250, LATENT_SIZE))
    if not _close(codes, direct, rel=1e-4, abs_tol=1e-4):
        wrong = int((~torch.isclose(codes, direct, rtol=1e-4, atol=1e-4)).any(dim=1).sum())
        raise Fail(f"{wrong} of the 250 codes differ from model.encoder(x) on the same images. Encode the batches in "
                   "the loader's order (do not shuffle or sort), with the model in eval mode and no noise.")
    return "encode_dataset gives model.encoder's code for all 250 images, in order."


SAMPLES = 20000


def _sampled(ctx, sampler: str, offset: int, n: int):
    """``sampler`` fitted to ``n`` codes of the grader's draw ``offset`` (codes with different scales
    and offsets per dimension, skewed, and correlated) and asked for SAMPLES codes with the seed
    ``offset + 1``: the codes and the samples, in float64."""
    g = ctx.generator(offset)
    base = torch.randn(n, LATENT_SIZE, generator=g, dtype=torch.float64)
    base[:, ::3] = base[:, ::3].exp()  # skewed dimensions
    mixing = torch.eye(LATENT_SIZE, dtype=torch.float64) + 0.6 * torch.randn(LATENT_SIZE, LATENT_SIZE, generator=g,
                                                                              dtype=torch.float64)
    scales = torch.exp(torch.linspace(-2, 2, LATENT_SIZE, dtype=torch.float64))
    offsets = torch.randn(LATENT_SIZE, generator=g, dtype=torch.float64) * 5
    codes = ((base @ mixing) * scales + offsets).float()
    answer = ctx.call(sampler, codes, SAMPLES, seed=ctx.seed(offset + 1),
                      what=f"{sampler}(codes, {SAMPLES}) with codes of shape {tuple(codes.shape)}")
    return codes.double(), expect.values(answer, f"{sampler}(codes, {SAMPLES})", (SAMPLES, LATENT_SIZE)).double()


@graded("sample_uniform: codes uniform within the per-dimension bounds of the training codes", points=10)
def uniform_sampler(ctx):
    codes, samples = _sampled(ctx, "sample_uniform", 8, 3000)
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    width = high - low
    slack = 1e-5 * width + 1e-6
    below, above = samples < low - slack, samples > high + slack
    if bool(below.any() or above.any()):
        dim = int((below | above).any(dim=0).double().argmax())
        share = float((below | above).any(dim=1).double().mean())
        hint = ""
        if float(samples.min()) >= float(low.min()) - 1e-6 and float(samples.max()) <= float(high.max()) + 1e-6:
            hint = (" Every sample lies within the smallest and largest value over ALL dimensions: use the bounds of "
                    "each dimension separately, codes.min(dim=0) and codes.max(dim=0).")
        raise Fail(f"{share:.1%} of the samples leave the box of the training codes; in dimension {dim}, the codes lie "
                   f"in [{float(low[dim]):.3f}, {float(high[dim]):.3f}] but the samples reach "
                   f"[{float(samples[:, dim].min()):.3f}, {float(samples[:, dim].max()):.3f}].{hint} Draw "
                   f"low + (high - low) * torch.rand(M, Z).")
    unit = (samples - low) / width  # uniform on [0, 1] in every dimension when right
    problems = []
    gap = torch.minimum(unit.min(dim=0).values, 1 - unit.max(dim=0).values)
    if float(gap.max()) > 0.01:
        dim = int(gap.argmax())
        problems.append(f"the samples do not reach the ends of the box (dimension {dim}: samples within "
                        f"[{float(samples[:, dim].min()):.3f}, {float(samples[:, dim].max()):.3f}], box "
                        f"[{float(low[dim]):.3f}, {float(high[dim]):.3f}])")
    means, stds = unit.mean(dim=0), unit.std(dim=0)
    badness = torch.maximum((means - 0.5).abs() / 0.02, (stds / math.sqrt(1 / 12) - 1).abs() / 0.05)
    if float(badness.max()) > 1:
        dim = int(badness.argmax())
        problems.append(f"the samples are not spread evenly over the box (rescaled so that the box is [0, 1], "
                        f"dimension {dim} has mean {float(means[dim]):.3f} and standard deviation "
                        f"{float(stds[dim]):.3f}; a uniform distribution has 0.500 and 0.289)")
    correlation = torch.corrcoef(unit.T) - torch.eye(LATENT_SIZE, dtype=torch.float64)
    if float(correlation.abs().max()) > 0.06:
        problems.append(f"the dimensions are correlated (correlation up to {float(correlation.abs().max()):.2f}); draw "
                        "an independent random number for every entry, torch.rand(M, Z)")
    if problems:
        raise Fail("All samples lie within the box, but " + "; and ".join(problems) + ". Dimension j of every sample "
                   "should be uniform on [min_j, max_j]: low + (high - low) * torch.rand(M, Z).")
    return f"{SAMPLES} samples are uniform within the per-dimension bounds of the codes."


@graded("sample_gaussian: fresh samples whose mean and full covariance match the training codes'", points=10)
def gaussian_sampler(ctx):
    data, samples = _sampled(ctx, "sample_gaussian", 10, 4000)
    mean, std = data.mean(dim=0), data.std(dim=0)
    shift = ((samples.mean(dim=0) - mean) / std).abs()
    if float(shift.max()) > 0.05:
        dim = int(shift.argmax())
        raise Fail(f"The samples' mean is off: in dimension {dim} the codes have mean {float(mean[dim]):.3f} but the "
                   f"samples {float(samples[:, dim].mean()):.3f} ({float(shift[dim]):.2f} standard deviations away). "
                   "Add the codes' mean to every sample.")
    ratio = samples.var(dim=0) / data.var(dim=0)
    worst_ratio = int((ratio.log()).abs().argmax())
    if abs(float(ratio[worst_ratio]) - 1) > 0.08:
        raise Fail(f"The samples' variances do not match the codes': in dimension {worst_ratio} the samples' variance is "
                   f"{float(ratio[worst_ratio]):.2f} times the codes' (the variances are off by factors from "
                   f"{float(ratio.min()):.2f} to {float(ratio.max()):.2f}). Multiply eps by the Cholesky factor L of the "
                   f"covariance S (L L^T = S), not by S itself, and compute S from the codes with torch.cov(codes.T).")
    gap = (torch.corrcoef(samples.T) - torch.corrcoef(data.T)).abs()
    if float(gap.max()) > 0.06:
        i, j = divmod(int(gap.argmax()), LATENT_SIZE)
        hint = ""
        off_diagonal = torch.corrcoef(samples.T) - torch.eye(LATENT_SIZE, dtype=torch.float64)
        if float(off_diagonal.abs().max()) < 0.05:
            hint = (" Your samples' dimensions are uncorrelated: you fitted only the variances. Use the full "
                    "covariance matrix, torch.cov(codes.T), and its Cholesky factor.")
        raise Fail(f"The variances match, but the correlations do not: dimensions {i} and {j} of the codes have "
                   f"correlation {float(torch.corrcoef(data.T)[i, j]):.2f}, your samples "
                   f"{float(torch.corrcoef(samples.T)[i, j]):.2f}.{hint} Sample m + L eps with L L^T = S, the full "
                   f"covariance.")
    copied = measure.copied_fraction(samples[:2000], data)
    if copied > 0.01:
        raise Fail(f"{copied:.0%} of the samples are copies of training codes. Draw fresh codes from the fitted "
                   "Gaussian, m + L eps with eps = torch.randn(M, Z), instead of reusing the codes.")
    return f"{SAMPLES} fresh samples match the codes' mean and full covariance."


# --------------------------------------------------------------------------- training
def _test_images(ctx) -> torch.Tensor:
    from data import mnist

    return ctx.once("test-images", lambda: mnist.pick("test", RECON_IMAGES, ctx.generator(50)))


# Each function that asks a trained model for something records its training first, outside
# ctx.once: recording runs the harvest, which calls these same functions.
def _error(ctx, likelihood: str) -> float:
    """The grader's reconstruction error of the trained autoencoder on RECON_IMAGES test images."""
    return _reconstructed(ctx, likelihood)[0]


def _reconstructed(ctx, likelihood: str) -> tuple:
    """(error, the codes of the RECON_IMAGES test images, the reconstructions of the first 12)."""
    TRAININGS.record(ctx, likelihood)
    images = _test_images(ctx)
    return ctx.once(f"error-{likelihood}", lambda: measure.reconstruction_error(
        TRAININGS.box(ctx, likelihood), images, LATENT_SIZE, ctx.seed(51), f"{likelihood}-trained autoencoder",
        keep=12))


def _reconstruction_test(ctx, likelihood: str):
    record = TRAININGS.record(ctx, likelihood)
    error = _error(ctx, likelihood)
    seconds = float(torch.as_tensor(record["seconds"]).sum())
    losses = [v / max(int(record["batches"]), 1) for v in torch.as_tensor(record["reported"]).tolist()]
    reported = ", ".join(f"{v:.1f}" for v in losses)
    pictured = lambda: _pictured(ctx, likelihood)
    ctx.picture(f"Test images (top) and their reconstructions by your {likelihood}-trained autoencoder (bottom)",
                lambda: pictures.Rows(pictured()[:2], ["test image", "reconstruction"]))
    ctx.picture("Your decoder on random codes from sample_uniform (top) and sample_gaussian (bottom)",
                lambda: pictures.Rows(pictured()[2:], ["uniform codes", "Gaussian codes"]))
    ctx.picture("Training loss", pictures.Curves({"train_autoencoder reported (per image)": losses}))
    if error < RECON_PASS:
        return (f"Trained with the {likelihood} NLL for {EPOCHS} epochs ({seconds:.0f} s), your autoencoder "
                f"reconstructs {RECON_IMAGES} test images with a squared error of {error:.2f} per image (computed by "
                f"the grader; full marks below {RECON_PASS:g}).")
    return Partial(expect.ramp(error, RECON_PASS, RECON_ZERO),
                   f"Trained with the {likelihood} NLL for {EPOCHS} epochs on the grader's loader, your autoencoder "
                   f"reconstructs {RECON_IMAGES} test images with a squared error ||x - x_hat||^2 of {error:.2f} per "
                   f"image (computed by the grader from your encoder's codes and your decoder's outputs); full marks "
                   f"need < {RECON_PASS:g}, the reference reaches about 11, and {RECON_ZERO:g} is what a decoder that "
                   f"ignores its code gets. Your train_autoencoder reported per-image losses {reported}. Check that "
                   f"every batch takes an optimizer step, that the loss is the batch mean of nll_per_image, and the "
                   f"architecture in the Autoencoder docstring.")


def _pictured(ctx, likelihood: str):
    """For the feedback's pictures: 12 test images, their reconstructions, and decodes of 12 codes
    from each of the student's samplers fitted to the test images' codes (all from the sandbox)."""
    TRAININGS.record(ctx, likelihood)
    x = as_float(_test_images(ctx))

    def ask():
        box = TRAININGS.box(ctx, likelihood)
        call = lambda *a, what=None: box.call(*a, seed=ctx.seed(52), timeout=ctx.call_timeout,
                                              what=what or f"{a[0]} for the feedback's pictures")
        try:   # the codes and reconstructions the error was measured with (no second pass)
            _, codes, reconstructions = _reconstructed(ctx, likelihood)
        except (Fail, StudentFailure):   # pictures help most then: ask the model as it is
            codes = call("encode", x, what="the encoder on the test images")
            reconstructions = call("decode", codes[:12])
        return (x[:12], reconstructions, call("decode", call("sample_uniform", codes, 12)),
                call("decode", call("sample_gaussian", codes, 12)))
    return ctx.once(f"pictured-{likelihood}", ask)


def _training_test(likelihood: str):
    @graded(f"{likelihood.capitalize()}-trained autoencoder: test reconstruction error ||x - x_hat||^2 < "
            f"{RECON_PASS:g} per image after {EPOCHS} epochs", points=13)
    def training_test(ctx):
        return _reconstruction_test(ctx, likelihood)
    return training_test


UNIT_TESTS = [gaussian_constant, gaussian_squared_error, bernoulli_values, bernoulli_saturated, shapes,
              encode_dataset, uniform_sampler, gaussian_sampler]
gaussian_training, bernoulli_training = TRAINING_TESTS = [_training_test(k) for k in LIKELIHOODS]
TESTS = UNIT_TESTS + TRAINING_TESTS
# Before the first student process: the trainings, when two jobs let them run beside the unit tests.
PREPARE = (TRAININGS.early(TRAINING_TESTS),)
