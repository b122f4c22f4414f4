"""Homework 4's graded tests (100 points). Never shipped to students.

Every number that decides a score is computed here, in the grader's process, from raw tensors the
student's sandboxed process returns (see ``agent.py``). Units run in one sandbox; the VAE and the
CVAE are trained in two more sandboxes side by side, one CPU thread each.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect, mistakes, pictures
from autograder.pipeline.isolate import StudentFailure
from autograder.pipeline.score import Fail, Partial, graded

from . import measure

EPOCHS = 10               # the grader calls train_vae this many times
NELBO_PASS = 120.0        # test-set negative ELBO per image for full credit ...
NELBO_ZERO = 200.0        # ... falling linearly to no credit here (an untrained model is ~540)
HONESTY_TOLERANCE = 0.10  # relative gap allowed between reported and recomputed training loss
HONESTY_IMAGES = 10000    # training images the grader re-scores for the honesty test
ACCURACY_PASS = 0.90      # classifier accuracy on CVAE samples for full credit ...
ACCURACY_ZERO = 0.10      # ... falling linearly to chance
SAMPLES_PER_DIGIT = 100
# Memorisation, calibrated with benchmarks/calibrate_hw4_novelty.py (distances are RMS pixel
# distances to the nearest training image after a light blur of both, see measure.smooth). Unseen
# MNIST test digits: median 0.066, fewer than 1% below 0.01. The reference CVAE's samples: median
# 0.056, samples of one digit 0.246 apart. Replayed training digits: 0 exact, median 0.019 with
# pixel noise (sd 0.05), 0.027 blurred; a decoder that ignores z: spread 0.
COPY_DISTANCE = 0.01      # a sample this close to a training image is a copy ...
COPY_FRACTION_MAX = 0.10  # ... and at most this share of samples may be copies;
MEDIAN_DISTANCE_MIN = 0.035  # the typical sample must be at least this far from every training image
SPREAD_MIN = 0.10         # mean RMS distance between two samples of the same digit (z must matter)
UNIT_TIMEOUT = 120.0


def _seed(ctx, offset: int) -> int:
    return int(ctx.options.get("seed", 0)) * 1000 + offset


def _units(ctx):
    return ctx.sandbox("units")


def _timeout(ctx) -> float:
    """Seconds allowed for one quick call into student code (not a training run)."""
    return float(ctx.options.get("call_timeout", UNIT_TIMEOUT))


# --------------------------------------------------------------------------- units
def _reparam_answer(ctx):
    def compute():
        g = torch.Generator().manual_seed(_seed(ctx, 1))
        mu = torch.randn(4096, 15, generator=g) * 2
        logvar = torch.rand(4096, 15, generator=g) * 3 - 2
        weights = torch.rand(4096, 15, generator=g) + 0.5
        answer = _units(ctx).call("reparametrize", mu, logvar, weights, seed=_seed(ctx, 2), timeout=_timeout(ctx),
                                  what="reparametrize(mu, logvar) with mu and logvar of shape (4096, 15)")
        z = expect.values(answer["z"], "reparametrize's z", (4096, 15))
        return mu, logvar, weights, z, answer
    return ctx.once("reparametrize", compute)


@graded("reparametrize: samples have mean mu and standard deviation exp(logvar / 2)", points=6)
def reparametrize_statistics(ctx):
    mu, logvar, _, z, _ = _reparam_answer(ctx)
    eps = (z - mu) / torch.exp(0.5 * logvar)
    mean, std = float(eps.mean()), float(eps.std())
    if abs(mean) > 0.05 or abs(std - 1) > 0.05:
        raise Fail(f"(z - mu) / exp(logvar / 2) should look like standard normal noise, but it has mean "
                   f"{mean:.3f} and standard deviation {std:.3f}. Use sigma = exp(0.5 * logvar) (not logvar, not "
                   f"exp(logvar)) and epsilon = torch.randn_like(mu).")
    correlation = float(torch.corrcoef(torch.stack([eps[:, 0], eps[:, 1]]))[0, 1])
    if abs(correlation) > 0.1:
        raise Fail("The noise in different latent dimensions is correlated; draw a fresh epsilon for every entry.")
    return f"The standardised noise has mean {mean:.3f} and standard deviation {std:.3f}."


@graded("reparametrize: gradients flow into mu and logvar", points=4)
def reparametrize_gradients(ctx):
    mu, logvar, weights, z, answer = _reparam_answer(ctx)
    grad_mu, grad_logvar = answer.get("grad_mu"), answer.get("grad_logvar")
    if grad_mu is None or grad_logvar is None:
        missing = " and ".join(n for n, g in (("mu", grad_mu), ("logvar", grad_logvar)) if g is None)
        raise Fail(f"No gradient reaches {missing}: z must be computed from mu and logvar with torch operations "
                   "(no .detach(), no torch.no_grad(), no numpy).")
    grad_mu = expect.values(grad_mu, "the gradient of mu", (4096, 15))
    grad_logvar = expect.values(grad_logvar, "the gradient of logvar", (4096, 15))
    if not torch.allclose(grad_mu, weights, rtol=1e-4, atol=1e-5):
        raise Fail("d z / d mu should be 1 for every entry; check that z = mu + sigma * epsilon.")
    expected = 0.5 * (z - mu) * weights
    if not torch.allclose(grad_logvar, expected, rtol=1e-3, atol=1e-4):
        raise Fail("d z / d logvar should be 0.5 * sigma * epsilon; check that sigma = exp(0.5 * logvar).")
    return "Gradients reach mu and logvar with the right values."


def _loss_inputs(ctx, n: int, offset: int):
    g = torch.Generator().manual_seed(_seed(ctx, offset))
    x = (torch.rand(n, 1, 28, 28, generator=g) > 0.7).float() * torch.rand(n, 1, 28, 28, generator=g)
    x_hat = torch.rand(n, 1, 28, 28, generator=g) * 0.98 + 0.01
    mu = torch.randn(n, 15, generator=g)
    logvar = torch.randn(n, 15, generator=g) * 0.5
    return x_hat, x, mu, logvar


@graded("loss_function: negative ELBO (BCE + KL) averaged per image", points=8)
def loss_function(ctx):
    for n, offset in ((5, 20), (64, 21)):
        x_hat, x, mu, logvar = _loss_inputs(ctx, n, offset)
        value = expect.scalar(_units(ctx).call("loss", x_hat, x, mu, logvar, timeout=_timeout(ctx),
                                               what=f"loss_function(x_hat, x, mu, logvar) on {n} images"),
                              "loss_function")
        expected = measure.negative_elbo(x_hat, x, mu, logvar)
        if not expect.close(value, expected, rel=1e-4):
            bce = float(measure.bce_sum(x_hat, x)) / n
            kl = float(measure.kl_sum(mu, logvar)) / n
            hint = expect.diagnose(value, mistakes.loss_mistakes(x_hat, x, mu, logvar))
            raise Fail(f"On {n} images loss_function returned {value:.4f}; the grader computes {expected:.4f} "
                       f"(BCE {bce:.4f} + KL {kl:.4f} per image).{hint}")
    return "loss_function agrees with the grader on two batches."


@graded("loss_function: with x_hat = x (no BCE) it is the KL term, -1/2 sum(1 + logvar - mu^2 - exp(logvar)) / N",
        points=6)
def loss_kl_term(ctx):
    for n, offset in ((6, 22), (50, 23)):
        _, x, mu, logvar = _loss_inputs(ctx, n, offset)
        x = (x > 0).float()   # binary images reconstructed exactly: the BCE term is exactly 0
        value = expect.scalar(_units(ctx).call("loss", x.clone(), x, mu, logvar, timeout=_timeout(ctx),
                                               what=f"loss_function(x, x, mu, logvar) on {n} binary images"),
                              "loss_function")
        expected = float(measure.kl_sum(mu, logvar)) / n
        if not expect.close(value, expected, rel=1e-4):
            hint = expect.diagnose(value, [("The KL term is summed over the batch but not divided by N: divide "
                                            "it by the batch size too.", expected * n)]
                                   + mistakes.kl_mistakes(mu, logvar))
            raise Fail(f"On {n} binary images reconstructed exactly (so the BCE is 0) loss_function returned "
                       f"{value:.4f}; the KL term alone, per image, is {expected:.4f}.{hint}")
    return "The KL term of loss_function agrees with the closed form, averaged per image."


@graded("one_hot: float rows with a single 1 at the label", points=4)
def one_hot(ctx):
    cases = (torch.tensor([3, 0, 9, 9, 1, 4]), 10), (torch.tensor([2, 5, 0]), 12)
    for labels, size in cases:
        value = _units(ctx).call("one_hot", labels, size, timeout=_timeout(ctx),
                                 what=f"one_hot({labels.tolist()}, {size})")
        if not isinstance(value, torch.Tensor):
            raise Fail(f"one_hot returned {type(value).__name__}, expected a tensor.")
        if not value.is_floating_point():
            raise Fail(f"one_hot returned a tensor of dtype {value.dtype}; it should be float (the models "
                       "concatenate it with float tensors).")
        expected = torch.nn.functional.one_hot(labels, size).float()
        if tuple(value.shape) != tuple(expected.shape):
            raise Fail(f"one_hot({labels.tolist()}, {size}) has shape {tuple(value.shape)}, expected "
                       f"{tuple(expected.shape)}; use class_size, not the largest label, for the width.")
        if not torch.equal(value.float(), expected):
            raise Fail(f"one_hot({labels.tolist()}, {size}) has the 1s in the wrong places.")
    return "one_hot is right, including a class_size larger than the labels need."


def _build(ctx, kind: str) -> dict:
    """Build the ``kind`` model in the units sandbox (the latent size comes from parseArguments)."""
    return _units(ctx).call("build", kind, timeout=_timeout(ctx),
                            what=f"building the {kind.upper()} from parseArguments([])")


def _check_forward(ctx, kind: str):
    """The forward convention, stated by the test's name: strict shapes."""
    box = _units(ctx)
    label = kind.upper()
    info = _build(ctx, kind)
    z_size = info["latent_size"]
    g = torch.Generator().manual_seed(_seed(ctx, 30))
    x = torch.rand(16, 1, 28, 28, generator=g)
    labels = torch.arange(16) % 10
    c = measure.one_hot(labels) if kind == "cvae" else None
    x_hat, mu, logvar = box.call("forward", x, c, timeout=_timeout(ctx),
                                 what=f"the {label}'s forward on a batch of shape (16, 1, 28, 28)")
    expect.tensor(x_hat, f"x_hat from the {label}'s forward()", (16, 1, 28, 28), 0.0, 1.0)
    expect.tensor(mu, f"mu from the {label}'s forward()", (16, z_size))
    expect.tensor(logvar, f"logvar from the {label}'s forward()", (16, z_size))
    return info, z_size


