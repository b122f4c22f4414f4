"""Homework 5's graded tests (100 points). Never shipped to students.

Units (9 points) run in one student process: ``reparametrize``, ``kld`` and ``vae_loss``. The
architecture is the student's choice (the notebook suggests one design; the handout grades what the
codes achieve, not how the network is built), so no test grades it. Then a second process retrains the student's model from scratch: the grader
calls ``train_vae(train_images, seed=...)`` (one CPU thread, seeded, stopped at ``--timeout``) and
``encode(model, images)`` on the dev and test glyphs. From these raw codes the grader computes
everything itself (``measure.py`` with the public ``scoring.py`` and the test labels only it has):

- the codes must be low-dimensional (at most 32 numbers per glyph) and be the model's posterior
  means (4 points);
- the codes the student uploaded in output.zip must agree with the recomputed ones (4 points).
  Retraining is not bit-identical to the student's own run (another machine, thread count or
  seed; the grader trains with ``--seed``, 0 by default, the seed ``python answer/vae.py`` uses),
  so the rule compares what matters, the scores, not the numbers: the upload is flagged when its
  codes have another dimension than the recomputed ones, or when its dev or test score differs from
  the recomputed one by more than ``measure.SCORE_TOLERANCE`` = 10 points. Honest reruns of the
  reference differ by 1.3 and 2.7 points (a two-thread run against the grader's one thread, same
  seed) and by at most 5.6 points between seeds 0-3; codes from another model differ by 20 or more
  (the default's 5 against pixel PCA's 28). Marks never use the uploaded codes, so an upload cannot
  raise them and a lenient rule costs nothing; the flag asks a TA to look;
- the dev and test scores of the recomputed codes give the marks through the grade table (83
  points: the row's marks out of 100, times 0.83).
"""
from __future__ import annotations

import torch

from autograder.pipeline import expect, mistakes, pictures, vae
from autograder.pipeline.isolate import StudentFailure
from autograder.pipeline.score import Fail, Partial, graded
from autograder.pipeline.training import Job, Trainings

from . import measure, scoring
from .hooks import uploaded

MARKS_POINTS = 83   # what the handout grades: the dev and test scores (the write-up is graded by hand)
MU_RTOL, MU_ATOL = 1e-4, 1e-4      # encode(model, x) must equal the posterior means of model(x)


def _train_seed(ctx) -> int:
    """The seed of the retraining: ``--seed`` itself (0 by default), the seed ``python answer/vae.py``
    uses, so an honest upload made with the same software is reproduced closely."""
    return int(ctx.options.get("seed", 0))


def _images(split: str) -> torch.Tensor:
    from data import signs

    return signs.tensors(split)


TRAININGS = Trainings(   # one retraining, train_vae with the student's own number of epochs
    ("vae",),
    lambda ctx, kind: Job(("train", _images("train"), _train_seed(ctx)), seed=_train_seed(ctx),
                          what=f"train_vae(train_images, seed={_train_seed(ctx)}) with your default settings "
                               f"(time limit {ctx.timeout:.0f} s)"),
    epochs=None)


# --------------------------------------------------------------------------- units
@graded("reparametrize: z = mu + exp(log_var / 2) * epsilon, with gradients to mu and log_var", points=3)
def reparametrize(ctx):
    mu, log_var, weights = vae.reparametrize_inputs(ctx.generator(1), 4096, 16)
    answer = ctx.units.call("reparametrize", mu, log_var, weights, seed=ctx.seed(2), timeout=ctx.call_timeout,
                            what="reparametrize(mu, log_var) with mu and log_var of shape (4096, 16)")
    z = expect.values(answer["z"], "reparametrize's z", (4096, 16))
    mean, std = vae.judge_noise(z, mu, log_var, "log_var")
    vae.judge_gradients(answer.get("grad_mu"), answer.get("grad_log_var"), z, mu, log_var, weights, "log_var")
    return f"The standardised noise has mean {mean:.3f} and standard deviation {std:.3f}; gradients are right."


def _loss_inputs(ctx, n: int, offset: int):
    g = ctx.generator(offset)
    x = (torch.rand(n, 1, 64, 64, generator=g) > 0.7).float()
    x_hat = torch.rand(n, 1, 64, 64, generator=g) * 0.98 + 0.01
    mu = torch.randn(n, 16, generator=g)
    log_var = torch.randn(n, 16, generator=g) * 0.5
    return x_hat, x, mu, log_var


