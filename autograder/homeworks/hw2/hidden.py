"""Homework 2's graded tests (100 points). Never shipped to students.

Every number that decides a score is computed here, in the grader's process, from raw tensors the
student's sandboxed process returns (see ``agent.py``). The units run in one sandbox. The two
trainings (the plain autoencoder and the one with the auxiliary classifier) run in two more
sandboxes, side by side with the ``jobs`` option at 2 (the default), one CPU thread each, on the
grader's own split and augmentation of the face emoji (``measure.grader_data``).

Thresholds (measured on the reference solution with grader seeds 0 to 3; the README has the table):

- Test MSE per pixel on the grader's 200 augmented test images after 20 epochs: the reference
  reaches 0.020 to 0.025 (0.021 at the default seed 0), where predicting the mean training image
  scores 0.041 to 0.045 and an untrained network about 0.09. Full marks need <= 0.032: at least 25 %
  headroom over the reference's worst seed (training is deterministic on one machine, but float
  rounding differs between CPUs), while still asking for a model that clearly beats the mean image.
  Credit falls linearly to none at the mean-image error.
- Classifier: accuracy on 600 new random variations of the 71 training emoji (flips, shifts and
  colours the model never saw), against chance, the accuracy of always guessing the most common
  class (0.58 to 0.63). The reference reaches chance + 0.14 to chance + 0.33 (+0.33 at seed 0); a
  classifier that ignores the code stays at chance. Full marks need chance + 0.10, falling linearly
  to no credit at chance. The accuracy on the held-out emoji is reported but not scored: with 48
  held-out emoji it is noisy (the reference: 0.56 to 0.69, chance 0.52 to 0.60).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from autograder.pipeline import expect, kept, pictures, training
from autograder.pipeline.score import Fail, Partial, graded
from autograder.pipeline.vae import as_float

from . import measure

EPOCHS = 20                 # the grader calls train_epoch this many times for each model
MSE_PASS = 0.032            # grader-computed test MSE per pixel for full marks ...
                            # ... falling linearly to no credit at the mean-image error
ACCURACY_MARGIN = 0.10      # classifier accuracy above chance for full marks
ID_IMAGES = 30              # plain-coloured images whose hue identifies them (leak test)
ID_SIZES = (60, 20, 20)
HUE_TOLERANCE = 4.0         # degrees; the originals are 12 degrees apart
PICTURED = 10               # test images shown with their reconstructions


def _ask(ctx, method: str, *args, what: str, box=None, seed: int = 0):
    """One quick call into the student's process (the unit tests' one unless ``box`` is given)."""
    return (box or ctx.units).call(method, *args, what=what, seed=seed, timeout=ctx.call_timeout)


def _label(kind: str) -> str:
    return "AuxAutoencoder" if kind == "aux" else "ConvAutoencoder"


def _long(value, what: str, shape=None) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise Fail(f"{what} should be a torch tensor, but the grader got {type(value).__name__}.")
    if value.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise Fail(f"{what} should hold integer indices (int64), but has dtype {value.dtype}.")
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise Fail(f"{what} has shape {tuple(value.shape)}, expected {tuple(shape)}.")
    return value.long()


def _data(ctx) -> dict:
    """The grader's own split and augmentation of the face emoji (uint8 images), made once."""
    return ctx.once("data", lambda: measure.grader_data(_base(ctx), lambda key: _part(ctx, key)))


def _base(ctx) -> dict:
    return ctx.once("data-base", lambda: measure.grader_base(ctx.seed(0)))


def _part(ctx, key: str) -> dict:
    """One part of :func:`_data` (the trainings need only "train" to start)."""
    if key == "train":
        return ctx.once("data-train", lambda: _training_set(ctx.seed(0), base=lambda: _base(ctx)))
    return ctx.once(f"data-{key}", lambda: measure.grader_part(_base(ctx), key, ctx.seed(0)))


def _training_set(seed: int, base=None) -> dict:
    """The grader's training set: the trainings wait for it, so it is kept on disk between gradings
    (``pipeline/kept.py``, keyed by the seed, the emoji set and the code that makes it) and a
    machine makes it once. ``base()`` gives :func:`measure.grader_base` when it is made."""
    return kept.kept("hw2-train", lambda: measure.grader_part(base() if base else measure.grader_base(seed), "train",
                                                              seed),
                     inputs=lambda: measure.part_inputs(seed), code=measure.part_code())