@graded("VAE: forward returns (x_hat, mu, logvar) of the right shapes, x_hat in [0, 1]", points=6)
def vae_shapes(ctx):
    info, z_size = _check_forward(ctx, "vae")
    return f"VAE with {info['parameters']:,} parameters: shapes and ranges are right (latent size {z_size})."


@graded("CVAE: forward(x, c) returns (x_hat, mu, logvar) of the right shapes, x_hat in [0, 1]", points=6)
def cvae_shapes(ctx):
    info, z_size = _check_forward(ctx, "cvae")
    return f"CVAE with {info['parameters']:,} parameters: shapes and ranges are right (latent size {z_size})."


@graded("Decoders: (N, Z) -> (N, 1, 28, 28) for the VAE, (N, Z + C) -> (N, 1, 28, 28) for the CVAE", points=4)
def decoder_shapes(ctx):
    problems = []
    for kind, extra in (("vae", 0), ("cvae", measure.NUM_CLASSES)):
        try:
            z_size = _build(ctx, kind)["latent_size"]   # the decoder alone: forward() is not needed
            z = torch.randn(9, z_size + extra, generator=torch.Generator().manual_seed(_seed(ctx, 31)))
            out = _units(ctx).call("decode", z, timeout=_timeout(ctx),
                                   what=f"the {kind.upper()}'s decoder on codes of shape {tuple(z.shape)}")
            expect.tensor(out, f"the {kind.upper()}'s decoder output", (9, 1, 28, 28), 0.0, 1.0)
        except (Fail, StudentFailure) as err:
            problems.append(str(err))
    if len(problems) == 2:
        raise Fail("\n".join(problems))
    if problems:
        return Partial(0.5, "One decoder is right; the other is not:\n" + problems[0])
    return "Both decoders map codes to (N, 1, 28, 28) images in [0, 1]."


