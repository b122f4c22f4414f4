"""Pictures in the feedback: what the grader saw, drawn by the grader.

A test adds a picture with :meth:`Context.picture <autograder.pipeline.score.Context.picture>`::

    ctx.picture("Your VAE's reconstructions", pictures.Rows([originals, rebuilt], ["test image", "yours"]))

Every picture is rendered here, in the grader's process, from tensors the student's sandbox
returned (or the grader's own data): never from a file the student wrote. A tensor is only ever
read as numbers - clamped to [0, 1], NaN drawn black - so a hostile submission controls at most the
grey levels of the pixels it is asked for, never the PNG, its size or the page around it.

Three kinds of figure cover the homeworks:

- :class:`Grid` - images in rows of ``columns``, each with an optional label and an optional red
  frame (a sample the grader marked, for example misread by the classifier);
- :class:`Rows` - a few rows of the same length side by side, each row named (originals above
  reconstructions);
- :class:`Curves` - per-epoch numbers as lines (losses the student reported next to the grader's).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

CELL = 56            # pixels per image side in a grid (28 x 28 images drawn twice as large)
LABEL_HEIGHT = 14    # pixels under an image for its label
ROW_NAME_WIDTH = 110  # pixels left of a row for its name
MAX_IMAGES = 400     # images drawn in one picture at most; more are cut (and the caption says so)
MARK = (220, 30, 30)


def _pixels(images, limit: int = MAX_IMAGES):
    """``images`` (N, H, W), (N, 1, H, W) or (N, 3, H, W), any numeric dtype, as uint8 numpy
    arrays (N, H, W, 3); values outside [0, 1] are clamped and NaN becomes 0 (uint8 input is read
    as 0-255)."""
    import numpy as np
    import torch

    x = torch.as_tensor(images).detach().cpu()
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    x = x.float()
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"images of shape {tuple(x.shape)} cannot be drawn")
    if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):  # channels last
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images with {x.shape[1]} channels cannot be drawn")
    x = x[:limit]
    if x.shape[-1] * x.shape[-2] > 256 * 256:
        raise ValueError(f"images of {x.shape[-2]} x {x.shape[-1]} pixels are too large to draw")
    x = torch.nan_to_num(x, nan=0.0, posinf=1.0, neginf=0.0).clamp(0, 1)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return (x.permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


@dataclass
class Grid:
    """Images laid out ``columns`` to a row; ``labels`` (one short string per image) are written
    under them, ``marked`` (one bool per image) draws a red frame, ``row_names`` name the rows."""

    images: object
    columns: int = 10
    labels: list | None = None
    marked: list | None = None
    row_names: list | None = None

    def render(self) -> bytes:
        from PIL import Image, ImageDraw

        cells = _pixels(self.images)
        count = len(cells)
        if count == 0:
            raise ValueError("no images to draw")
        columns = max(1, min(int(self.columns), count))
        rows = math.ceil(count / columns)
        labels = [str(s)[:12] for s in self.labels] if self.labels is not None else None
        marked = [bool(m) for m in self.marked] if self.marked is not None else None
        names = [str(s)[:18] for s in self.row_names] if self.row_names else None
        cell_w = max(CELL, 2 * cells.shape[2]) if cells.shape[2] < CELL else cells.shape[2]
        cell_h = max(CELL, 2 * cells.shape[1]) if cells.shape[1] < CELL else cells.shape[1]
        pad, label_h = 4, LABEL_HEIGHT if labels else 0
        left = ROW_NAME_WIDTH if names else 0
        width = left + columns * (cell_w + pad) + pad
        height = rows * (cell_h + label_h + pad) + pad
        canvas = Image.new("RGB", (width, height), (255, 255, 255))
        draw, font = ImageDraw.Draw(canvas), _font()
        for i in range(count):
            r, c = divmod(i, columns)
            x, y = left + pad + c * (cell_w + pad), pad + r * (cell_h + label_h + pad)
            tile = Image.fromarray(cells[i]).resize((cell_w, cell_h), Image.NEAREST)
            canvas.paste(tile, (x, y))
            if marked is not None and i < len(marked) and marked[i]:
                draw.rectangle([x - 2, y - 2, x + cell_w + 1, y + cell_h + 1], outline=MARK, width=3)
            if labels is not None and i < len(labels):
                colour = MARK if marked is not None and i < len(marked) and marked[i] else (40, 40, 40)
                draw.text((x + 2, y + cell_h + 1), labels[i], fill=colour, font=font)
        if names:
            for r, name in enumerate(names[:rows]):
                draw.text((4, pad + r * (cell_h + label_h + pad) + cell_h // 2 - 6), name, fill=(40, 40, 40),
                          font=font)
        return _png(canvas)


def Rows(rows, names=None, labels=None, marked=None) -> Grid:
    """Rows of equal length, one above the other (for example test images above their
    reconstructions), each named by ``names``."""
    import torch

    rows = [torch.as_tensor(r).detach().cpu() for r in rows]
    width = min(int(r.shape[0]) for r in rows)
    stacked = torch.cat([_as_nchw(r[:width]) for r in rows])
    return Grid(stacked, columns=width, row_names=names, labels=labels, marked=marked)


def _as_nchw(x):
    """(N, H, W) or (N, C, H, W) as float (N, C, H, W); uint8 read as 0-255, so rows of uint8 data
    images and float reconstructions can be stacked."""
    import torch

    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    return x.unsqueeze(1) if x.dim() == 3 else x


@dataclass
class Curves:
    """Lines of per-epoch numbers, one per name (NaN and infinite values are left out); ``points``
    adds single marked values, ``{name: (epoch, value)}``."""

    series: dict
    xlabel: str = "epoch"
    ylabel: str = "loss per image"
    points: dict = field(default_factory=dict)

    def render(self) -> bytes:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(5.0, 3.0), dpi=90)
        drawn = 0
        for name, values in list(self.series.items())[:6]:
            values = [float(v) for v in list(values)[:1000]]
            xs = [i + 1 for i, v in enumerate(values) if math.isfinite(v)]
            ys = [v for v in values if math.isfinite(v)]
            if ys:
                axes.plot(xs, ys, marker="o", markersize=3, label=str(name)[:40])
                drawn += 1
        for name, (x, y) in list(self.points.items())[:6]:
            if math.isfinite(float(y)):
                axes.plot([float(x)], [float(y)], marker="*", markersize=12, linestyle="none", label=str(name)[:40])
                drawn += 1
        if not drawn:
            plt.close(figure)
            raise ValueError("no finite values to draw")
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))   # epochs are whole numbers
        axes.set_xlabel(self.xlabel)
        axes.set_ylabel(self.ylabel)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        return buffer.getvalue()


_WARM: list = []


def warm_up() -> None:
    """Load the plotting library and its fonts by drawing one small curve, once per process (about
    0.4 s): a grading calls this while it waits for a student's training anyway, so that the first
    training test does not pay for it after the training. Only the main thread draws (pyplot keeps
    state); elsewhere this does nothing. Never fails."""
    import threading

    if not _WARM and threading.current_thread() is threading.main_thread():
        _WARM.append(True)
        try:
            Curves({"warm-up": [1.0, 0.5]}).render()
        except Exception:  # noqa: BLE001 - the test that draws will report it
            pass


@dataclass
class Picture:
    """A rendered picture attached to one test's result."""

    title: str
    png: bytes = b""
    caption: str = ""

    def data_uri(self) -> str:
        import base64

        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def render(title: str, figure, caption: str = "") -> Picture:
    """Draw ``figure`` (a :class:`Grid`, :class:`Curves`, or a function returning one) now. A
    figure that cannot be drawn becomes a picture without an image whose caption says why; it
    never fails the test."""
    try:
        if callable(figure) and not hasattr(figure, "render"):
            figure = figure()
        return Picture(title, figure.render(), caption)
    except Exception as err:  # a picture is a courtesy: never let it change a score
        reason = getattr(err, "feedback", None) or str(err) or type(err).__name__
        return Picture(title, b"", (caption + " " if caption else "") + f"(The grader could not draw this "
                                                                         f"picture: {reason[:300]})")