@graded("kld: the closed-form KL divergence of each image, shape (N,)", points=3)
def kld(ctx):
    _, _, mu, log_var = _loss_inputs(ctx, 12, 10)
    value = ctx.units.call("kld", mu, log_var, timeout=ctx.call_timeout, what="kld(mu, log_var) on 12 images")
    expected = vae.kl_per_image(mu, log_var)
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        number = float(value.reshape(()))
        hint = ""
        if expect.close(number, float(expected.sum()), rel=1e-3):
            hint = " It equals the sum over the batch: keep one value per image (sum over dim=1 only)."
        elif expect.close(number, float(expected.mean()), rel=1e-3):
            hint = " It equals the batch mean: keep one value per image (sum over dim=1 only)."
        raise Fail(f"kld returned a single number; it should return one KL value per image, shape (12,).{hint}")
    value = expect.tensor(value, "kld(mu, log_var)", (12,))
    if not torch.allclose(value, expected, rtol=1e-4, atol=1e-4):
        hint = ""
        if torch.allclose(value, -expected, rtol=1e-4, atol=1e-4):
            hint = " The sign is flipped: KL = -1/2 * sum(1 + log_var - mu^2 - exp(log_var))."
        elif torch.allclose(value, 2 * expected, rtol=1e-4, atol=1e-4):
            hint = " It is twice the KL: keep the factor 1/2."
        else:
            hint = expect.diagnose(float(value.mean()), mistakes.kl_mistakes(mu, log_var, "log_var"))
        raise Fail(f"kld disagrees with the closed form: first values {[round(v, 3) for v in value[:3].tolist()]}, "
                   f"the grader computes {[round(v, 3) for v in expected[:3].tolist()]}.{hint}")
    return "kld agrees with the closed form, one value per image."


@graded("vae_loss: mean over images of BCE summed over pixels + beta * KL", points=3)
def vae_loss(ctx):
    for n, offset, beta in ((6, 20, None), (16, 21, 0.25)):
        x_hat, x, mu, log_var = _loss_inputs(ctx, n, offset)
        called = "vae_loss(x_hat, x, mu, log_var)" + ("" if beta is None else f" with beta={beta}")
        value = expect.scalar(ctx.units.call("vae_loss", x_hat, x, mu, log_var, beta, timeout=ctx.call_timeout,
                                             what=f"{called} on {n} images"), "vae_loss")
        b = 1.0 if beta is None else beta
        expected = vae.negative_elbo(x_hat, x, mu, log_var, b)
        if not expect.close(value, expected, rel=1e-4):
            bce = float(vae.bce_per_image(x_hat, x).mean())
            kl = float(vae.kl_per_image(mu, log_var).mean())
            own = [("It ignores beta: multiply the KL term by beta.", bce + kl if b != 1 else None),
                   ("It looks averaged over pixels: sum the BCE over the pixels of each image.", expected / (64 * 64)),
                   ("It looks averaged over pixels: sum the BCE over the pixels of each image.", bce / 4096 + b * kl)]
            hint = expect.diagnose(value, own + mistakes.loss_mistakes(x_hat, x, mu, log_var, "log_var", b))
            raise Fail(f"{called} on {n} images returned {value:.3f}; the grader computes {expected:.3f} "
                       f"(BCE {bce:.3f} + {b:g} * KL {kl:.3f} per image).{hint}")
    return "vae_loss agrees with the grader, with the default beta and with beta = 0.25."


# --------------------------------------------------------------------------- retraining
def _recomputed(ctx) -> dict:
    """The dev and test codes of the retrained model, checked: float64 arrays (N, Z)."""
    def compute():
        record = TRAININGS.record(ctx, "vae")
        box = TRAININGS.box(ctx, "vae")
        out = {"seconds": float(record["seconds"])}
        for split in ("dev", "test"):
            images = _images(split)
            answer = box.call("codes", images, timeout=ctx.call_timeout * 2,
                              what=f"encode(model, {split}_images) on {images.shape[0]} glyphs")
            codes = answer["codes"]
            if not isinstance(codes, torch.Tensor):
                raise Fail(f"encode should return a torch tensor, but the grader got {type(codes).__name__}.")
            try:
                array = scoring.check_codes(codes.detach().float().numpy(), images.shape[0],
                                            f"encode(model, {split}_images)")
            except scoring.CodesError as err:
                raise Fail(f"{err} The grader needs the posterior means mu of your VAE, shape "
                           f"({images.shape[0]}, Z) with Z <= {scoring.MAX_CODE_DIM}.") from None
            mu = answer["mu"].detach().float()
            if tuple(mu.shape) != array.shape or not torch.allclose(torch.from_numpy(array).float(), mu,
                                                                    rtol=MU_RTOL, atol=MU_ATOL):
                gap = float((torch.from_numpy(array).float() - mu).abs().max()) if tuple(mu.shape) == array.shape \
                    else float("nan")
                raise Fail(f"encode(model, {split}_images) is not the posterior mean mu that model(images) returns in "
                           f"eval mode (shapes {array.shape} and {tuple(mu.shape)}, largest difference {gap:.3g}). "
                           "The codes must be the VAE's mu: call model.eval() and keep the second output of the "
                           "forward pass, without sampling or extra processing.")
            out[split] = array
        return out
    return ctx.once("recomputed", compute)


@graded("Codes: low-dimensional posterior means of the retrained VAE", points=4)
def codes(ctx):
    recomputed = _recomputed(ctx)
    z = recomputed["dev"].shape[1]
    return (f"Your train_vae trained in {recomputed['seconds']:.0f} s (one CPU thread); encode returns the "
            f"posterior means, {z} numbers per glyph (at most {scoring.MAX_CODE_DIM}).")


