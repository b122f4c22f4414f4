"""Writes homework 5's notebook, and the copies of it students hand in as their write-up.

    python -m autograder.homeworks.hw5.notebook           # (re)write the three copies below
    python -m autograder.homeworks.hw5.notebook --check   # exit 1 if any copy differs from a fresh build

``notebooks/hw5.ipynb`` is the homework's notebook, an nbgrader source notebook: its written-answer
cells hold reference answers between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` and its
autograded cells run the public checks. ``answer/vae.ipynb`` in the reference solution is the same
notebook, byte for byte. Students get the student version in ``stencil/hw5/answer/vae.ipynb`` (made by
``python -m autograder.stencil hw5``, which strips the solution regions as nbgrader does): they open it
from their ``answer/`` folder, run it, answer its questions and upload it in ``source.zip``. Edit the
cells here, never the copies; a test fails when they drift.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[3]
TARGETS = (
    KIT_ROOT / "notebooks" / "hw5.ipynb",
    KIT_ROOT / "solutions" / "hw5" / "answer" / "vae.ipynb",
)

CELLS: list[tuple[str, str, dict]] = []


def md(text: str, nbgrader: dict | None = None) -> None:
    CELLS.append(("markdown", text.strip("\n"), {"nbgrader": nbgrader} if nbgrader else {}))


def code(text: str, nbgrader: dict | None = None) -> None:
    CELLS.append(("code", text.strip("\n"), {"nbgrader": nbgrader} if nbgrader else {}))


def answer(grade_id: str, points: int, reference: str, template: str = "") -> None:
    """A written answer graded by a TA: the reference answer is a solution region, which the student
    version replaces by YOUR ANSWER HERE (``template`` stays below it for the student to fill)."""
    body = "### BEGIN SOLUTION\n" + reference.strip("\n") + "\n### END SOLUTION"
    md(body + ("\n\n" + template.strip("\n") if template else ""),
       {"grade": True, "grade_id": grade_id, "locked": False, "points": points, "schema_version": 3,
        "solution": True, "task": False})


def checks(grade_id: str, what: str, names: tuple[str, ...]) -> None:
    """An autograded cell (one point per check) that runs some of the public checks."""
    points = len(names)
    code(f"# Autograded, {points} point{'s' if points > 1 else ''}: the public checks of {what}.\n"
         f'require("hw5", HW_DIR, ' + ", ".join(f'"{name}"' for name in names) + ")",
         {"grade": True, "grade_id": grade_id, "locked": True, "points": points, "schema_version": 3,
          "solution": False, "task": False})


md(r"""
# Homework 5: recovering a lost alphabet with a VAE

*The year is 4025.* Digging through the ruins of a library, an archaeologist finds a box of
handwritten manuscripts in a script nobody has read for two thousand years. The pages were written by
many different hands. Before anyone can decipher the language, the archaeologist must answer a
simpler question: **what is the alphabet?** Which of the thousands of handwritten signs are the same
letter written by different people, and how many letters are there?

Nobody is left to label the signs, so the alphabet has to be recovered **without supervision**: learn
a compact description (a *code*) of every sign, then group signs whose codes are close. In this
homework you train a **variational autoencoder (VAE)** on images of the signs and cluster its latent
codes. To let us measure how well the alphabet is recovered, our "forgotten script" is in fact the
Latin alphabet: 52 letters (upper and lower case count as different letters) written by 55 people.

| file (in your homework folder) | what |
|---|---|
| `answer/vae.py` | **you write**: `reparametrize`, `kld`, `vae_loss`, the `VAE`, the loop of `train_vae`, `encode`, and the settings at the top |
| `answer/vae.ipynb` | **you write**: this notebook is your write-up; run it, answer the questions, and say who did what |
| `default.py` | given: a tiny, barely trained VAE that runs the whole pipeline (nothing to fill in) |
| `check.py` | given: scores your dev codes exactly as the grader will |
| `outputs/` | written by `answer/vae.py` (or `default.py`): `dev.npy`, `test.npy`, `training.json` |