# --------------------------------------------------------------------------- training
def _start_training(ctx, kind: str) -> None:
    """Start training ``kind`` (once). With the ``jobs`` option at 2 or more (the default) the VAE
    and the CVAE train side by side in two processes; with 1 they train one after the other, each
    in a fresh process, which halves peak memory. Results are identical either way."""
    parallel = int(ctx.options.get("jobs", 2)) >= 2
    kinds = ("vae", "cvae") if parallel else (kind,)

    def submit(k):
        def start():
            if not parallel:
                for other in ("vae", "cvae"):
                    ctx.release(f"train-{other}")
            box = ctx.sandbox(f"train-{k}")
            box.submit("train", k, EPOCHS, _seed(ctx, 40), seed=_seed(ctx, 41),
                       timeout=float(ctx.options.get("timeout", 1800.0)),
                       what=f"train_vae ({EPOCHS} epochs of the {k.upper()} on the MNIST training set)")
            return True
        return start

    ctx.release("units")
    for k in kinds:
        ctx.once(f"started-{k}", submit(k))


def _trained(ctx, kind: str):
    """The training record of ``kind``: reported losses, batches, the epochs' own wall seconds."""
    def collect():
        _start_training(ctx, kind)
        record = ctx.sandbox(f"train-{kind}").result()
        if not isinstance(record, dict) or "reported" not in record or "seconds" not in record:
            raise Fail(f"The {kind.upper()} training answered out of turn.")
        return record
    return ctx.once(f"trained-{kind}", collect)


