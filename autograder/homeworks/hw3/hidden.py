"""Homework 3's graded tests (100 points). Never shipped to students.

Every number and image that decides a score is checked here, in the grader's process, against raw
tensors the student's sandboxed process returns (see ``agent.py``). The unit and interpolation
tests run in one sandbox on a freshly built (untrained, seeded) model, so they do not wait for
training; the VAE then trains in a second sandbox, one CPU thread, and the grader computes its
test-set loss itself.

How each interpolation property is told apart from the others:

- endpoints: the first and last of the 9 images must equal A and B pixel for pixel;
- means, not samples: two calls under different global seeds must give the same interior images,
  and the codes behind the interior images (recorded by the agent) must lie on the line through the
  posterior means of A and B;
- weights k/8: the agent narrows the encoder's posterior (logvar - 60), so that a sample and its
  mean coincide; the interior images must then equal the grader's own decodes of
  (1 - k/8) mu_A + (k/8) mu_B, k = 1..7;
- grid order: ``interpolation_grid`` must equal ``create_interpolates`` row by row, in order.
"""
from __future__ import annotations

import torch

from autograder.pipeline import expect, pictures, vae
from autograder.pipeline.training import Job, Trainings
from autograder.pipeline.score import Fail, Partial, graded

from . import measure

LATENT_DIM = 20           # the grader builds Encoder(20) and Decoder(20)
EPOCHS = 10               # the grader calls train(..., num_epochs=10)
NELBO_PASS = 120.0        # test-set negative ELBO per image for full credit ...
NELBO_ZERO = 200.0        # ... falling linearly to no credit here (an untrained model is about 545)
IMAGE_ATOL = 1e-4         # pixels compared between two decodes of the same codes
ENDPOINT_ATOL = 1e-6      # the end images must be the originals, up to float rounding
WEIGHT_ATOL = 1e-3        # interpolation weights read off the recorded codes
OFF_LINE_TOL = 1e-3       # distance of a decoded code from the line of the means, relative to |mu_B - mu_A|
TRAININGS = Trainings(
    ("vae",),
    lambda ctx, kind: Job(("train", EPOCHS, ctx.seed(70), LATENT_DIM), seed=ctx.seed(71),
                          what=f"train(encoder, decoder, train_loader, optimizer, num_epochs={EPOCHS}) on the MNIST "
                               f"training set"),
    epochs=EPOCHS)


def _call(ctx, method, *args, what, seed=0):
    return ctx.units.call(method, *args, what=what, seed=seed, timeout=ctx.call_timeout)


def _test_images(ctx):
    """The MNIST test set: uint8 images (N, 28, 28) and int64 labels (N,)."""
    def load():
        from data import mnist

        images, labels = mnist.tensors("test")
        return images[:, 0], labels
    return ctx.once("test-set", load)


# --------------------------------------------------------------------------- units
@graded("sample: z = mu + exp(logvar / 2) * noise, with gradients into mu and logvar", points=6)
def sample(ctx):
    mu, logvar, weights = vae.reparametrize_inputs(ctx.generator(1), 4096, LATENT_DIM)
    answer = _call(ctx, "sample", mu, logvar, weights, seed=ctx.seed(2),
                   what="sample(mu, logvar) with mu and logvar of shape (4096, 20)")
    z = expect.values(answer["z"], "sample's z", (4096, LATENT_DIM))
    mean, std = vae.judge_noise(z, mu, logvar)
    vae.judge_gradients(answer.get("grad_mu"), answer.get("grad_logvar"), z, mu, logvar, weights)
    return f"The standardised noise has mean {mean:.3f} and standard deviation {std:.3f}; gradients are right."


@graded("vae_loss: BCE summed over pixels + KL, averaged over the images", points=8)
def vae_loss(ctx):
    for n, offset in ((5, 10), (64, 11)):
        x_hat, x, mu, logvar = vae.loss_inputs(ctx.generator(offset), n, (28, 28), LATENT_DIM)
        value = expect.scalar(_call(ctx, "loss", x, x_hat, mu, logvar,   # the handout's order: vae_loss(x, x_hat, ...)
                                    what=f"vae_loss(x, x_hat, mu, logvar) on {n} images"), "vae_loss")
        vae.judge_negative_elbo(value, x_hat, x, mu, logvar, call="vae_loss")
    return "vae_loss agrees with the grader on two batches."