**How to work.**

1. See the pipeline run before you change anything: `python default.py`, then `python check.py`
   (from your homework folder). The default's codes score a few points.
2. Fill in every region between the `TODO` banners of `answer/vae.py`. Each docstring states the
   shapes. Check your work in seconds with `python -m autograder check hw5` from the kit's folder.
3. Train and save your codes: `python answer/vae.py` (about a minute or two on a laptop CPU), then
   `python check.py` for your dev score. Improve the model and repeat.
4. Run this notebook top to bottom and answer the questions at the end.
5. Package and upload **both** zips: `python zipsrc.py hw5` (makes `source.zip` from `answer/`) and
   `python zipout.py hw5` (makes `output.zip` from `outputs/`).

**How you are graded.** The grader checks your functions, then **retrains your model itself** by
calling `train_vae(train_images, seed=...)` with your default settings (one CPU thread, with a time
limit: keep training under 5 minutes on one thread), encodes the dev and test glyphs with `encode`,
and scores the codes. Your marks come from the dev and test scores through the grade table (section
4). The codes you upload must agree with what your code produces; they are compared, not used for
the marks.
""")

code(r"""
# Set-up: find the kit and your answer/ folder, reload edited modules automatically.
%load_ext autoreload
%autoreload 2
%matplotlib inline

import importlib.util
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from IPython.display import Image, display


def _find_kit_root():
    if os.environ.get("AEKIT_ROOT"):
        return Path(os.environ["AEKIT_ROOT"]).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "data" / "signs.py").is_file() and (folder / "autograder").is_dir():
            return folder
    return here.parent


def _answer_folder():
    here = Path.cwd().resolve()
    if (here / "vae.py").is_file():  # this notebook opened as answer/vae.ipynb
        return here
    if (here / "answer" / "vae.py").is_file():  # the homework folder, as nbgrader hands it out
        return here / "answer"
    return KIT_ROOT / "stencil" / "hw5" / "answer"


KIT_ROOT = _find_kit_root()
HW_DIR = Path(os.environ.get("AEKIT_HW5_DIR") or _answer_folder()).expanduser().resolve()  # holds vae.py
OUTPUT_DIR = HW_DIR.parent / "outputs"
for folder in (KIT_ROOT, HW_DIR):
    if str(folder) in sys.path:
        sys.path.remove(str(folder))
    sys.path.insert(0, str(folder))

# QUICK mode (AEKIT_QUICK=1) is for automatic checks: one epoch on a few hundred glyphs. nbgrader sets
# NBGRADER_EXECUTION when it runs the notebook (autograde, validate) and allows each cell 30 s, so
# QUICK mode is on there too.
QUICK = os.environ.get("AEKIT_QUICK") == "1" or bool(os.environ.get("NBGRADER_EXECUTION"))
SEED = 0
torch.manual_seed(SEED)

import vae  # noqa: E402  (your answer/vae.py)
from autograder.check import require  # noqa: E402  (the public checks, for the autograded cells)
from autograder.homeworks.hw5 import scoring  # noqa: E402
from data import signs  # noqa: E402

print("kit root:       ", KIT_ROOT)
print("answer folder:  ", HW_DIR)
print("outputs go to:  ", OUTPUT_DIR, "| QUICK mode" if QUICK else "")


def show_figure(fig):
    # Display a matplotlib figure as a PNG (works whatever matplotlib backend is active).
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue()))