def _mnist_tensors(split: str, count: int | None = None):
    """The first ``count`` MNIST ``split`` images as uint8 (N, 1, 28, 28) and labels int64 (N,)."""
    from data import mnist

    images, labels = mnist.load(split, keep=False)
    count = len(labels) if count is None else count
    return (torch.from_numpy(images[:count].copy()).unsqueeze(1),
            torch.from_numpy(labels[:count].astype("int64")))


def _test_set():
    return _mnist_tensors("test")


def _latent_size(ctx, kind: str) -> int:
    """Z of the trained model, read off the mu it returns for two test images."""
    def read():
        images, labels = ctx.once("test-set", _test_set)
        c = measure.one_hot(labels[:2]) if kind == "cvae" else None
        mu, _ = ctx.sandbox(f"train-{kind}").call("encode", measure.as_float(images[:2]), c,
                                                   timeout=_timeout(ctx),
                                                   what=f"the trained {kind.upper()}'s forward pass")
        return int(expect.values(mu, f"mu from the trained {kind.upper()}", (2, None)).shape[1])
    return ctx.once(f"latent-{kind}", read)


def _test_nelbo(ctx, kind: str) -> float:
    def compute():
        _trained(ctx, kind)
        images, labels = ctx.once("test-set", _test_set)
        return measure.evaluate_nelbo(ctx.sandbox(f"train-{kind}"), images, labels, kind == "cvae",
                                      _latent_size(ctx, kind), _seed(ctx, 50), f"trained {kind.upper()}")
    return ctx.once(f"test-nelbo-{kind}", compute)


