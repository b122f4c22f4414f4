"""Homework 5's score and grade table, shared by ``check.py`` (students) and the grader.

Public: it holds no answers. The grader uses exactly these functions with the test labels, which
only it has.

The score of a set of codes. The codes (N, Z) of the glyphs of a split are clustered with
agglomerative clustering with Ward's linkage (scikit-learn) into k clusters, for k = C - 15, C - 10,
..., C + 15, where C is the number of classes among the split's gold labels (about 50). Each
clustering is compared with the gold classes by the adjusted Rand index (ARI), and the score is the
mean ARI x 100. Why this metric:

- it is chance-corrected: codes that carry no information score about 0 whatever k is (so
  random codes and a constant code cannot earn points), and a perfect clustering at k = C scores 100;
- it counts pairs of glyphs put together or apart, which is what recovering an alphabet asks: two
  signs of one letter should share a cluster, two different letters should not;
- averaging over seven values of k rewards codes whose clusters are right at every granularity
  rather than at one lucky k, and keeps the score stable;
- its range suits the grade table (see the table's CSV for measured values). The adjusted mutual
  information, measured beside it with the same protocol, ranks random codes, the default, raw
  pixels and the reference the same way but sits much higher (dev: 0.5, 7-12, 46.9 and 51-57
  against the ARI's 0.2, 3-6, 28.2 and 33-38), so the seed's table, written on the ARI's scale,
  would give raw pixels and every working VAE an A+.

The grade table. A CSV file (``grade_table_seed.csv``) of rows ``score_dev, score_test, marks,
grade``. A row is reached when both its dev and its test thresholds are met; the marks and grade
are those of the highest row reached. Requiring both keeps a model tuned to look good on dev (whose
labels students have) from earning a row the held-out test set does not confirm.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OFFSETS = (-15, -10, -5, 0, 5, 10, 15)
MAX_CODE_DIM = 32           # codes must be low-dimensional: raw pixels (4096) are not VAE codes
METRIC = "adjusted Rand index"
HERE = Path(__file__).resolve().parent
DEFAULT_TABLE = HERE / "grade_table_seed.csv"


class CodesError(ValueError):
    """Codes that cannot be scored; the message says what is wrong."""


def check_codes(codes, n: int, what: str = "codes", max_dim: int = MAX_CODE_DIM) -> np.ndarray:
    """Return ``codes`` as float64 (n, Z) after checking shape, size, dimension and finiteness."""
    array = np.asarray(codes)
    if array.dtype == object or not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise CodesError(f"{what} should be an array of numbers, not of {array.dtype}.")
    if array.ndim != 2:
        raise CodesError(f"{what} should be a 2-D array (N, Z), one row per glyph, but has shape {array.shape}.")
    if array.shape[0] != n:
        raise CodesError(f"{what} has {array.shape[0]} rows, but the split has {n} glyphs (one row per glyph, "
                         "in the data's order).")
    if not 1 <= array.shape[1] <= max_dim:
        raise CodesError(f"{what} has {array.shape[1]} dimensions; VAE codes must have between 1 and {max_dim} "
                         f"(a code is a compressed description of a glyph, not its {64 * 64} pixels).")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise CodesError(f"{what} contains NaN or infinite values (did training diverge?).")
    return array


def load_libraries() -> None:
    """Import the parts of scikit-learn the scores use (about 0.7 s), so that a grading can pay for
    it while the student's model trains rather than after."""
    import importlib

    for name in ("sklearn.cluster", "sklearn.metrics"):
        importlib.import_module(name)


def ward_clusters(codes: np.ndarray, k: int) -> np.ndarray:
    """Cluster labels (N,) of agglomerative clustering with Ward's linkage into ``k`` clusters."""
    from sklearn.cluster import AgglomerativeClustering

    k = int(min(max(k, 1), codes.shape[0]))
    return AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(np.asarray(codes, dtype=np.float64))