def nearest(images, reference, chunk: int = 5000):
    """Index into ``reference`` (M, ...) of the nearest image (Euclidean, pixels in [0, 1]; uint8
    read as 0-255) for each of ``images`` (N, ...); shape (N,). For showing a sample next to the
    training image it is closest to."""
    import torch

    def flat(x):
        x = torch.as_tensor(x)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        return x.reshape(x.shape[0], -1)

    a = flat(images)
    best = torch.full((a.shape[0],), float("inf"))
    index = torch.zeros(a.shape[0], dtype=torch.long)
    for start in range(0, reference.shape[0], chunk):
        distances = torch.cdist(a, flat(reference[start:start + chunk]))
        value, where = distances.min(dim=1)
        better = value < best
        best[better], index[better] = value[better], where[better] + start
    return index


def clusters(images, assignment, gold, count: int = 6, per_cluster: int = 12) -> Grid:
    """A few clusters, one per row: up to ``per_cluster`` of the images ``assignment`` put in each
    of the ``count`` largest clusters, each labelled with its gold label; images whose gold label is
    not the cluster's most common one are framed red. ``assignment`` and ``gold`` are (N,)."""
    from collections import Counter

    import numpy as np
    import torch

    assignment, gold = np.asarray(assignment).reshape(-1), np.asarray(gold).reshape(-1)
    largest = [c for c, _ in Counter(assignment.tolist()).most_common(count)]
    chosen, labels, marked, names = [], [], [], []
    for cluster in largest:
        members = np.flatnonzero(assignment == cluster)[:per_cluster]
        common = Counter(gold[assignment == cluster].tolist()).most_common(1)[0][0]
        names.append(f"mostly {str(common)[:8]}")
        for slot in range(per_cluster):
            if slot < len(members):
                chosen.append(int(members[slot]))
                labels.append(str(gold[members[slot]]))
                marked.append(gold[members[slot]] != common)
            else:  # a short cluster: pad its row with blanks
                chosen.append(-1)
                labels.append("")
                marked.append(False)
    x = torch.as_tensor(images)
    blank = torch.zeros_like(x[:1])
    picked = torch.cat([x[i:i + 1] if i >= 0 else blank for i in chosen])
    return Grid(picked, per_cluster, labels=labels, marked=marked, row_names=names)