def _nelbo_test(ctx, kind: str):
    nelbo = _test_nelbo(ctx, kind)
    label = kind.upper()
    if nelbo < NELBO_PASS:
        return f"The {label}'s test-set negative ELBO, computed by the grader, is {nelbo:.1f} (< {NELBO_PASS:g})."
    fraction = expect.ramp(nelbo, NELBO_PASS, NELBO_ZERO)
    return Partial(fraction, f"The {label}'s test-set negative ELBO after {EPOCHS} epochs, computed by the grader "
                             f"from your model's outputs, is {nelbo:.1f}; full marks need < {NELBO_PASS:g} "
                             f"(the reference reaches about 110 to 115). Check loss_function, the optimizer step in "
                             f"train_vae, and that the decoder ends with a Sigmoid.")


@graded("VAE training: test-set negative ELBO < 120 after 10 epochs", points=13)
def vae_training(ctx):
    return _nelbo_test(ctx, "vae")


@graded("CVAE training: test-set negative ELBO < 120 after 10 epochs", points=13)
def cvae_training(ctx):
    return _nelbo_test(ctx, "cvae")


def _honesty(ctx, kind: str):
    record = _trained(ctx, kind)
    reported = record["reported"]
    label = kind.upper()
    if reported.numel() != EPOCHS or not bool(torch.isfinite(reported).all()):
        raise Fail(f"train_vae should return a finite number every epoch; the {label} returned "
                   f"{[round(v, 2) for v in reported.tolist()]}.")
    per_image = float(reported[-1]) / max(int(record["batches"]), 1)
    images, labels = _training_subset(ctx)
    recomputed = measure.evaluate_nelbo(ctx.sandbox(f"train-{kind}"), images, labels, kind == "cvae",
                                        _latent_size(ctx, kind), _seed(ctx, 60), f"trained {label}")
    ctx.picture(f"The {label}'s training loss", pictures.Curves(
        {"train_vae reported (per image)": (reported / max(int(record["batches"]), 1)).tolist()},
        points={"the grader's recomputation, last epoch": (EPOCHS, recomputed)}))
    gap = abs(per_image - recomputed) / recomputed
    if gap > HONESTY_TOLERANCE:
        hint = ""
        if math.isclose(per_image * record["batches"], recomputed, rel_tol=HONESTY_TOLERANCE):
            hint = " It looks divided by the number of batches already: return the sum over batches."
        elif math.isclose(per_image / 128, recomputed, rel_tol=HONESTY_TOLERANCE):
            hint = " It looks summed over images: loss_function should average over the batch."
        raise Fail(f"In its last epoch your train_vae reported {per_image:.1f} per image for the {label}, but the "
                   f"grader recomputes {recomputed:.1f} from your model on {images.shape[0]:,} training images "
                   f"(allowed gap {HONESTY_TOLERANCE:.0%}).{hint}")
    return f"The {label}'s reported loss {per_image:.1f} agrees with the grader's {recomputed:.1f}."


def _training_subset(ctx):
    return ctx.once("train-subset", lambda: _mnist_tensors("train", HONESTY_IMAGES))


@graded("VAE: the loss train_vae reports matches the grader's recomputation", points=4)
def vae_honesty(ctx):
    return _honesty(ctx, "vae")


@graded("CVAE: the loss train_vae reports matches the grader's recomputation", points=4)
def cvae_honesty(ctx):
    return _honesty(ctx, "cvae")


def _cvae_samples(ctx):
    """The trained CVAE's decodes of the grader's random codes, SAMPLES_PER_DIGIT per digit."""
    def compute():
        _trained(ctx, "cvae")
        g = torch.Generator().manual_seed(_seed(ctx, 70))
        digits = torch.arange(measure.NUM_CLASSES).repeat_interleave(SAMPLES_PER_DIGIT)
        z = torch.randn(digits.shape[0], _latent_size(ctx, "cvae"), generator=g)
        images = ctx.sandbox("train-cvae").call(
            "decode", torch.cat([z, measure.one_hot(digits)], dim=1), timeout=_timeout(ctx),
            what=f"the CVAE's decoder on {digits.shape[0]} codes torch.cat([z, one_hot(digit)], 1)")
        images = expect.values(images, "the CVAE's generated images", (digits.shape[0], 1, 28, 28), 0.0, 1.0)
        return digits, images
    return ctx.once("cvae-samples", compute)