# What a grading keeps on disk, each made from the grading's seed: ``prefetch`` makes them for the
# default seed, so that a grading machine set up with it (Gradescope's) has them from the start.
KEPT = {"the grader's training set": _training_set}


def _real_faces(ctx, count: int) -> torch.Tensor:
    """``count`` face emoji from the grader's data, float (count, 3, 64, 64)."""
    return as_float(_data(ctx)["train"]["images"][:count])


# --------------------------------------------------------------------------- text
NAMES = ["grinning face", "Face with Tongue", "person facepalming", "cat face", "face with cat ears",
         "surface", "red heart", "smiling face with heart-eyes", "CAT", "dog face", "facE", "two-faced cat",
         "kissing cat face", "weary cat", "face"]
GROUPS = (("smiling", "joy"), ("cat",), ("heart", "face"))


@graded("select_subset and class_labels: whole words, any case, in order", points=6)
def subset_and_labels(ctx):
    for keyword in ("face", "cat face", "CAT"):
        got = _long(_ask(ctx, "select_subset", NAMES, keyword, what=f"select_subset(names, {keyword!r}) on "
                                                                    f"{len(NAMES)} names"),
                    f"select_subset(names, {keyword!r})").tolist()
        expected = measure.select(NAMES, keyword)
        if got != expected:
            raise Fail(f"select_subset(names, {keyword!r}) chose {[NAMES[i] for i in got if 0 <= i < len(NAMES)]} "
                       f"(indices {got}); the grader expects {[NAMES[i] for i in expected]} (indices {expected}). "
                       f"Compare whole words (name_words), ignore case, keep the words of a multi-word keyword "
                       f"together and in order, and return the indices in increasing order.")
    got = _long(_ask(ctx, "class_labels", NAMES, GROUPS, what=f"class_labels(names, {GROUPS})"), "class_labels",
                (len(NAMES),))
    expected = measure.labels(NAMES, GROUPS)
    wrong = [f"{name!r}: {int(g)} (expected {int(e)})" for name, g, e in zip(NAMES, got, expected) if g != e]
    if wrong:
        raise Fail(f"class_labels(names, {GROUPS}) gave wrong classes for {', '.join(wrong[:4])}. The first group "
                   f"with a word of the name wins; names with none of the words get class len(class_words).")
    return "select_subset and class_labels agree with the grader on tricky names."


# --------------------------------------------------------------------------- split
SPLIT_CASES = ((119, 3, (0.6, 0.2, 0.2)), (50, 11, (0.6, 0.2, 0.2)), (7, 1, (0.6, 0.2, 0.2)),
               (40, 5, (0.5, 0.25, 0.25)))   # (n, seed, fractions)


@graded("split_indices: sizes of 60/20/20, disjoint, every index once", points=8)
def split_sizes(ctx):
    for n, seed, fractions in SPLIT_CASES:
        call = f"split_indices({n}, seed={seed}, fractions={fractions})"
        parts = _ask(ctx, "split", n, seed, fractions, what=call)
        tensors = [_long(p, f"split_indices({n}, ...)'s {name} indices")
                   for p, name in zip(parts, ("train", "validation", "test"))]
        everything, got = torch.cat(tensors), tuple(t.numel() for t in tensors)
        sizes = measure.split_sizes(n, fractions)
        problems = (  # (is it wrong, the message): the first wrong one fails the test
            (got != sizes, f"{call} gave splits of sizes {got}; expected {sizes} (validation and test get "
                           f"round(n * fraction) each, train the rest)."),
            (everything.numel() > 0 and bool(everything.min() < 0 or everything.max() >= n),
             f"split_indices({n}, ...) returned indices outside 0..{n - 1}."),
            (torch.unique(everything).numel() != n,
             f"split_indices({n}, ...) repeats some indices (so the splits overlap or an index is missing); every "
             f"index 0..{n - 1} must be in exactly one split."))
        for wrong, message in problems:
            if wrong:
                raise Fail(message)
    return "Sizes (for example 71/24/24 of 119), disjointness and coverage are right."


