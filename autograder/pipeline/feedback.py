"""One student's feedback page: ``feedback.html`` and the pictures as PNG files.

The page is self-contained (styles inline, every picture embedded as a ``data:`` URI, no script,
no link outside the page), so it opens offline and can be mailed or uploaded as one file. Every
text on it - test names, feedback, captions - is HTML-escaped: a submission that puts markup in an
error message shows that markup as text.
"""
from __future__ import annotations

import html
import os
import re
from pathlib import Path

from .score import TestResult

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em} h2{font-size:1.1em;margin:0}
.total{font-size:1.3em;margin:.5em 0 1em}
.test{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.8em 1em}
.test.passed{border-left:6px solid #2e7d32} .test.partial{border-left:6px solid #f9a825}
.test.failed{border-left:6px solid #c62828}
.score{float:right;font-weight:bold}
pre{white-space:pre-wrap;background:#f7f7f7;padding:.6em;border-radius:4px;font-size:.9em}
figure{margin:.8em 0} figure img{max-width:100%;image-rendering:pixelated;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
table{border-collapse:collapse} td,th{padding:.2em .6em;border-bottom:1px solid #eee;text-align:left}
"""


def slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "picture"


def _kind(result: TestResult) -> str:
    if result.score >= result.max_score:
        return "passed"
    return "partial" if result.score > 0 else "failed"


def page(title: str, results: list[TestResult], summary: str = "") -> str:
    """The HTML of a feedback page for ``results`` (pictures embedded)."""
    total = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    rows = "".join(f'<tr><td><a href="#test-{i}">{html.escape(r.name)}</a></td>'
                   f"<td>{r.score:g} / {r.max_score:g}</td></tr>" for i, r in enumerate(results, 1))
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f'<p class="total" id="total">Score: <b>{total:g} / {possible:g}</b></p>']
    if summary:
        parts.append(f"<pre>{html.escape(summary, quote=False)}</pre>")
    parts.append(f"<table>{rows}</table>")
    for i, r in enumerate(results, 1):
        parts.append(f'<section class="test {_kind(r)}" id="test-{i}"><span class="score">{r.score:g} / '
                     f"{r.max_score:g}</span><h2>{i}. {html.escape(r.name)}</h2>"
                     f"<pre>{html.escape(r.output, quote=False)}</pre>")
        for picture in r.pictures:
            caption = html.escape(picture.caption)
            if picture.png:
                parts.append(f'<figure><img src="{picture.data_uri()}" alt="{html.escape(picture.title)}">'
                             f"<figcaption><b>{html.escape(picture.title)}</b> {caption}</figcaption></figure>")
            else:
                parts.append(f"<p><b>{html.escape(picture.title)}</b> {caption}</p>")
        parts.append("</section>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write(folder: Path, title: str, results: list[TestResult], summary: str = "") -> Path:
    """Write ``folder/feedback.html`` and every picture as ``folder/NN-test-K.png``; return the page."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for i, r in enumerate(results, 1):
        for k, picture in enumerate(r.pictures, 1):
            if picture.png:
                (folder / f"{i:02d}-{slug(r.name)}-{k}.png").write_bytes(picture.png)
    target = folder / "feedback.html"
    tmp = folder / ".feedback.html.tmp"
    tmp.write_text(page(title, results, summary), encoding="utf-8")
    os.replace(tmp, target)
    return target