@dataclass(frozen=True)
class Score:
    value: float                    # mean ARI x 100 over the cluster counts
    per_k: tuple                    # ((k, ARI x 100), ...)
    classes: int                    # C, the number of gold classes in the split

    def table(self) -> str:
        return ", ".join(f"k={k}: {v:.1f}" for k, v in self.per_k)


def score(codes, gold, offsets=OFFSETS, max_dim: int = MAX_CODE_DIM) -> Score:
    """The score of ``codes`` (N, Z) against ``gold`` classes (N,): mean ARI x 100 (see above).

    ``max_dim`` is raised only to score baselines such as raw pixels; the grader keeps the default.
    """
    from sklearn.metrics import adjusted_rand_score

    gold = np.asarray(gold)
    codes = check_codes(codes, gold.shape[0], max_dim=max_dim)
    classes = int(np.unique(gold).size)
    per_k = []
    for offset in offsets:
        k = classes + offset
        per_k.append((k, 100.0 * float(adjusted_rand_score(gold, ward_clusters(codes, k)))))
    return Score(float(np.mean([v for _, v in per_k])), tuple(per_k), classes)


def ami_score(codes, gold, offsets=OFFSETS, max_dim: int = MAX_CODE_DIM) -> float:
    """The same protocol with the adjusted mutual information (reported beside the ARI, not graded)."""
    from sklearn.metrics import adjusted_mutual_info_score

    gold = np.asarray(gold)
    codes = check_codes(codes, gold.shape[0], max_dim=max_dim)
    classes = int(np.unique(gold).size)
    return float(np.mean([100.0 * adjusted_mutual_info_score(gold, ward_clusters(codes, classes + o))
                          for o in offsets]))


def agreement(codes_a, codes_b, k: int) -> float:
    """ARI x 100 between the Ward clusterings of two sets of codes of the same glyphs."""
    from sklearn.metrics import adjusted_rand_score

    return 100.0 * float(adjusted_rand_score(ward_clusters(codes_a, k), ward_clusters(codes_b, k)))


# ----------------------------------------------------------------------------- grade table
@dataclass(frozen=True)
class Row:
    dev: float
    test: float
    marks: float
    grade: str

    def thresholds(self) -> str:
        return f"dev >= {self.dev:g} and test >= {self.test:g}"


class TableError(ValueError):
    pass


def load_table(path=None) -> list[Row]:
    """The rows of a grade table CSV (lines starting with '#' are comments), lowest first."""
    path = Path(path) if path else DEFAULT_TABLE
    if not path.is_absolute() and not path.exists():
        path = HERE / path
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows = []
    for number, record in enumerate(csv.DictReader(lines), start=1):
        try:
            row = Row(float(record["score_dev"]), float(record["score_test"]), float(record["marks"]),
                      record["grade"].strip())
        except (KeyError, TypeError, ValueError) as err:
            raise TableError(f"{path.name}: row {number} is not 'score_dev,score_test,marks,grade' ({err})") from None
        if not all(math.isfinite(v) for v in (row.dev, row.test, row.marks)) or not row.grade:
            raise TableError(f"{path.name}: row {number} has a missing or non-finite value")
        rows.append(row)
    if not rows:
        raise TableError(f"{path.name} has no rows")
    rows.sort(key=lambda r: r.marks)
    for low, high in zip(rows, rows[1:]):
        if high.dev < low.dev or high.test < low.test:
            raise TableError(f"{path.name}: the row for {high.grade} asks for less than the row for {low.grade}; "
                             "thresholds must not fall as marks rise")
    return rows


def reached(rows: list[Row], dev: float, test: float) -> tuple[Row | None, Row | None]:
    """``(row reached, next row)``: the highest row whose dev and test thresholds are both met
    (``None`` below the first row), and the row above it (``None`` at the top)."""
    best = None
    for row in rows:
        if dev >= row.dev and test >= row.test:
            best = row
    index = rows.index(best) if best is not None else -1
    following = rows[index + 1] if index + 1 < len(rows) else None
    return best, following