@graded("Determinism: split_indices, augment and make_splits depend on the seed only", points=6)
def determinism(ctx):
    images = _real_faces(ctx, 6)
    checks = (("split_indices(50, seed)", lambda s, call_seed: _ask(
                  ctx, "split", 50, s, (0.6, 0.2, 0.2), seed=call_seed, what=f"split_indices(50, {s})")),
              ("augment(6 images, 18, seed)", lambda s, call_seed: _ask(
                  ctx, "augment", images, 18, s, seed=call_seed, what=f"augment(6 images, 18, seed={s})")))
    for what, run in checks:
        first = run(21, ctx.seed(101))
        again = run(21, ctx.seed(102))      # same seed, different global random state
        other = run(22, ctx.seed(101))      # another seed
        if not all(torch.equal(a, b) for a, b in zip(first, again)):
            raise Fail(f"{what} should give the same result every time for the same seed, but it changed when "
                       f"the global random state changed. Draw every random number from a torch.Generator seeded "
                       f"with the seed argument (torch.Generator().manual_seed(seed)), not from the global generator.")
        if all(torch.equal(a, b) for a, b in zip(first, other)):
            raise Fail(f"{what} gave the same result for seeds 21 and 22; the grader expects the seed to change "
                       f"the randomness.")
    return "The same seed gives the same split and images; another seed gives others."


# --------------------------------------------------------------------------- augmentation
@graded("augment: originals first, then varied copies; shapes, range, sources", points=8)
def augment(ctx):
    images = _real_faces(ctx, 10)
    out, source = _ask(ctx, "augment", images, 35, ctx.seed(110),
                       what="augment(10 face emoji of shape (10, 3, 64, 64), 35, seed)")
    out = expect.tensor(out, "augment's images", (35, 3, 64, 64), 0.0, 1.0)
    source = _long(source, "augment's source", (35,))
    expected = torch.arange(35) % 10
    if not torch.equal(source, expected):
        raise Fail(f"augment's source should be i % N for output i (here {expected.tolist()[:14]}...), got "
                   f"{source.tolist()[:14]}...")
    if not torch.allclose(out[:10], images, atol=1e-5):
        raise Fail("The first N outputs of augment should be the original images, unchanged.")
    changed = ((out[10:] - images[source[10:]]).abs().mean(dim=(1, 2, 3)) > 0.005).float().mean()
    if float(changed) < 0.8:
        raise Fail(f"Only {float(changed):.0%} of the 25 augmented copies differ from their original; every copy "
                   "should be rotated, shifted and colour-jittered (and half of them flipped).")
    # Transformations as documented: each copy stays as close to its source as the grader's own
    # augmentation of the same images does (with some slack).
    def farthest(copies, sources):
        distance = (copies - images[sources]).pow(2).mean(dim=(1, 2, 3))
        mirrored = (copies - images[sources].flip(-1)).pow(2).mean(dim=(1, 2, 3))
        return float(torch.minimum(distance, mirrored).max())
    own, own_source = measure.augment(images, 410, ctx.seed(111))
    bound = 1.5 * farthest(own[10:], own_source[10:])
    worst = farthest(out[10:], source[10:])
    if worst > bound:
        raise Fail(f"Some augmented copies are far from their original: mean squared difference up to {worst:.3f}, "
                   f"while the documented transformations (rotation up to 10 degrees, shift up to 4 pixels, "
                   f"jitter factors in [0.9, 1.1]) stay below {bound:.3f} on the same images. Keep to the "
                   f"documented ranges (angles in degrees, shifts in pixels), fill uncovered corners with white, "
                   f"and clamp to [0, 1].")
    return "augment keeps the originals and adds varied copies of the right images."