def show_glyphs(images, titles=None, columns=12, size=0.9):
    # A grid of (N, 64, 64) or (N, 1, 64, 64) images, with optional titles.
    import matplotlib.pyplot as plt

    images = np.asarray(images).reshape(-1, 64, 64)
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.15), squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.axis("off")
        if index < len(images):
            ax.imshow(images[index], cmap="gray_r", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(str(titles[index]), fontsize=8)
    show_figure(fig)
""")

md(r"""
## 1. The signs

Every sign is a 64 x 64 grey-level image with values in $[0, 1]$ (1 is ink), cropped to its
bounding box and stretched to fill the square. The file name of each image gives its letter and its
writer. The kit pools the signs of the course's two data files and splits them **by writer**: 35
writers for `train`, 10 for `dev` and 10 for `test`, so that no hand appears in two splits and the
scores measure how well your codes generalise to new writers.

* `signs.images("train")`: the training signs, **without labels** (training is unsupervised);
* `signs.images("dev")` and `signs.labels("dev")`: the dev signs and their letters, to measure your work;
* `signs.images("test")`: the test signs; their labels are held back for the grader.

Letters are numbered 0 to 51; `signs.CLASSES[k]` is the letter of class $k$ ('A' to 'Z', then 'a' to 'z').
""")

code(r"""
print("signs per split:", signs.sizes())
dev_images, dev_labels = signs.images("dev"), signs.labels("dev")
print("dev images", dev_images.shape, dev_images.dtype, "| letters present in dev:", len(np.unique(dev_labels)))
order = np.argsort(dev_labels, kind="stable")[::8][:48]
show_glyphs(dev_images[order], [signs.CLASSES[k] for k in dev_labels[order]])
""")

md(r"""
## 2. The VAE, and the pieces you write

A VAE has an **encoder** that maps an image $x$ to a Gaussian $q_\phi(z \mid x) =
\mathcal{N}(\mu(x), \operatorname{diag}\sigma^2(x))$ over codes $z \in \mathbb{R}^Z$, a **decoder**
that maps a code to pixel probabilities $\hat{x} = g_\theta(z)$, and the prior $p(z) = \mathcal{N}(0, I)$.
It is trained by minimising the negative evidence lower bound of each image,

$$
\mathcal{L}(x) = \underbrace{\mathrm{BCE}(\hat{x}, x)}_{\text{reconstruction, summed over pixels}}
+ \beta\, \underbrace{\mathrm{KL}\big(q_\phi(z \mid x)\,\|\,p(z)\big)}_{\texttt{kld}},
\qquad
\mathrm{KL} = -\frac{1}{2}\sum_{j=1}^{Z}\big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big),
$$

with $\hat{x}$ decoded from one sample $z = \mu + \sigma \odot \varepsilon$, $\varepsilon \sim
\mathcal{N}(0, I)$ (the **reparametrization trick**, as in homework 4). `vae_loss` averages
$\mathcal{L}$ over a batch. With $\beta = 1$ this is the ordinary VAE; other values of $\beta$ trade
reconstruction against a more regular code space, which you may try.

**Why a VAE helps clustering.** The KL term keeps codes of similar images close together and fills
the code space without gaps, so distances between codes mean something; the reconstruction term
keeps in the code what distinguishes one letter from another. As the code of a sign we take the
**posterior mean** $\mu(x)$ (no sampling): that is what `encode` returns and what the grader clusters.

Fill in `reparametrize`, `kld` and `vae_loss` in `answer/vae.py`; the cell below checks them.
""")

code(r"""
N, Z = 4, 8
mu_t = torch.zeros(N, Z, requires_grad=True)
log_var_t = torch.zeros(N, Z, requires_grad=True)
z = vae.reparametrize(mu_t, log_var_t)
assert z.shape == (N, Z)
z.sum().backward()
assert mu_t.grad is not None and log_var_t.grad is not None, "no gradient reached mu / log_var"

kl = vae.kld(torch.zeros(N, Z), torch.zeros(N, Z))
assert kl.shape == (N,) and torch.allclose(kl, torch.zeros(N)), "kld(0, 0) is 0 for every image"
assert torch.allclose(vae.kld(torch.ones(N, Z), torch.zeros(N, Z)), torch.full((N,), Z / 2))

x = (torch.rand(N, 1, 64, 64) > 0.7).float()
loss = vae.vae_loss(torch.full_like(x, 0.5), x, torch.zeros(N, Z), torch.zeros(N, Z))
assert loss.dim() == 0 and abs(loss.item() - 4096 * np.log(2)) < 1e-2 * 4096
print("reparametrize, kld and vae_loss pass the quick checks")
""")

md(r"""
## 3. The architecture