@graded("Encoder and Decoder: (B, 28, 28) -> (mu, logvar) of (B, Z) -> images (B, 28, 28) in [0, 1]", points=6)
def shapes(ctx):
    g = ctx.generator(20)
    x = torch.rand(5, 28, 28, generator=g)
    for z_size in (LATENT_DIM, 7):
        z = torch.randn(6, z_size, generator=g) * 3
        mu, logvar, x_hat = _call(ctx, "probe", z_size, x, z, seed=ctx.seed(21),
                                  what=f"Encoder({z_size}) on images of shape (5, 28, 28) and Decoder({z_size}) "
                                       f"on codes of shape (6, {z_size})")
        expect.tensor(mu, f"mu from Encoder({z_size})", (5, z_size))
        expect.tensor(logvar, f"logvar from Encoder({z_size})", (5, z_size))
        expect.tensor(x_hat, f"the output of Decoder({z_size})", (6, 28, 28), 0.0, 1.0)
        if torch.allclose(mu, logvar):
            raise Fail(f"Encoder({z_size}) returns the same tensor for mu and logvar; use two separate heads.")
    return "Encoder and Decoder have the right shapes for two latent sizes, and pixels lie in [0, 1]."


# --------------------------------------------------------------------------- interpolation
def _model(ctx):
    return ctx.once("model", lambda: _call(ctx, "build", LATENT_DIM, seed=ctx.seed(30),
                                          what=f"building Encoder({LATENT_DIM}) and Decoder({LATENT_DIM})"))


def _endpoints(ctx):
    """The grader's pair (A, B): two test images of different digits, chosen with the seed."""
    def choose():
        images, labels = _test_images(ctx)
        g = ctx.generator(31)
        while True:
            i, j = torch.randint(len(labels), (2,), generator=g).tolist()
            if labels[i] != labels[j]:
                return vae.as_float(images[i]), vae.as_float(images[j]), (int(labels[i]), int(labels[j]))
    return ctx.once("endpoints", choose)


def _means(ctx):
    """The posterior means of A and B, from the student's encoder, asked by the grader."""
    def compute():
        _model(ctx)
        A, B, _ = _endpoints(ctx)
        mu, _ = _call(ctx, "encode", torch.stack([A, B]), what="the encoder on the two images A and B")
        mu = expect.values(mu, "mu of A and B", (2, LATENT_DIM))
        return mu[0], mu[1]
    return ctx.once("means", compute)


def _decode(ctx, codes, what):
    images = _call(ctx, "decode", codes, what=what)
    return expect.values(images, "the decoder output", (codes.shape[0], 28, 28), 0.0, 1.0)


def _interpolation(ctx, narrow: bool, offset: int):
    """``create_interpolates(A, B, ...)`` as the student computes it, under call seed ``offset``."""
    def compute():
        _model(ctx)
        A, B, _ = _endpoints(ctx)
        answer = _call(ctx, "interpolate", A, B, narrow, seed=ctx.seed(offset),
                       what="create_interpolates(A, B, encoder, decoder) on two test images"
                            + (" (with the encoder's variance narrowed to almost 0)" if narrow else ""))
        images = measure.nine_images(answer["images"], "create_interpolates(A, B, encoder, decoder)")
        codes = answer.get("codes")
        return images, codes if isinstance(codes, torch.Tensor) else None
    return ctx.once(f"interpolation-{narrow}-{offset}", compute)


def _same(a, b, atol=IMAGE_ATOL) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, atol=atol, rtol=0))