@graded("make_splits: sizes 600/200/200 style, and no copy of a test image outside test", points=10)
def make_splits(ctx):
    images, hues = measure.hue_images(ID_IMAGES)
    answer = _ask(ctx, "make_splits", images, ctx.seed(120), ID_SIZES,
                  what=f"make_splits on {ID_IMAGES} plain-coloured images with sizes {ID_SIZES}")
    expected_sizes = measure.split_sizes(ID_IMAGES)
    claimed = {}
    for key, size, n_indices in zip(("train", "val", "test"), ID_SIZES, expected_sizes):
        part = answer[key]
        x = expect.tensor(part["images"], f"make_splits(...)[{key!r}]['images']", (size, 3, 64, 64), 0.0, 1.0)
        source = _long(part["source"], f"make_splits(...)[{key!r}]['source']", (size,))
        indices = _long(part["indices"], f"make_splits(...)[{key!r}]['indices']")
        if indices.numel() != n_indices:
            raise Fail(f"The {key} split holds {indices.numel()} of the {ID_IMAGES} images; expected {n_indices} "
                       "(the sizes of split_indices).")
        claimed[key] = (x, source, set(indices.tolist()))
    all_indices = [i for key in claimed for i in claimed[key][2]]
    if sorted(all_indices) != list(range(ID_IMAGES)):
        raise Fail("The splits' indices overlap or miss images; each image must be in exactly one split.")
    problems = []
    for key, (x, source, indices) in claimed.items():
        true, distance = measure.identify(x, hues, HUE_TOLERANCE)
        if float(distance.max()) > HUE_TOLERANCE:
            raise Fail(f"Some {key} images changed colour more than the documented jitter allows (the grader "
                       f"could not tell which image they came from). Keep to brightness, contrast and saturation "
                       f"factors in [0.9, 1.1]; do not change hues.")
        outside = sorted({int(t) for t in true if int(t) not in indices})
        if outside:
            where = {k: sorted(set(outside) & claimed[k][2]) for k in claimed if k != key}
            named = "; ".join(f"{len(v)} of the {k} split's images" for k, v in where.items() if v)
            problems.append(f"the {key} split holds augmented copies of images that belong to another split "
                            f"({named})")
        if not torch.equal(true, source):
            problems.append(f"the {key} split's 'source' does not say which image each augmented copy came from "
                            f"({int((true != source).sum())} of {source.numel()} wrong); map augment's source "
                            f"(an index within the split) back through the split's indices")
    if problems:
        raise Fail("make_splits leaks or mislabels images (the grader tells each augmented image's source by its "
                   "colour): " + "; ".join(problems) + ". Expected: every augmented image is made from an image of "
                   "its own split. Split first, then augment each split's own images, so that no variation of a "
                   "test image is ever trained on.")
    return f"Sizes {ID_SIZES} are right, and every augmented image stays in its source image's split."


# --------------------------------------------------------------------------- models and losses
def _build(ctx, kind: str, num_classes: int = 3) -> dict:
    return _ask(ctx, "build", kind, num_classes, what=f"building the {_label(kind)} from parseArguments([])")


@graded("ConvAutoencoder: output shape equals input shape, codes (N, Z), pixels in [0, 1]", points=8)
def ae_shapes(ctx):
    info = _build(ctx, "ae")
    z_size = info["latent_size"]
    x = torch.rand(6, 3, 64, 64, generator=ctx.generator(130))
    (x_hat,) = _ask(ctx, "forward", x, what="the ConvAutoencoder's forward on (6, 3, 64, 64)")
    x_hat = expect.tensor(x_hat, "the ConvAutoencoder's output", tuple(x.shape), 0.0, 1.0)
    z = expect.tensor(_ask(ctx, "encode", x, what="encode on (6, 3, 64, 64)"), "encode's codes", (6, z_size))
    decoded = expect.tensor(_ask(ctx, "decode", z, what=f"decode on (6, {z_size})"), "decode's images",
                            (6, 3, 64, 64), 0.0, 1.0)
    if not torch.allclose(decoded, x_hat, atol=1e-4):
        raise Fail("decode(encode(x)) differs from forward(x) in eval mode; forward should be the decoder "
                   "applied to the encoder's code.")
    return f"Output shape (6, 3, 64, 64) = input shape; codes of size {z_size}; {info['parameters']:,} parameters."


@graded("AuxAutoencoder: forward returns (x_hat, logits) of shapes (N, 3, 64, 64) and (N, C)", points=4)
def aux_shapes(ctx):
    for classes in (3, 5):
        _build(ctx, "aux", classes)
        x = torch.rand(4, 3, 64, 64, generator=ctx.generator(131))
        x_hat, logits = _ask(ctx, "forward", x,
                             what=f"the AuxAutoencoder's forward with C = {classes}")
        expect.tensor(x_hat, "the AuxAutoencoder's x_hat", (4, 3, 64, 64), 0.0, 1.0)
        expect.tensor(logits, f"the AuxAutoencoder's logits (C = {classes})", (4, classes))
    return "Both outputs have the right shapes (tried C = 3 and C = 5)."