@graded("CVAE generation: a pretrained classifier recognises the requested digit (> 90%)", points=12)
def cvae_generation(ctx):
    from autograder.models import mnist_classifier

    digits, images = _cvae_samples(ctx)
    classifier = ctx.once("classifier", mnist_classifier.load)
    predicted = mnist_classifier.predict(classifier, images)
    correct = (predicted == digits).float()
    accuracy = float(correct.mean())
    per_digit = correct.view(measure.NUM_CLASSES, SAMPLES_PER_DIGIT).mean(dim=1)
    shown = (torch.arange(measure.NUM_CLASSES)[:, None] * SAMPLES_PER_DIGIT + torch.arange(10)).flatten()
    ctx.picture("Your CVAE's samples: row d asked for digit d; under each, what the classifier read "
                "(red: not the digit asked for)", pictures.Grid(images[shown], 10, labels=predicted[shown].tolist(),
                                                               marked=(predicted != digits)[shown].tolist()))
    table = ", ".join(f"{d}: {p:.0%}" for d, p in enumerate(per_digit.tolist()))
    if accuracy > ACCURACY_PASS:
        return f"The classifier recognised {accuracy:.1%} of your CVAE's samples as the requested digit ({table})."
    return Partial(expect.ramp(accuracy, ACCURACY_PASS, ACCURACY_ZERO),
                   f"The classifier recognised only {accuracy:.1%} of {digits.shape[0]} CVAE samples as the "
                   f"requested digit (full marks need > {ACCURACY_PASS:.0%}; per digit: {table}). Make sure the "
                   f"decoder really uses c: it receives torch.cat([z, c], dim=1).")


@graded("CVAE generation: samples are new images, not stored training digits, and vary with z", points=4)
def cvae_novelty(ctx):
    digits, images = _cvae_samples(ctx)
    train_images, _ = ctx.once("train-set", lambda: _mnist_tensors("train"))
    nearest = measure.nearest_distances(images, train_images)
    copies = float((nearest < COPY_DISTANCE).float().mean())
    spread = measure.within_group_spread(images, digits)
    flat = [d for d, value in enumerate(spread.tolist()) if value < SPREAD_MIN]
    flagged = (nearest < COPY_DISTANCE).nonzero().flatten()[:10]
    if len(flagged):
        ctx.picture("Samples the memorisation check flagged (top) and their nearest training images (bottom)",
                    lambda: pictures.Rows([images[flagged], train_images[pictures.nearest(images[flagged], train_images)]],
                                          ["your sample", "nearest training"]))
    problems = []
    median = float(nearest.median())
    if copies > COPY_FRACTION_MAX or median < MEDIAN_DISTANCE_MIN:
        problems.append(f"Your CVAE's samples look copied from the training set: {copies:.0%} of its "
                        f"{digits.shape[0]} samples are (nearly) identical to a training image (at most "
                        f"{COPY_FRACTION_MAX:.0%} may be), and the median distance to the nearest training "
                        f"image is {median:.3f} (new handwriting is about 0.07; at least "
                        f"{MEDIAN_DISTANCE_MIN} is needed). Generated digits must come from the decoder, "
                        "not from stored training images.")
    if flat:
        problems.append(f"For digit(s) {', '.join(map(str, flat))} your CVAE draws nearly the same image for "
                        f"every z (mean distance between two samples below {SPREAD_MIN}). The decoder must "
                        "use z: different codes should give different handwriting.")
    summary = (f"median distance to the nearest training image {float(nearest.median()):.3f}, "
               f"samples of one digit differ by {float(spread.mean()):.3f} on average")
    if problems:
        raise Fail("\n".join(problems) + f"\n(Measured: {summary}.)")
    return f"Your CVAE's samples are new images that vary with z ({summary})."


