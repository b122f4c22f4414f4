"""``python -m autograder similar HW SUBMISSIONS_DIR --out report/similarity``

Pairwise similarity of the students' own code, for course staff checking for copied work.

- Each entry of SUBMISSIONS_DIR (a zip or folder per student, as for ``batch``) is unpacked the way
  the grader unpacks it; the homework's source files (``spec.source_files``) are joined into one
  document per student.
- The comparison is copydetect's (winnowed fingerprints of the token stream; variable, function
  and attribute names are replaced by placeholders before fingerprinting, so renaming identifiers
  changes nothing, and fingerprints are compared as sets, so reordering functions changes
  nothing). Every fingerprint that also occurs in the homework's stencil is excluded: code the
  whole class received never counts.
- ``similarity`` of a pair is the larger of the two shares of own code found in the other
  submission (0 = nothing shared, 1 = one is contained in the other). A submission with fewer than
  :data:`MIN_OWN_FINGERPRINTS` fingerprints of its own (the untouched stencil) is similar to no one.

Writes OUT/pairs.csv (``student_a,student_b,similarity``, most similar first), OUT/index.html
(the ranked pairs) and OUT/pairs/A--B.html (the two submissions side by side, matching regions
marked) for the :data:`TOP_PAIRS` most similar pairs. A high score is a reason to look, not a
verdict: the pair view shows what matched.
"""
from __future__ import annotations

import csv
import html
import io
import itertools
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

K = 25                     # characters of filtered code per fingerprinted k-gram (copydetect's noise threshold)
WINDOW = 6                 # winnowing window: matches of K + WINDOW - 1 = 30 characters are always found
# Calibrated on tests/test_similar.py's made-up hw4 class: a copy scores 1.0, a copy with renamed
# identifiers and reordered functions 0.94, two independently written correct solutions 0.15-0.18,
# the untouched stencil 0 (nothing of its own).
FLAG = 0.6                 # pairs at or above this are marked for a TA to look at
MIN_OWN_FINGERPRINTS = 5   # fewer fingerprints of one's own (beyond the stencil): nothing to compare
TOP_PAIRS = 30             # pairs that get a side-by-side page


@dataclass
class Pair:
    a: str
    b: str
    similarity: float
    slices_a: object = None
    slices_b: object = None


def _student_code(spec, path: Path) -> str:
    """The student's source files of ``path`` (zip or folder) joined into one Python document."""
    from .submission import opened

    parts = []
    with opened(spec, path) as (folder, _missing):
        for name in spec.source_files:
            file = folder / name
            if file.is_file():
                text = file.read_text(encoding="utf-8", errors="replace")[:500_000]
                parts.append(f"# ===== {name} =====\n{text}")
    return "\n".join(parts)


def _stencil_code(spec) -> str:
    parts = []
    for name in spec.source_files:
        file = spec.student_folder / name
        if file.is_file():
            parts.append(f"# ===== {name} =====\n{file.read_text(encoding='utf-8')}")
    return "\n".join(parts)


def compare(documents: dict[str, str], stencil: str) -> list[Pair]:
    """Every pair of ``documents`` (student -> code) with its similarity, most similar first."""
    import copydetect
    import copydetect.utils
    import numpy as np

    work = Path(tempfile.mkdtemp(prefix="aekit-similar-"))
    try:
        # Every k-gram of the stencil (not only its winnowed ones) is boilerplate.
        filtered, _ = copydetect.utils.filter_code(stencil, "stencil.py")
        boilerplate = np.unique(copydetect.utils.hashed_kgrams(filtered, k=K))
        prints = {}
        for i, (student, code) in enumerate(sorted(documents.items())):
            file = work / f"s{i}.py"
            file.write_text(code)
            prints[student] = copydetect.CodeFingerprint(str(file), K, WINDOW, boilerplate=boilerplate)
        pairs = []
        for a, b in itertools.combinations(sorted(prints), 2):
            fa, fb = prints[a], prints[b]
            if min(len(fa.hashes), len(fb.hashes)) < MIN_OWN_FINGERPRINTS:
                pairs.append(Pair(a, b, 0.0))
                continue
            _overlap, (sim_a, sim_b), (slices_a, slices_b) = copydetect.compare_files(fa, fb)
            pairs.append(Pair(a, b, round(float(max(sim_a, sim_b)), 4), slices_a, slices_b))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pairs.sort(key=lambda p: (-p.similarity, p.a, p.b))
    return pairs