@graded("reconstruction_loss and aux_loss: MSE + lambda * cross-entropy, both averaged", points=8)
def losses(ctx):
    g = ctx.generator(140)
    for n in (5, 16):
        x, x_hat = torch.rand(n, 3, 64, 64, generator=g), torch.rand(n, 3, 64, 64, generator=g)
        mse = measure.expected_recon_loss(x_hat, x)
        value = expect.scalar(_ask(ctx, "recon_loss", x_hat, x, what=f"reconstruction_loss on {n} images"),
                              "reconstruction_loss")
        if not expect.close(value, mse, rel=1e-4, abs_tol=1e-7):
            hint = expect.diagnose(value, (
                ("It looks summed; average over every pixel, channel and image.", mse * x.numel()),
                ("It looks summed over each image's pixels; average over them too.", mse * x[0].numel())), rel=1e-3)
            raise Fail(f"reconstruction_loss returned {value:.6f} on {n} images; the grader computes {mse:.6f}.{hint}")
        logits = torch.randn(n, 3, generator=g) * 2
        y = torch.randint(0, 3, (n,), generator=g)
        ce = float(F.cross_entropy(logits, y))
        for lam in (0.0, 0.7, 2.5):
            value = expect.scalar(_ask(ctx, "aux_loss", x_hat, x, logits, y, lam,
                                       what=f"aux_loss on {n} images with lam={lam}"), "aux_loss")
            expected = measure.expected_aux_loss(x_hat, x, logits, y, lam)
            if not expect.close(value, expected, rel=1e-4, abs_tol=1e-7):
                hint = expect.diagnose(value, (
                    ("lambda weighs the wrong term: it multiplies the cross-entropy.", mse * lam + ce),
                    ("The cross-entropy looks summed over the batch; average it.", mse + lam * ce * n),
                    ("It matches the MSE alone: add lam * cross-entropy.", mse)), rel=1e-3)
                raise Fail(f"aux_loss with lam={lam} on {n} images returned {value:.5f}; the grader computes "
                           f"{expected:.5f} (MSE {mse:.5f} + {lam} x cross-entropy {ce:.5f}).{hint}")
    return "Both losses agree with the grader (lambda = 0, 0.7 and 2.5)."


# --------------------------------------------------------------------------- latent arithmetic
def _toy(ctx):
    """The grader's linear encoder z = W x + b and decoder x = V z + c on 3 x 8 x 8 images."""
    g = ctx.generator(150)
    d, z = 3 * 8 * 8, 6
    return {"W": torch.randn(z, d, generator=g) / 8, "b": torch.randn(z, generator=g),
            "V": torch.randn(d, z, generator=g) / 3, "c": torch.rand(d, generator=g),
            "with": torch.rand(5, 3, 8, 8, generator=g), "without": torch.rand(7, 3, 8, 8, generator=g),
            "targets": torch.rand(4, 3, 8, 8, generator=g)}


def _encode(toy, x):
    return x.flatten(1) @ toy["W"].T + toy["b"]


def _decode(toy, z):
    return (z @ toy["V"].T + toy["c"]).view(z.shape[0], 3, 8, 8)


def _hint(value: torch.Tensor, mistakes, atol: float) -> str:
    """The hint of the first ``(hint, tensor)`` in ``mistakes`` that ``value`` matches, or ``""``."""
    return next((hint for hint, wrong in mistakes if torch.allclose(value, wrong, rtol=1e-4, atol=atol)), "")


@graded("attribute_vector: mean code with the attribute minus mean code without (linear toy model)", points=7)
def attribute_vector(ctx):
    toy = _toy(ctx)
    value = _ask(ctx, "attribute", toy["W"], toy["b"], toy["with"], toy["without"],
                 what="attribute_vector(encode, 5 images with, 7 images without) with a linear encoder")
    value = expect.values(value, "attribute_vector", (6,))
    expected = _encode(toy, toy["with"]).mean(0) - _encode(toy, toy["without"]).mean(0)
    if not torch.allclose(value, expected, rtol=1e-4, atol=1e-5):
        hint = _hint(value, ((" It has the wrong sign: with minus without.", -expected),
                             (" It looks summed; take the mean code of each group.",
                              _encode(toy, toy["with"]).sum(0) - _encode(toy, toy["without"]).sum(0))), atol=1e-5)
        raise Fail(f"With the grader's linear encoder z = W x + b, attribute_vector returned "
                   f"{[round(v, 4) for v in value.tolist()]}, expected {[round(v, 4) for v in expected.tolist()]}.{hint}")
    return "attribute_vector is exact on the grader's linear encoder."