def _bottleneck(ctx, kind: str) -> str:
    """Decoding must depend on z alone: encode batch A, then batch B, then decode A's means."""
    _trained(ctx, kind)
    images, labels = ctx.once("test-set", _test_set)
    box = ctx.sandbox(f"train-{kind}")
    a, b = measure.as_float(images[:64]), measure.as_float(images[64:128])
    cond = (lambda x: measure.one_hot(x)) if kind == "cvae" else (lambda x: None)
    label = kind.upper()
    what = f"the trained {label}'s forward pass"
    mu_a, _ = box.call("encode", a, cond(labels[:64]), timeout=_timeout(ctx), what=what)
    mu_a = expect.values(mu_a, f"mu of the {label}", (64, None))
    extra = measure.one_hot(labels[:64]) if kind == "cvae" else None
    code = mu_a if extra is None else torch.cat([mu_a, extra], dim=1)
    first = box.call("decode", code, timeout=_timeout(ctx), what=f"the {label}'s decoder")
    box.call("encode", b, cond(labels[64:128]), timeout=_timeout(ctx), what=what)
    second = box.call("decode", code, timeout=_timeout(ctx), what=f"the {label}'s decoder")
    first = expect.values(first, f"the {label}'s decoder output", (64, 1, 28, 28), 0.0, 1.0)
    second = expect.values(second, f"the {label}'s decoder output", (64, 1, 28, 28), 0.0, 1.0)
    ctx.picture(f"The {label}'s reconstructions of test images (decoded from the mean code)",
                pictures.Rows([a[:12], first[:12]], ["test image", "reconstruction"]))
    if not torch.allclose(first, second, atol=1e-5):
        raise Fail(f"The {label}'s decoder gave a different image for the same code after the encoder saw "
                   "another batch: its output must depend on z (and c) only, not on anything the encoder "
                   "kept from its last input.")
    to_a = (second - a).pow(2).flatten(1).mean(1)
    to_b = (second - b).pow(2).flatten(1).mean(1)
    closer = float((to_a < to_b).float().mean())
    if closer < 0.9:
        raise Fail(f"Decoding the codes of one batch after encoding another gave images closer to the "
                   f"other batch for {1 - closer:.0%} of them. The decoder must rebuild x from z alone; "
                   "nothing may pass from the encoder to the decoder around the latent code.")
    return f"{label}: decoding batch A's codes after encoding batch B rebuilds A ({closer:.0%} closer to A)."


@graded("VAE bottleneck: the decoder rebuilds an image from its code alone", points=2)
def vae_bottleneck(ctx):
    return _bottleneck(ctx, "vae")


@graded("CVAE bottleneck: the decoder rebuilds an image from its code and class alone", points=2)
def cvae_bottleneck(ctx):
    return _bottleneck(ctx, "cvae")


@graded("Training time: each training finishes within the time limit", points=2)
def training_time(ctx):
    limit = float(ctx.options.get("timeout", 1800.0))
    lines, earned = [], 0.0
    for kind in ("vae", "cvae"):
        try:
            seconds = float(torch.as_tensor(_trained(ctx, kind)["seconds"]).sum())
            lines.append(f"The {kind.upper()} trained {EPOCHS} epochs in about {seconds:.0f} s "
                         f"(limit {limit:.0f} s, enforced by the grader).")
            earned += 0.5
        except StudentFailure as err:
            if err.kind == "timeout":
                lines.append(f"The {kind.upper()} did not finish {EPOCHS} epochs within {limit:.0f} s.")
            else:
                lines.append(f"The {kind.upper()} training did not complete, so its time cannot count "
                             f"(see the training tests for why).")
        except Fail:
            lines.append(f"The {kind.upper()} training did not complete (see the training tests for why).")
    if earned == 1.0:
        return "\n".join(lines)
    if earned == 0.0:
        raise Fail("\n".join(lines))
    return Partial(earned, "\n".join(lines))


UNIT_TESTS = [reparametrize_statistics, reparametrize_gradients, loss_function, loss_kl_term, one_hot,
              vae_shapes, cvae_shapes, decoder_shapes]
# The VAE's tests come before the CVAE's, so that with ``jobs=1`` the VAE's process can be let go
# before the CVAE trains.
TRAINING_TESTS = [vae_training, vae_honesty, vae_bottleneck, cvae_training, cvae_honesty, cvae_bottleneck,
                  cvae_generation, cvae_novelty, training_time]
TESTS = UNIT_TESTS + TRAINING_TESTS