def _interior_codes(ctx, images, codes):
    """The codes behind the 7 interior images, in their order: each interior image is matched
    with the recorded code whose decode (asked again by the grader) equals it. None when the
    decoder was not called as ``decoder(z)`` or an image matches no recorded code."""
    if codes is None or not 1 <= codes.shape[0] <= 64:
        return None
    decoded = _decode(ctx, codes, "the decoder on the codes it received inside create_interpolates")
    chosen = []
    for k in range(1, measure.NUM_INTERIOR + 1):
        gap = (decoded - images[k]).abs().flatten(1).amax(dim=1)
        best = int(gap.argmin())
        if float(gap[best]) > IMAGE_ATOL:
            return None
        chosen.append(codes[best])
    return torch.stack(chosen)


@graded("create_interpolates: the first and last images are A and B themselves", points=8)
def endpoints(ctx):
    A, B, _ = _endpoints(ctx)
    images, _ = _interpolation(ctx, False, 40)
    first, last = _same(images[0], A, ENDPOINT_ATOL), _same(images[8], B, ENDPOINT_ATOL)
    if first and last:
        return "The row starts with A and ends with B, the original test images."
    hint = ""
    mu_a, mu_b = _means(ctx)
    decoded = _decode(ctx, torch.stack([mu_a, mu_b]), "the decoder on the means of A and B")
    if _same(images[0], B, ENDPOINT_ATOL) and _same(images[8], A, ENDPOINT_ATOL):
        hint = " A and B are swapped: the row must go from A (left) to B (right)."
    elif _same(images[0], decoded[0], 1e-3) or _same(images[8], decoded[1], 1e-3):
        hint = (" They are the decoder's reconstructions of A and B: put the original images A and B at the ends "
                "and decode only the 7 interior codes.")
    elif float((images[0] - A).abs().max()) < 0.05 and float((images[8] - B).abs().max()) < 0.05:
        hint = " They are close to A and B but not equal: return the images unchanged (no rescaling or rounding)."
    which = " and ".join(n for n, ok in (("the first image is not A", first), ("the last image is not B", last))
                         if not ok)
    raise Fail(f"create_interpolates(A, B, ...) should return A, then the 7 interior decodes, then B; but {which} "
               f"(largest pixel differences {float((images[0] - A).abs().max()):.3f} and "
               f"{float((images[8] - B).abs().max()):.3f}).{hint}")


@graded("create_interpolates: interpolates the posterior means, not random samples", points=12)
def uses_means(ctx):
    images, codes = _interpolation(ctx, False, 40)
    again, _ = _interpolation(ctx, False, 41)
    change = float((images[1:8] - again[1:8]).abs().max())
    if change > IMAGE_ATOL:
        raise Fail(f"Two calls of create_interpolates(A, B, ...) with different random seeds gave different interior "
                   f"images (pixels differ by up to {change:.3f}): the codes were sampled. Interpolate between the "
                   f"means mu_A and mu_B that the encoder returns, without calling sample().")
    interior = _interior_codes(ctx, images, codes)
    if interior is not None:
        mu_a, mu_b = _means(ctx)
        _, off_line = measure.project(interior, mu_a, mu_b)
        if float(off_line.max()) > OFF_LINE_TOL:
            raise Fail(f"The codes your decoder received are not on the straight line through the posterior means "
                       f"of A and B (the farthest is {float(off_line.max()):.3f} x |mu_B - mu_A| away from it). "
                       f"Interpolate between mu_A and mu_B themselves, not between samples drawn around them.")
    return "The interior images are the same under any random seed and come from codes between the two means."