@graded("compose: decode(encode(x) + strength * vector) (linear toy model)", points=7)
def compose(ctx):
    toy = _toy(ctx)
    vector = torch.randn(6, generator=ctx.generator(151))
    for strength in (1.0, 0.5, -2.0):
        value = _ask(ctx, "compose", toy["W"], toy["b"], toy["V"], toy["c"], toy["targets"], vector, strength,
                     what=f"compose(encode, decode, 4 images, vector, strength={strength}) with a linear encoder "
                          f"and decoder")
        value = expect.values(value, f"compose(..., strength={strength})", (4, 3, 8, 8))
        expected = _decode(toy, _encode(toy, toy["targets"]) + strength * vector)
        if strength == 1.0:
            ctx.picture("Latent arithmetic on the grader's linear toy model: images, your compose(..., strength=1), "
                        "the grader's decode(encode(x) + vector)",
                        pictures.Rows([toy["targets"], value, expected], ["image", "your compose", "expected"]))
        if not torch.allclose(value, expected, rtol=1e-4, atol=1e-4):
            codes = _encode(toy, toy["targets"])
            hint = _hint(value, (
                (" It looks like decode(code) + decode(vector): add in code space, then decode once.",
                 _decode(toy, codes) + _decode(toy, strength * vector[None])),
                (" The strength is ignored: add strength * vector.", _decode(toy, codes + vector))), atol=1e-4)
            raise Fail(f"With the grader's linear encoder and decoder, compose(..., strength={strength}) differs "
                       f"from decode(encode(images) + strength * vector) by up to "
                       f"{float((value - expected).abs().max()):.4f}.{hint}")
    return "compose is exact on the grader's linear encoder and decoder (strengths 1, 0.5 and -2)."


# --------------------------------------------------------------------------- training
def _training(ctx, kind: str) -> training.Job:
    train = _part(ctx, "train")
    return training.Job(("train", kind, train["images"], train["labels"], EPOCHS, ctx.seed(200), measure.NUM_CLASSES),
                        seed=ctx.seed(201), what=f"train_epoch ({EPOCHS} epochs of the {_label(kind)} on the "
                                                 f"grader's {train['images'].shape[0]} training images)")


def _harvest(kind: str) -> tuple:
    """Everything the tests ask of a trained model; then its process ends, so that the grader's
    pictures are drawn with no student process alive (peak memory)."""
    return (_test_mse, _reconstructions) if kind == "ae" else (_aux_results,)


# The autoencoder first: with ``jobs=1`` its tests run, and its process ends, before the other trains.
TRAININGS = training.Trainings(("ae", "aux"), _training, epochs=EPOCHS, label=_label,
                               harvest=_harvest)


# Each function that asks a trained model for something records its training first, outside
# ctx.once: recording runs the harvest, which calls these same functions.
def _test_mse(ctx, kind: str) -> float:
    def compute():
        test = _data(ctx)["test"]["images"]
        x_hat = _ask(ctx, "reconstruct", test, box=TRAININGS.box(ctx, kind),
                     what=f"the trained {_label(kind)} on the grader's {test.shape[0]} test images")
        x_hat = expect.values(x_hat, f"the trained {_label(kind)}'s reconstructions", tuple(test.shape), 0.0, 1.0)
        ctx.once(f"pictured-{kind}", lambda: x_hat[:PICTURED].clone())   # no second request for the picture
        return measure.mse(x_hat, as_float(test))
    TRAININGS.record(ctx, kind)
    return ctx.once(f"test-mse-{kind}", compute)


def _mean_image_mse(ctx) -> float:
    """The test MSE of predicting the mean training image (no student code: the test works it out
    while the models train, not after)."""
    return ctx.once("mean-image-mse", lambda: measure.mean_image_mse(_data(ctx)["train"]["images"],
                                                                     _data(ctx)["test"]["images"]))


def _reconstructions(ctx, kind: str = "ae"):
    """The trained model's reconstructions of the first 10 test images (for the picture): kept from
    the test MSE's request, or asked for when that one failed."""
    TRAININGS.record(ctx, kind)
    test = _data(ctx)["test"]["images"][:PICTURED]
    return ctx.once(f"pictured-{kind}", lambda: _ask(ctx, "reconstruct", test, box=TRAININGS.box(ctx, kind),
                                                     what="the reconstructions for the pictures"))