The kit's suggestion (see the docstring of `VAE` for one design that works). The architecture is
your group's choice: no test grades how the network is built; your marks come from the dev and test
scores of the codes and from this write-up.

| part | layers | shape |
|---|---|---|
| encoder | `Conv2d` + ReLU layers, at least one pooling layer (`MaxPool2d`), a `Dropout`, `Flatten`, `Linear` + ReLU | (N, 1, 64, 64) -> (N, H) |
| heads | two `Linear` layers: `mu_layer` and `log_var_layer` | (N, H) -> (N, Z) each |
| decoder | `Linear` layers, `Unflatten` to a small feature map, `ConvTranspose2d` layers that double its size, each but the last with `BatchNorm2d` + ReLU, then `Sigmoid` | (N, Z) -> (N, 1, 64, 64) |

Convolutions share their weights across the image, so the same stroke is recognised wherever it is;
pooling makes the features tolerant to small shifts; dropout keeps the encoder from relying on single
pixels; batch normalisation keeps the decoder's training stable. The code size $Z$ must be at most
32: a code is a *compressed* description of a sign, not its 4,096 pixels.
""")

code(r"""
model = vae.VAE()
x = torch.from_numpy(dev_images[:2]).unsqueeze(1)
model.eval()
with torch.no_grad():
    x_hat, mu, log_var = model(x)
print("x_hat", tuple(x_hat.shape), " mu", tuple(mu.shape), " log_var", tuple(log_var.shape))
print(f"{sum(p.numel() for p in model.parameters()):,} parameters; codes of {mu.shape[1]} numbers")
assert x_hat.shape == (2, 1, 64, 64) and 0 <= x_hat.min() and x_hat.max() <= 1
assert mu.shape == log_var.shape == (2, model.latent_dim) and model.latent_dim <= scoring.MAX_CODE_DIM
""")

md(r"""
## 4. The score and the grade table

The codes $(N, Z)$ of a split are clustered by **agglomerative clustering with Ward's linkage**
(scikit-learn) into $k$ clusters, for $k = C - 15, C - 10, \dots, C + 15$, where $C$ is the number of
letters present in the split (about 50). Each clustering is compared with the true letters by the
**adjusted Rand index** (ARI): the share of pairs of signs that the clustering and the letters treat
alike (together or apart), corrected so that a clustering that carries no information scores 0 and a
perfect one scores 1. The score is the mean ARI x 100 over the seven values of $k$, so you cannot win
by guessing the number of letters, and random codes score about 0.

Marks come from the grade table: a row is reached when **both** your dev and your test scores meet
its thresholds. The grader computes both scores from the model it retrains with your code.
""")

code(r"""
def dev_score(codes):
    return scoring.score(codes, dev_labels).value


rng = np.random.default_rng(0)
print(f"random 16-number codes:            dev score {dev_score(rng.normal(size=(len(dev_labels), 16))):6.2f}")
pixels = scoring.score(dev_images.reshape(len(dev_labels), -1), dev_labels, max_dim=4096)
print(f"raw pixels (4,096 numbers, not allowed as codes): dev score {pixels.value:6.2f}")
print()
print("The grade table:")
for row in reversed(scoring.load_table()):
    print(f"  {row.grade:<3} {row.marks:>4g} marks: dev >= {row.dev:>4g} and test >= {row.test:>4g}")
""")

md(r"""
## 5. The given default

`default.py` is a complete VAE with the same functions as yours, but tiny (a fully connected encoder
with 32 hidden units and a code of 2 numbers) and trained for a single epoch. It shows every step of
the pipeline working; its score is the floor to beat.
""")

code(r"""
spec = importlib.util.spec_from_file_location("hw5_default", HW_DIR.parent / "default.py")
default = importlib.util.module_from_spec(spec)
spec.loader.exec_module(default)

