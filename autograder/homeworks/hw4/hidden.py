"""Homework 4's graded tests (100 points). Never shipped to students.

Every number that decides a score is computed here, in the grader's process, from raw tensors the
student's sandboxed process returns (see ``agent.py``). Units run in one sandbox; the VAE and the
CVAE are trained in two more sandboxes side by side, one CPU thread each.
"""
from __future__ import annotations

import math

import torch

from autograder.pipeline import expect, mistakes, novelty, pictures, training, vae
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
# distances to the nearest training image after a light blur of both, see novelty.smooth). Unseen
# MNIST test digits: median 0.066, fewer than 1% below 0.01. The reference CVAE's samples: median
# 0.056, samples of one digit 0.246 apart. Replayed training digits: 0 exact, median 0.019 with
# pixel noise (sd 0.05), 0.027 blurred; a decoder that ignores z: spread 0.
COPY_DISTANCE = 0.01      # a sample this close to a training image is a copy ...
COPY_FRACTION_MAX = 0.10  # ... and at most this share of samples may be copies;
MEDIAN_DISTANCE_MIN = 0.035  # the typical sample must be at least this far from every training image
SPREAD_MIN = 0.10         # mean RMS distance between two samples of the same digit (z must matter)


def _harvest(kind: str) -> tuple:
    """Everything the tests ask of a trained model, in the tests' order; then its process ends, so
    the classifier and the training-set search run with no student process alive (peak memory)."""
    return (_test_nelbo, _honesty_nelbo, _bottleneck_images) + ((_cvae_samples,) if kind == "cvae" else ())


TRAININGS = training.Trainings(
    ("vae", "cvae"),
    lambda ctx, kind: training.Job(("train", kind, EPOCHS, ctx.seed(40)), seed=ctx.seed(41),
                                   what=f"train_vae ({EPOCHS} epochs of the {kind.upper()} on the MNIST training set)"),
    epochs=EPOCHS, requires=("reported", "seconds"), harvest=_harvest)


def _mnist(split: str, count: int | None = None):
    from data import mnist

    return mnist.tensors(split, count)


# --------------------------------------------------------------------------- units
def _reparam_answer(ctx):
    def compute():
        mu, logvar, weights = vae.reparametrize_inputs(ctx.generator(1), 4096, 15)
        answer = ctx.units.call("reparametrize", mu, logvar, weights, seed=ctx.seed(2), timeout=ctx.call_timeout,
                                what="reparametrize(mu, logvar) with mu and logvar of shape (4096, 15)")
        z = expect.values(answer["z"], "reparametrize's z", (4096, 15))
        return mu, logvar, weights, z, answer
    return ctx.once("reparametrize", compute)


@graded("reparametrize: samples have mean mu and standard deviation exp(logvar / 2)", points=6)
def reparametrize_statistics(ctx):
    mu, logvar, _, z, _ = _reparam_answer(ctx)
    mean, std = vae.judge_noise(z, mu, logvar)
    return f"The standardised noise has mean {mean:.3f} and standard deviation {std:.3f}."


@graded("reparametrize: gradients flow into mu and logvar", points=4)
def reparametrize_gradients(ctx):
    mu, logvar, weights, z, answer = _reparam_answer(ctx)
    vae.judge_gradients(answer.get("grad_mu"), answer.get("grad_logvar"), z, mu, logvar, weights)
    return "Gradients reach mu and logvar with the right values."


def _loss(ctx, n: int, offset: int, binary: bool = False):
    """loss_function on the grader's batch of ``n`` images (binary ones reconstructed exactly, so
    that the BCE is 0), and that batch."""
    x_hat, x, mu, logvar = vae.loss_inputs(ctx.generator(offset), n, measure.IMAGE, 15)
    if binary:
        x = (x > 0).float()
        x_hat = x.clone()
    what = f"loss_function({'x' if binary else 'x_hat'}, x, mu, logvar) on {n} {'binary ' if binary else ''}images"
    value = ctx.units.call("loss", x_hat, x, mu, logvar, timeout=ctx.call_timeout, what=what)
    return expect.scalar(value, "loss_function"), (x_hat, x, mu, logvar)