@graded("Training: test MSE (grader's own test split) <= 0.032 after 20 epochs", points=14)
def test_mse(ctx):
    baseline = _mean_image_mse(ctx)
    error = _test_mse(ctx, "ae")
    test = _data(ctx)["test"]["images"][:PICTURED]
    ctx.picture("Test images (top) and your autoencoder's reconstructions (bottom)",
                lambda: pictures.Rows([test, _reconstructions(ctx)], ["test image", "reconstruction"]))
    ctx.picture("Training loss", lambda: pictures.Curves(
        {"train_epoch reported (training MSE)": TRAININGS.record(ctx, "ae")["reported"].tolist()},
        ylabel="MSE per pixel",
        points={"the grader's test MSE": (EPOCHS, error)}))
    if error <= MSE_PASS:
        return (f"The autoencoder's MSE per pixel on the grader's 200 test images is {error:.4f} (<= {MSE_PASS}); "
                f"predicting the mean training image would give {baseline:.4f}.")
    fraction = expect.ramp(error, MSE_PASS, baseline)
    return Partial(fraction, f"The autoencoder's MSE per pixel on the grader's 200 test images, computed by the "
                             f"grader from your model's reconstructions after {EPOCHS} epochs, is {error:.4f}; full "
                             f"marks need <= {MSE_PASS} (the reference reaches about 0.025), and predicting the mean "
                             f"training image gives {baseline:.4f}. Check the decoder (Sigmoid at the end), "
                             f"reconstruction_loss, and that train_epoch steps the optimizer every batch.")


def _aux_results(ctx, kind: str = "aux") -> dict:
    """The trained classifier's accuracy (and chance) on new variations and on held-out emoji."""
    def compute():
        data = _data(ctx)
        results = {}
        for key, images, y in (("fresh", data["fresh"]["images"], data["fresh"]["labels"]),
                               ("held-out", torch.cat([data["val"]["images"], data["test"]["images"]]),
                                torch.cat([data["val"]["labels"], data["test"]["labels"]]))):
            scores = _ask(ctx, "logits", images, box=TRAININGS.box(ctx, kind),
                          what=f"the trained AuxAutoencoder's logits on {images.shape[0]} images")
            scores = expect.values(scores, "the AuxAutoencoder's logits", (images.shape[0], measure.NUM_CLASSES))
            results[key] = (measure.accuracy(scores, y), measure.majority(y))
        results["emoji"] = len(data["indices"]["train"])
        return results
    TRAININGS.record(ctx, kind)
    return ctx.once("aux-accuracy", compute)


@graded("Auxiliary classifier: accuracy clearly above chance (grader-computed from logits)", points=10)
def aux_accuracy(ctx):
    results = _aux_results(ctx)
    accuracy, chance = results["fresh"]
    held, held_chance = results["held-out"]
    target = chance + ACCURACY_MARGIN
    info = (f"On new random variations of the {results['emoji']} training "
            f"emoji the classifier is right {accuracy:.1%} of the time, where always guessing the most common class "
            f"gives {chance:.1%}. (For information: on the held-out emoji it reaches {held:.1%}, chance "
            f"{held_chance:.1%}.)")
    if accuracy >= target:
        return info
    return Partial(expect.ramp(accuracy, target, chance),
                   info + f" Full marks need {target:.1%} (chance + {ACCURACY_MARGIN:.0%}). Check that the classifier "
                          f"reads the code, that aux_loss adds lam * cross-entropy with the batch's own labels, "
                          f"and that lam (parseArguments) is not too small.")


training_time = TRAININGS.time_test(4)


UNIT_TESTS = [subset_and_labels, split_sizes, determinism, augment, make_splits, ae_shapes, aux_shapes, losses,
              attribute_vector, compose]
TRAINING_TESTS = [test_mse, aux_accuracy, training_time]
TESTS = UNIT_TESTS + TRAINING_TESTS
# With two jobs the trainings start first, beside the unit tests: their processes start while the
# grader makes the training set (each training's request carries it), and the rest of the grader's
# data is made while they train. With one job the trainings do not start early, and all of the data
# (augmenting passes through a few hundred MB) is made before the first student process.
PREPARE = (TRAININGS.early(TRAINING_TESTS), _data)