train_images = signs.tensors("train")
dev_tensors, test_tensors = signs.tensors("dev"), signs.tensors("test")
default_model, _ = default.train_vae(train_images, seed=SEED)
default_dev = dev_score(default.encode(default_model, dev_tensors).numpy())
print(f"the default's dev score: {default_dev:.2f}")
""")

md(r"""
## 6. Training your VAE

This does what `python answer/vae.py` does: train with your settings, then write the dev and test
codes to `outputs/` (the files `python zipout.py hw5` packages). It takes a minute or two on a laptop
CPU; in QUICK mode it runs one epoch on 256 signs.
""")

code(r"""
images = train_images[:256] if QUICK else train_images
epochs = 1 if QUICK else vae.EPOCHS
start = time.monotonic()
model, losses = vae.train_vae(images, epochs=epochs, seed=SEED, verbose=True)
print(f"trained {epochs} epoch(s) in {time.monotonic() - start:.0f} s")

dev_codes, test_codes = vae.encode(model, dev_tensors), vae.encode(model, test_tensors)
for split, codes in (("dev", dev_codes), ("test", test_codes)):
    print("saved", vae.save_codes(codes, split, OUTPUT_DIR), tuple(codes.shape))
result = scoring.score(dev_codes.numpy(), dev_labels)
print(f"your dev score: {result.value:.2f}  ({result.table()})")

import matplotlib.pyplot as plt  # noqa: E402

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
left.plot(range(1, len(losses) + 1), losses, marker="o")
left.set_xlabel("epoch")
left.set_ylabel("loss per image")
left.set_title("training loss")
left.grid(alpha=0.3)
ks, values = zip(*result.per_k)
right.plot(ks, values, marker="o", label="your VAE")
right.axhline(pixels.value, color="gray", linestyle="--", label="raw pixels")
right.axhline(default_dev, color="red", linestyle=":", label="default")
right.set_xlabel("number of clusters k")
right.set_ylabel("ARI x 100 (dev)")
right.set_title("dev score per cluster count")
right.legend()
right.grid(alpha=0.3)
show_figure(fig)
""")

md(r"""
## 7. Looking at what the model learned

First, reconstructions of a few dev signs (top: the signs, bottom: the decoder's output from their
posterior means). Then a few of the clusters found in the dev codes with $k = C$: each row is one
cluster, with the true letter above each sign.
""")

code(r"""
model.eval()
with torch.no_grad():
    sample = dev_tensors[:12]
    hidden = model.encoder(sample)
    reconstructed = model.decoder(model.mu_layer(hidden))
show_glyphs(torch.cat([sample, reconstructed]).numpy(), columns=12)

classes = len(np.unique(dev_labels))
clusters = scoring.ward_clusters(dev_codes.numpy(), classes)
sizes = np.bincount(clusters)
shown = np.argsort(-sizes)[:6]
grid, titles = [], []
for cluster in shown:
    members = np.flatnonzero(clusters == cluster)[:12]
    grid += [dev_images[i] for i in members] + [np.zeros((64, 64))] * (12 - len(members))
    titles += [signs.CLASSES[dev_labels[i]] for i in members] + [""] * (12 - len(members))
show_glyphs(np.stack(grid), titles)
""")

md(r"""
## 8. Ideas for a better score

Change one thing at a time, and keep what raises your **dev** score (`python check.py`); remember
that the grader retrains with your defaults within its time limit.

* the size of the code (`LATENT_DIM`), the weight `BETA` of the KL term, the number of epochs and the
  learning rate;
* the width and depth of the encoder and decoder, the dropout rate;
* `distort` in `answer/vae.py` (given): feed the encoder randomly slanted, scaled or shifted signs
  but ask the decoder for the clean ones, so the code forgets how a particular hand holds the pen;
* letters whose upper and lower case look alike after cropping (o and O, s and S, ...) cannot be told
  apart from the image: do not expect a perfect score.
""")

md(r"""
## 9. Your write-up

Answer in the cells below (replace the placeholder text).