@graded("create_interpolates: the 7 interior codes are (1 - k/8) mu_A + (k/8) mu_B, k = 1..7, in order", points=12)
def weights(ctx):
    images, codes = _interpolation(ctx, True, 42)
    mu_a, mu_b = _means(ctx)
    expected = _decode(ctx, measure.line_codes(mu_a, mu_b), "the decoder on the grader's 7 interpolated means")
    w = off_line = None
    interior = _interior_codes(ctx, images, codes)
    if interior is not None:
        w, off_line = measure.project(interior, mu_a, mu_b)
    # The images decide; the recorded codes (when the decoder was called as decoder(z)) sharpen the check,
    # because an untrained decoder changes its output only a little between nearby codes.
    codes_ok = w is None or bool(torch.allclose(w, measure.WEIGHTS, atol=WEIGHT_ATOL))
    if _same(images[1:8], expected) and codes_ok:
        return "The 7 interior images equal the grader's decodes of the means at weights 1/8, 2/8, ..., 7/8."
    hint = ""
    if w is not None:
        if float(off_line.max()) < 1e-2:
            shown = ", ".join(f"{v:.3f}" for v in w.tolist())
            hint = f" The codes your decoder received sit at weights [{shown}] along the line from mu_A to mu_B."
            for label, candidate in (("k/9: there are 8 equal steps from A to B, not 9", torch.arange(1, 8) / 9),
                                     ("k/10", torch.arange(1, 8) / 10),
                                     ("evenly spaced from 0 to 1 including the ends: drop the ends, keep k/8, "
                                      "k = 1..7", torch.linspace(0, 1, 7)),
                                     ("in reverse order: start next to A with weight 1/8 on mu_B",
                                      1 - measure.WEIGHTS)):
                if torch.allclose(w, candidate.float(), atol=1e-3):
                    hint += f" Those are {label}."
                    break
        else:
            hint = " The codes your decoder received are not on the line from mu_A to mu_B at all."
    else:
        hint = (" (The grader could not tell which codes your decoder turned into these images; it reads them "
                "when create_interpolates calls decoder(z).)")
    raise Fail(f"With the encoder's variance narrowed to almost 0 (so that a sample equals its mean), the 7 interior "
               f"images should be the decodes of (1 - k/8) mu_A + (k/8) mu_B for k = 1..7, in that order; they differ "
               f"from the grader's decodes of those codes by up to {float((images[1:8] - expected).abs().max()):.4f}."
               f"{hint}")


def _grid_pairs(ctx):
    def choose():
        images, _ = _test_images(ctx)
        g = ctx.generator(50)
        index = torch.randperm(len(images), generator=g)[:20]
        return vae.as_float(images[index[:10]]), vae.as_float(images[index[10:]])
    return ctx.once("grid-pairs", choose)


@graded("interpolation_grid: 10 rows x 9 columns, row r = create_interpolates(A[r], B[r])", points=8)
def grid(ctx):
    _model(ctx)
    A, B = _grid_pairs(ctx)
    answer = _call(ctx, "grid", A, B, ctx.seed(51), seed=ctx.seed(51),
                   what="interpolation_grid(A, B, encoder, decoder) with A and B of shape (10, 28, 28)")
    whole = answer["grid"]
    if isinstance(whole, torch.Tensor) and whole.dim() == 5 and whole.shape[2] == 1:
        whole = whole[:, :, 0]
    whole = expect.tensor(whole, "interpolation_grid(A, B, ...)", (10, 9, 28, 28), 0.0, 1.0)
    rows = answer.get("rows")
    if not isinstance(rows, torch.Tensor):
        raise Fail(f"The grid is compared with create_interpolates(A[r], B[r], ...) row by row, but those rows have "
                   f"shapes {answer.get('row_shapes')}; create_interpolates should return (9, 28, 28).")
    if rows.numel() != 10 * 9 * 28 * 28:
        raise Fail(f"The grid is compared with create_interpolates(A[r], B[r], ...) row by row, but those rows have "
                   f"shape {tuple(rows.shape[1:])}; create_interpolates should return (9, 28, 28).")
    rows = expect.values(rows, "create_interpolates(A[r], B[r], ...) for r = 0..9", (10, 9, 28, 28), 0.0, 1.0)
    differ = [not _same(whole[r], rows[r]) for r in range(10) for _ in range(9)]
    ctx.picture("Your interpolation_grid(A, B, ...) (red: rows that differ from create_interpolates)",
                pictures.Grid(whole.reshape(90, 28, 28), 9, marked=differ))
    ctx.picture("create_interpolates(A[r], B[r], ...) row by row, as the grader called it",
                pictures.Grid(rows.reshape(90, 28, 28), 9))
    if _same(whole, rows):
        return "Row r of the grid is create_interpolates(A[r], B[r], ...), for all 10 rows in order."
    hint = ""
    if _same(whole.flip(0), rows):
        hint = " The rows are in reverse order."
    elif _same(whole.flip(1), rows):
        hint = " Each row runs from B to A: keep A on the left."
    bad = [r for r in range(10) if not _same(whole[r], rows[r])]
    raise Fail(f"Row r of interpolation_grid(A, B, ...) should be create_interpolates(A[r], B[r], ...) (with the "
               f"same random state), but rows {bad} differ.{hint}")