@graded("loss_function: negative ELBO (BCE + KL) averaged per image", points=8)
def loss_function(ctx):
    for n, offset in ((5, 20), (64, 21)):
        value, batch = _loss(ctx, n, offset)
        vae.judge_negative_elbo(value, *batch, call="loss_function")
    return "loss_function agrees with the grader on two batches."


@graded("loss_function: with x_hat = x (no BCE) it is the KL term, -1/2 sum(1 + logvar - mu^2 - exp(logvar)) / N",
        points=6)
def loss_kl_term(ctx):
    for n, offset in ((6, 22), (50, 23)):
        value, (_, _, mu, logvar) = _loss(ctx, n, offset, binary=True)
        expected = float(vae.kl_sum(mu, logvar)) / n
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
        value = ctx.units.call("one_hot", labels, size, timeout=ctx.call_timeout,
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
    return ctx.units.call("build", kind, timeout=ctx.call_timeout,
                          what=f"building the {kind.upper()} from parseArguments([])")


def _check_forward(ctx, kind: str):
    """The forward convention, stated by the test's name: strict shapes."""
    box = ctx.units
    label = kind.upper()
    info = _build(ctx, kind)
    z_size = info["latent_size"]
    g = ctx.generator(30)
    x = torch.rand(16, 1, 28, 28, generator=g)
    labels = torch.arange(16) % 10
    c = measure.one_hot(labels) if kind == "cvae" else None
    x_hat, mu, logvar = box.call("forward", x, c, timeout=ctx.call_timeout,
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
            z = torch.randn(9, z_size + extra, generator=ctx.generator(31))
            out = ctx.units.call("decode", z, timeout=ctx.call_timeout,
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
def _test_set(ctx):
    """The MNIST test images, uint8 (10000, 1, 28, 28), and their labels (10000,)."""
    return ctx.once("test-set", lambda: _mnist("test"))


def _conditions(kind: str, labels):
    """What the ``kind`` model is conditioned on besides the image: one-hot labels, or nothing."""
    return measure.one_hot(labels) if kind == "cvae" else None


def _latent_size(ctx, kind: str) -> int:
    """Z of the trained model, read off the mu it returns for two test images."""
    def read():
        images, labels = _test_set(ctx)
        mu, _ = TRAININGS.box(ctx, kind).call("encode", vae.as_float(images[:2]), _conditions(kind, labels[:2]),
                                              timeout=ctx.call_timeout,
                                              what=f"the trained {kind.upper()}'s forward pass")
        return int(expect.values(mu, f"mu from the trained {kind.upper()}", (2, None)).shape[1])
    return ctx.once(f"latent-{kind}", read)


def _nelbo(ctx, kind: str, images, labels, seed: int) -> float:
    """The trained ``kind`` model's negative ELBO per image on ``images``, computed by the grader."""
    return vae.evaluate_nelbo(TRAININGS.box(ctx, kind), images, latent_size=_latent_size(ctx, kind),
                              image_shape=measure.IMAGE, seed=seed, label=f"trained {kind.upper()}",
                              conditions=_conditions(kind, labels))


# Each function that asks a trained model for something records its training first, outside
# ctx.once: recording runs the harvest, which calls these same functions.
def _test_nelbo(ctx, kind: str) -> float:
    TRAININGS.record(ctx, kind)
    return ctx.once(f"test-nelbo-{kind}", lambda: _nelbo(ctx, kind, *_test_set(ctx), ctx.seed(50)))


def _honesty_nelbo(ctx, kind: str) -> float:
    """The grader's negative ELBO of the trained model on HONESTY_IMAGES training images."""
    TRAININGS.record(ctx, kind)
    images, labels = ctx.once("train-subset", lambda: _mnist("train", HONESTY_IMAGES))
    return ctx.once(f"honesty-nelbo-{kind}", lambda: _nelbo(ctx, kind, images, labels, ctx.seed(60)))


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
    record = TRAININGS.record(ctx, kind)
    reported = record["reported"]
    label = kind.upper()
    if reported.numel() != EPOCHS or not bool(torch.isfinite(reported).all()):
        raise Fail(f"train_vae should return a finite number every epoch; the {label} returned "
                   f"{[round(v, 2) for v in reported.tolist()]}.")
    per_image = float(reported[-1]) / max(int(record["batches"]), 1)
    recomputed = _honesty_nelbo(ctx, kind)
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
                   f"grader recomputes {recomputed:.1f} from your model on {HONESTY_IMAGES:,} training images "
                   f"(allowed gap {HONESTY_TOLERANCE:.0%}).{hint}")
    return f"The {label}'s reported loss {per_image:.1f} agrees with the grader's {recomputed:.1f}."


@graded("VAE: the loss train_vae reports matches the grader's recomputation", points=4)
def vae_honesty(ctx):
    return _honesty(ctx, "vae")


@graded("CVAE: the loss train_vae reports matches the grader's recomputation", points=4)
def cvae_honesty(ctx):
    return _honesty(ctx, "cvae")


def _cvae_samples(ctx, kind: str = "cvae"):
    """The trained CVAE's decodes of the grader's random codes, SAMPLES_PER_DIGIT per digit."""
    TRAININGS.record(ctx, "cvae")

    def compute():
        g = ctx.generator(70)
        digits = torch.arange(measure.NUM_CLASSES).repeat_interleave(SAMPLES_PER_DIGIT)
        z = torch.randn(digits.shape[0], _latent_size(ctx, "cvae"), generator=g)
        images = TRAININGS.box(ctx, "cvae").call(
            "decode", torch.cat([z, measure.one_hot(digits)], dim=1), timeout=ctx.call_timeout,
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
    ctx.drop("classifier")   # no other test needs it: its memory goes to the training-set search
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
    train_images, _ = ctx.once("train-set", lambda: _mnist("train"))
    nearest = novelty.nearest_distances(images, train_images)
    copies = float((nearest < COPY_DISTANCE).float().mean())
    spread = novelty.within_group_spread(images, digits)
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


def _bottleneck_images(ctx, kind: str):
    """Test batches A and B, and A's mean codes decoded before and after the encoder saw B."""
    TRAININGS.record(ctx, kind)

    def compute():
        images, labels = _test_set(ctx)
        a, b = vae.as_float(images[:64]), vae.as_float(images[64:128])
        first, second = vae.decode_after_another_batch(
            TRAININGS.box(ctx, kind), a, b, label=kind.upper(), image_shape=measure.IMAGE, timeout=ctx.call_timeout,
            conditions=(_conditions(kind, labels[:64]), _conditions(kind, labels[64:128])))
        return a, b, first, second
    return ctx.once(f"bottleneck-{kind}", compute)


def _bottleneck(ctx, kind: str) -> str:
    """Decoding must depend on z alone: encode batch A, then batch B, then decode A's means."""
    a, b, first, second = _bottleneck_images(ctx, kind)
    label = kind.upper()
    ctx.picture(f"The {label}'s reconstructions of test images (decoded from the mean code)",
                pictures.Rows([a[:12], first[:12]], ["test image", "reconstruction"]))
    closer = vae.judge_bottleneck(a, b, first, second, label=label, conditional=kind == "cvae")
    return f"{label}: decoding batch A's codes after encoding batch B rebuilds A ({closer:.0%} closer to A)."


@graded("VAE bottleneck: the decoder rebuilds an image from its code alone", points=2)
def vae_bottleneck(ctx):
    return _bottleneck(ctx, "vae")


@graded("CVAE bottleneck: the decoder rebuilds an image from its code and class alone", points=2)
def cvae_bottleneck(ctx):
    return _bottleneck(ctx, "cvae")


training_time = TRAININGS.time_test(2)

UNIT_TESTS = [reparametrize_statistics, reparametrize_gradients, loss_function, loss_kl_term, one_hot,
              vae_shapes, cvae_shapes, decoder_shapes]
# The VAE's tests come before the CVAE's, so that with ``jobs=1`` the VAE's process can be let go
# before the CVAE trains.
TRAINING_TESTS = [vae_training, vae_honesty, vae_bottleneck, cvae_training, cvae_honesty, cvae_bottleneck,
                  cvae_generation, cvae_novelty, training_time]
TESTS = UNIT_TESTS + TRAINING_TESTS
# Before the first student process: the trainings, when two jobs let them run beside the unit tests.
PREPARE = (TRAININGS.early(TRAINING_TESTS),)