**Q1.** Fill in the table with the dev scores you measured: random codes, raw pixels, the default,
and your VAE. What do the numbers tell you about your codes?
""")

answer("q1", 3, r"""
| codes | dev score |
|---|---|
| random (16 numbers) | 0.2 |
| raw pixels (4,096 numbers) | 28.2 |
| default (2 numbers, 1 epoch) | 5.7 |
| your VAE (16 numbers, 30 epochs) | 36.2 |

These are reference values with seed 0 on one CPU thread. Across seeds, the default scores 3 to 6 and the reference VAE 33 to 38. More threads can shift it by a point or two.

Random codes score about 0, as a chance-corrected ARI should. The default's 2-number code keeps a little shape information, but far too little to separate 50 letters. The VAE's 16-number codes beat even the raw pixels, which are 256 times longer. Ward clustering of pixels mostly compares where ink falls, so the same letter drawn slightly shifted or slanted looks different. The conv encoder, trained on distorted inputs, maps such variants to nearby codes. The score is still far from 100, though: many letters, and especially upper/lower-case pairs, are still mixed, so the codes recover the alphabet only in part.

*Full marks:* the four values filled in and plausible (random ≈ 0, pixels ≈ 28, default ≈ 3–6, a working VAE well above the default, about 30–38 for a reference-like model); the VAE is compared with pixels and the default with a reason (compact code, invariance); the scores are noted as far from perfect.
""", template=r"""
| codes | dev score |
|---|---|
| random | |
| raw pixels | |
| default | |
| your VAE | |
""")

md(r"""
**Q2.** Which changes to the model or its training raised your dev score the most, and which did not
help? Give the numbers. Use only the homework's data (no external data sources), and implement your
improvements yourselves in `answer/vae.py` (not by calling an external library's model or method).
""")

answer("q2", 5, r"""
Reference values (dev, seed 0, one thread; the reference is Z = 16, 30 epochs, β = 1, distortion on, **36.2**):

- **Distortion** of the encoder's input helped most. Switching it off drops the score to **29.0**, although the training loss falls (606 vs 1013): the model reconstructs better but encodes each writer's slant and placement.
- **Epochs**: 10 epochs give 33.8 and 30 give 36.2, so a modest gain.
- **KL weight**: β = 0.25 gives 32.1 (worse, a less regular code space); β = 4 gives 37.4.
- **Code size**: Z = 8 gives 33.6 and Z = 32 gives 38.1.

The reference's spread over seeds is 32.8 to 38.4, so changes of 1 to 2 points (β = 4, Z = 32) are within noise and would need several seeds to confirm. Only the distortion effect and the drop for a small β or a short training are clearly real. A lower training loss did not mean a better score.

*Full marks:* at least two changes reported with before/after dev scores; identifies what helped most (for a reference-like model, distortion/augmentation, ~+7) and what did not; judges differences against seed noise (a few points) rather than over-reading a single run.

*Full marks also require (the handout's write-up criteria):* no external data source was used (only the homework's glyphs, no other handwriting sets or pretrained features); every improvement reported was implemented by the group in `answer/vae.py`, not taken from an external library (a library's layers and optimisers are fine, a ready-made model or clustering trick is not). An answer that breaks either criterion earns at most 1 point.
""")

md(r"""
**Q3.** Look at the clusters in section 7. Which letters end up together, and why? Is the number of
letters $C$ the best number of clusters for your codes?
""")

answer("q3", 5, r"""
With the reference codes at $k = C = 50$, the mixed clusters are mostly of two kinds.

**Case pairs that look the same once cropped and stretched:** W/w, S/s, V/v, K/k, P/p, and the vertical strokes I, l, i and j. Cropping to the bounding box removes size and baseline position, which are the only cues that separate these letters. No model can split them from the image.

**Letters with similar strokes:** g/y (descender with a loop), b/h, R/k, B/S/s, f/p, H/N, a/u, m/n and T/r. These differ in one small stroke, such as a closed bowl or a crossbar, which a blurry reconstruction and a 16-number code easily lose. Some letters (T, L, W) form fairly pure clusters.

On the choice of $k$, the reference's dev ARI is almost flat: 35.9, 36.9, 35.9, **38.1**, 36.9, 35.6 and 34.4 for $k = 35 \dots 65$. $C$ happens to be the best, but anything from 40 to 55 is within 2 points. Because about ten case pairs cannot be separated, fewer clusters than $C$ cost little.

*Full marks:* names concrete confused letters seen in the student's clusters; explains the confusions (case pairs are identical after cropping/scaling, similar stroke shapes); answers the k question from the per-k plot, e.g. a flat curve with a peak near C, and relates it to indistinguishable pairs.
""")

md(r"""
**Q4. Contributions.** List every member of your group and what each of them did (code, experiments,
write-up). Every member must appear here.
""")

answer("q4", 2, r"""
*There is no reference answer; the TA checks the table against these criteria.*

- **Complete:** every member of the group appears by name, and the names match the group registered for the submission. A member who did nothing must still be listed, with "no contribution" stated.
- **Specific:** each row names concrete work in at least one of code (which functions of `answer/vae.py`, for example `kld`/`vae_loss`, the VAE architecture, the training loop or `encode`), experiments (which settings were tried, for example `BETA`, `LATENT_DIM` or distortion) and write-up (which questions). Vague entries such as "helped" or "everything" are not enough.
- **Consistent:** taken together, the rows cover the code, the experiments reported in Q2 and the write-up, and no row contradicts another.

Give 2 points when all three hold, 1 when the list is complete but vague, and 0 when a member is missing or the table is empty. A single-person group writes one row that covers everything. The TA does not judge how fair the split is; that is a matter for the group.

*Full marks:* every member listed; a concrete contribution per member (code, experiments, write-up); the rows together account for the whole submission (the handout's criterion: each member's contribution is stated).
""", template=r"""
| member | contribution |
|---|---|
| | |
""")

md(r"""
## Checks of your code (autograded)

The cells below run the kit's public checks on your `answer/vae.py` (the same checks as
`python -m autograder check hw5`). When the course grades this notebook with nbgrader, each cell is worth
the points named in its first line (5 in all), and each written answer above is graded by a TA. A cell
that fails lists what to fix; fix your code and run the cell again. These checks only test that your
functions are wired up right; the autograder's hidden tests and your dev and test scores go further.
""")

checks("checks_losses", "reparametrize, kld and vae_loss", ("reparametrize_shape", "kld_zero", "loss_bce_only"))
checks("checks_model", "the VAE, train_vae and encode", ("forward_shapes", "short_training"))

md(r"""
## 10. Hand in

From the kit's folder:

```
python -m autograder check hw5      # quick sanity checks of answer/vae.py
python zipsrc.py hw5                # source.zip: your answer/ folder (vae.py, this notebook, helpers)
python zipout.py hw5                # output.zip: outputs/dev.npy and outputs/test.npy
```

Upload `source.zip` and `output.zip` **together**. `zipsrc.py` refuses a folder without `vae.py` or
`vae.ipynb`, and warns (the zip is still made) when this notebook has no outputs, when an answer still
reads `YOUR ANSWER HERE`, or when the contributions table of Q4 is still empty; `zipout.py` refuses
codes that are missing or malformed (float32 arrays, one row per sign in the data's order, at most 32
numbers each).
""")


def build():
    """The notebook, as an ``nbformat`` node with deterministic cell ids."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, source, metadata) in enumerate(CELLS):
        maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        cell = maker(source, metadata=metadata)
        cell["id"] = f"hw5-{index:02d}"
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def text() -> str:
    import nbformat

    return nbformat.writes(build(), version=4) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.homeworks.hw5.notebook",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report copies that differ; change nothing")
    args = parser.parse_args(argv)
    fresh = text()
    drift = []
    for path in TARGETS:
        current = path.read_text() if path.is_file() else None
        if current == fresh:
            continue
        drift.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh)
    for path in drift:
        print(("drifted: " if args.check else "wrote: ") + str(path.relative_to(KIT_ROOT)))
    return 1 if (args.check and drift) else 0


if __name__ == "__main__":
    sys.exit(main())