# --------------------------------------------------------------------------- pairs
def _index(ctx):
    return ctx.once("mnist-index", measure.MnistIndex)


def _pairs(ctx, kind: str, seed_offset: int, call_offset: int):
    name = "same_digit_pairs" if kind == "same" else "different_digit_pairs"

    def compute():
        seed = ctx.seed(seed_offset)
        answer = _call(ctx, "pairs", kind, seed, seed=ctx.seed(call_offset), what=f"{name}({seed})")
        A = expect.values(answer[0], f"A from {name}", (10, 28, 28), 0.0, 1.0)
        B = expect.values(answer[1], f"B from {name}", (10, 28, 28), 0.0, 1.0)
        return A, B
    return ctx.once(f"pairs-{kind}-{seed_offset}-{call_offset}", compute)


def _found(ctx, kind: str):
    """The first call's pairs and where each image was found in MNIST."""
    name = "same_digit_pairs" if kind == "same" else "different_digit_pairs"
    A, B = _pairs(ctx, kind, 60, 61)
    where_a, where_b = _index(ctx).find(A), _index(ctx).find(B)
    lost = [f"{'AB'[side]}[{r}]" for side, where in enumerate((where_a, where_b)) for r in range(10) if where[r] is None]
    if lost:
        raise Fail(f"{name} returned images that are not MNIST images as load_images gives them: "
                   f"{', '.join(lost[:6])}{' ...' if len(lost) > 6 else ''}. Return the images of load_images('test') "
                   f"unchanged (no reconstructions, no rescaling).")
    return A, B, where_a, where_b


@graded("same_digit_pairs: row d holds two different test images of digit d, for d = 0..9", points=8)
def same_digit(ctx):
    A, B, where_a, where_b = _found(ctx, "same")
    labels = [(a["label"], b["label"]) for a, b in zip(where_a, where_b)]
    wrong = [f"row {d}: {la} and {lb}" for d, (la, lb) in enumerate(labels) if (la, lb) != (d, d)]
    if wrong:
        raise Fail(f"Row d of same_digit_pairs should hold two images of digit d, in the order 0, 1, ..., 9; the grader "
                   f"finds these digits: {'; '.join(wrong)}.")
    twins = [d for d in range(10) if (where_a[d]["split"], where_a[d]["index"]) == (where_b[d]["split"], where_b[d]["index"])]
    if twins:
        raise Fail(f"In rows {twins} of same_digit_pairs A and B are the same image; draw two different images "
                   f"(e.g. the first two of a random permutation).")
    return "Each row d holds two different images of digit d."


@graded("different_digit_pairs: 10 distinct pairs, each of two different digits", points=8)
def different_digits(ctx):
    A, B, where_a, where_b = _found(ctx, "different")
    labels = [(a["label"], b["label"]) for a, b in zip(where_a, where_b)]
    same = [f"row {r}: {la} and {lb}" for r, (la, lb) in enumerate(labels) if la == lb]
    if same:
        raise Fail(f"Every row of different_digit_pairs should hold two different digits; the grader finds "
                   f"{'; '.join(same)}. Keep a drawn pair only if its two labels differ.")
    keys = {((a["split"], a["index"]), (b["split"], b["index"])) for a, b in zip(where_a, where_b)}
    if len(keys) < 10:
        raise Fail(f"different_digit_pairs returned only {len(keys)} distinct pairs among its 10 rows; draw a new "
                   f"random pair for every row.")
    shown = ", ".join(f"{la}-{lb}" for la, lb in labels)
    return f"All 10 pairs hold two different digits ({shown})."