def _scores(ctx) -> dict:
    return ctx.once("scores", lambda: measure.scores(_recomputed(ctx)))


def _upload_scores(ctx) -> dict:
    """``{split: scoring.Score}`` of the uploaded codes (``{}`` when the upload has a problem)."""
    def compute():
        upload = uploaded(ctx.workdir)
        return {} if upload.get("problem") else measure.scores(upload)
    return ctx.once("upload-scores", compute)


def _score_upload_early(ctx) -> None:
    """For ``PREPARE``: with two jobs, load scikit-learn and score the upload while the retraining
    runs rather than after it (the clustering test then only clusters the retrained codes). With one
    job memory comes first: scikit-learn is loaded once the student's process has ended."""
    if ctx.jobs >= 2:
        scoring.load_libraries()
        _upload_scores(ctx)


@graded("Honesty: the uploaded codes agree with the grader's retraining", points=4)
def honesty(ctx):
    upload = uploaded(ctx.workdir)
    if upload.get("problem"):
        raise Fail(f"The uploaded codes cannot be compared: {upload['problem']}")
    try:
        recomputed = _recomputed(ctx)
    except Fail as err:
        raise Fail(f"The grader could not recompute your codes, so the upload cannot be checked: {err}") from None
    except StudentFailure as err:
        raise Fail("The grader could not recompute your codes, so the upload cannot be checked.\n"
                   + err.feedback) from None
    got = _scores(ctx)
    lines, flagged = [], False
    for split in ("dev", "test"):
        mine, theirs = upload[split], recomputed[split]
        if mine.shape[1] != theirs.shape[1]:
            raise Fail(f"FLAGGED: your uploaded {split} codes have {mine.shape[1]} dimensions but the model your "
                       f"vae.py trains gives {theirs.shape[1]}. Upload the codes of the code you submit: run "
                       "`python answer/vae.py`, then `python zipout.py hw5`. A TA will look at this submission.")
        score_up = _upload_scores(ctx)[split].value
        score_re = got[split].value
        same = measure.agreement(mine, theirs, split)
        gap = score_up - score_re
        flagged |= abs(gap) > measure.SCORE_TOLERANCE
        lines.append(f"{split}: uploaded codes score {score_up:.2f}, the grader's retraining {score_re:.2f} "
                     f"(difference {gap:+.2f}; the two clusterings agree at ARI {same:.0f})")
    detail = "\n".join(lines)
    if flagged:
        raise Fail(f"FLAGGED: the codes in output.zip do not come from the model your vae.py trains.\n{detail}\n"
                   f"Honest reruns differ by a few points (allowed: {measure.SCORE_TOLERANCE:g}). Make "
                   "the codes with the code you submit (`python answer/vae.py`, then `python zipout.py hw5`). "
                   "Your marks use the grader's retraining only; a TA will look at this submission.")
    return "The uploaded codes agree with the grader's retraining.\n" + detail


@graded("Clustering: dev and test scores give the marks of the grade table", points=MARKS_POINTS)
def clustering(ctx):
    got = _scores(ctx)
    rows = measure.table()
    dev, test = got["dev"].value, got["test"].value
    row, following = scoring.reached(rows, dev, test)
    marks = row.marks if row is not None else 0.0
    grade = row.grade if row is not None else "below the table"
    lines = [f"Dev score {dev:.2f}, test score {test:.2f} ({scoring.METRIC} x 100 between the Ward clusterings "
             f"of your codes and the gold letters, averaged over {len(scoring.OFFSETS)} cluster counts; computed "
             "by the grader from the model it retrained with your train_vae).",
             f"Row reached: {grade} ({marks:g} marks)" + (f", which needs {row.thresholds()}." if row else "."),
             (f"Next row: {following.grade} ({following.marks:g} marks) needs {following.thresholds()}."
              if following else "This is the top row of the table."),
             f"This test gives {marks:g}% of its {MARKS_POINTS} points.",
             f"Per cluster count, dev: {got['dev'].table()}",
             f"Per cluster count, test: {got['test'].table()}"]
    from data.signs import CLASSES

    dev_codes, dev_gold = _recomputed(ctx)["dev"], measure.gold("dev")
    ctx.picture("Six of the clusters your dev codes form (one per row), each glyph with its gold letter "
                "(red: not the cluster's most common letter)",
                lambda: pictures.clusters(_images("dev"), scoring.ward_clusters(dev_codes, len(set(dev_gold))),
                                          [CLASSES[int(g)] for g in dev_gold]))
    message = "\n".join(lines)
    if marks >= 100:
        return message
    if marks <= 0:
        raise Fail(message + "\nImprove the VAE (see the notebook's ideas) and check your dev score with "
                             "`python check.py`.")
    return Partial(marks / 100.0, message)


UNIT_TESTS = [reparametrize, kld, vae_loss]
TRAINING_TESTS = [codes, honesty, clustering]
TESTS = UNIT_TESTS + TRAINING_TESTS
# Before the first student process: the trainings, when two jobs let them run beside the unit tests;
# then the uploaded codes' scores, while the retraining runs.
PREPARE = (TRAININGS.early(TRAINING_TESTS), _score_upload_early)