def _marked(code: str, slices) -> str:
    import copydetect.utils

    if slices is None or len(slices) == 0 or len(slices[0]) == 0:
        return html.escape(code)
    marked, _ = copydetect.utils.highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return marked


STYLE = """body{font-family:system-ui,Helvetica,Arial,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse} td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
.flag{color:#b71c1c;font-weight:bold} .side{display:flex;gap:1em} .side>div{flex:1;min-width:0}
pre{white-space:pre-wrap;font-size:.8em;background:#fafafa;border:1px solid #ddd;padding:.5em}
mark{background:#ffcc80}"""


def pair_file(pair: Pair) -> str:
    return f"pairs/{pair.a}--{pair.b}.html"


def write(out: Path, homework: str, documents: dict[str, str], pairs: list[Pair]) -> Path:
    """pairs.csv, index.html and one side-by-side page per top pair under ``out``."""
    out = Path(out)
    (out / "pairs").mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student_a", "student_b", "similarity"])
    writer.writerows([p.a, p.b, f"{p.similarity:.4f}"] for p in pairs)
    (out / "pairs.csv").write_text(buffer.getvalue())
    rows = []
    for rank, pair in enumerate(pairs[:TOP_PAIRS], 1):
        flag = ' class="flag"' if pair.similarity >= FLAG else ""
        rows.append(f"<tr><td>{rank}</td><td>{html.escape(pair.a)}</td><td>{html.escape(pair.b)}</td>"
                    f"<td{flag}>{pair.similarity:.2f}</td><td><a href=\"{html.escape(pair_file(pair))}\">side by side"
                    f"</a></td></tr>")
        (out / pair_file(pair)).write_text(
            f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(pair.a)} and "
            f"{html.escape(pair.b)}</title><style>{STYLE}</style></head><body><h1>{html.escape(homework)}: "
            f"{html.escape(pair.a)} and {html.escape(pair.b)} (similarity {pair.similarity:.2f})</h1>"
            f"<p>Marked: code found in both submissions (names may differ; stencil code is never marked).</p>"
            f"<div class=\"side\"><div><h2>{html.escape(pair.a)}</h2><pre>{_marked(documents[pair.a], pair.slices_a)}"
            f"</pre></div><div><h2>{html.escape(pair.b)}</h2><pre>{_marked(documents[pair.b], pair.slices_b)}</pre>"
            f"</div></div></body></html>")
    index = out / "index.html"
    index.write_text(
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(homework)}: similar "
        f"submissions</title><style>{STYLE}</style></head><body><h1>{html.escape(homework)}: similar submissions</h1>"
        f"<p>{len(documents)} submissions, {len(pairs)} pairs; pairs at or above {FLAG:g} are marked. Stencil code "
        f"is excluded; renamed identifiers and reordered functions still match. All pairs: pairs.csv.</p>"
        f"<table><tr><th>#</th><th>student</th><th>student</th><th>similarity</th><th></th></tr>{''.join(rows)}"
        f"</table></body></html>")
    return index


def similar(homework: str, submissions: Path, out: Path) -> tuple[list[Pair], list[str]]:
    """Compare every submission of ``submissions``; write the report under ``out``; return the
    pairs and the entries that could not be read (with why)."""
    from .batch import entries
    from .homeworks import load_spec
    from .pipeline.unpack import SubmissionError

    spec = load_spec(homework)
    found, skipped = entries(Path(submissions))
    documents = {}
    for entry in found:
        try:
            documents[entry.student] = _student_code(spec, entry.path)
        except (SubmissionError, OSError) as err:
            skipped.append(f"{entry.student}: {err}")
    pairs = compare(documents, _stencil_code(spec))
    write(out, homework, documents, pairs)
    return pairs, skipped


def main(args) -> int:
    if not Path(args.submissions).is_dir():
        print(f"error: {args.submissions} is not a folder of submissions", file=sys.stderr)
        return 2
    pairs, skipped = similar(args.homework, Path(args.submissions), Path(args.out))
    for line in skipped:
        print(f"skipped {line}")
    flagged = [p for p in pairs if p.similarity >= FLAG]
    for pair in pairs[:10]:
        print(f"  {pair.similarity:.2f}  {pair.a}  {pair.b}{'  <- look at this pair' if pair.similarity >= FLAG else ''}")
    print(f"{len(pairs)} pairs, {len(flagged)} at or above {FLAG:g}. Wrote {Path(args.out) / 'index.html'} and "
          f"{Path(args.out) / 'pairs.csv'}.")
    return 0