@graded("Pairs are drawn from the MNIST test set, never the training set", points=6)
def from_test_set(ctx):
    problems = []
    for kind, name in (("same", "same_digit_pairs"), ("different", "different_digit_pairs")):
        _, _, where_a, where_b = _found(ctx, kind)
        splits = [w["split"] for w in where_a + where_b]
        if any(s != "test" for s in splits):
            problems.append(f"{name}: {splits.count('train')} of its 20 images come from the training set")
    if problems:
        raise Fail("Interpolation must use images the VAE never trained on, the test set: " + "; ".join(problems)
                   + ". Draw them from load_images('test').")
    return "All 40 images come from the MNIST test set."


@graded("Pairs are determined by the seed: same seed, same pairs (whatever the global seed); new seed, new pairs",
        points=6)
def seeded(ctx):
    for kind, name in (("same", "same_digit_pairs"), ("different", "different_digit_pairs")):
        A, B = _pairs(ctx, kind, 60, 61)
        A2, B2 = _pairs(ctx, kind, 60, 62)   # same seed, another global random state
        if not (torch.equal(A, A2) and torch.equal(B, B2)):
            raise Fail(f"{name}({ctx.seed(60)}) gave different pairs on two calls made under different global random "
                       f"states. Make every random choice with a torch.Generator seeded with the seed argument "
                       f"(e.g. torch.randperm(n, generator=g)), not with the global generator.")
        A3, B3 = _pairs(ctx, kind, 63, 61)   # another seed
        if torch.equal(A, A3) and torch.equal(B, B3):
            raise Fail(f"{name} gave the same pairs for the seeds {ctx.seed(60)} and {ctx.seed(63)}; the pairs "
                       f"should be random, drawn with a generator seeded with the seed argument.")
    return "Both pair functions repeat themselves for a seed and change with it."


# --------------------------------------------------------------------------- training
def _trained(ctx):
    """The training's record, with the test-set negative ELBO the grader computes from the trained model."""
    def compute():
        record = TRAININGS.record(ctx, "vae")
        images, _ = _test_images(ctx)
        nelbo = vae.evaluate_nelbo(TRAININGS.box(ctx, "vae"), images, latent_size=LATENT_DIM, image_shape=(28, 28),
                                   seed=ctx.seed(72), label="trained VAE")
        return {"nelbo": nelbo, "seconds": float(record["seconds"]), "reported": record.get("reported")}
    return ctx.once("trained", compute)


@graded("Training: the VAE's test-set negative ELBO is below 120 after 10 epochs", points=12)
def training(ctx):
    record = _trained(ctx)
    nelbo, seconds = record["nelbo"], record["seconds"]
    ctx.picture("Training loss", lambda: pictures.Curves({"train reported": record["reported"].tolist()},
                                                         points={"the grader's test-set negative ELBO": (EPOCHS, nelbo)}))
    if nelbo < NELBO_PASS:
        return (f"After {EPOCHS} epochs ({seconds:.0f} s) the test-set negative ELBO per image, computed by the grader "
                f"from your model, is {nelbo:.1f} (< {NELBO_PASS:g}).")
    return Partial(expect.ramp(nelbo, NELBO_PASS, NELBO_ZERO),
                   f"After {EPOCHS} epochs ({seconds:.0f} s) the test-set negative ELBO per image, computed by the "
                   f"grader from your encoder's mu and logvar, its own samples and your decoder, is {nelbo:.1f}; full "
                   f"marks need < {NELBO_PASS:g} (the reference reaches about 105). Check vae_loss, that train steps "
                   f"the optimizer on every batch, and that the decoder ends with a sigmoid.")


UNIT_TESTS = [sample, vae_loss, shapes]
INTERPOLATION_TESTS = [endpoints, uses_means, weights, grid]
PAIR_TESTS = [same_digit, different_digits, from_test_set, seeded]
TRAINING_TESTS = [training]
TESTS = UNIT_TESTS + INTERPOLATION_TESTS + PAIR_TESTS + TRAINING_TESTS
# Before the first student process: the trainings, when two jobs let them run beside the unit tests.
PREPARE = (TRAININGS.early(TRAINING_TESTS),)
