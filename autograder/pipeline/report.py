"""Scores become Gradescope's ``results.json`` and a summary people can read in a terminal.

Gradescope's format: a top-level ``score``, ``execution_time`` (seconds) and ``output``, and a
``tests`` list whose entries have ``name``, ``number``, ``score``, ``max_score``, ``status``
("passed" or "failed"), ``output``, ``output_format``, ``tags``, ``visibility`` and
``extra_data``.

A test with pictures gets ``output_format: "html"``: its feedback as escaped text in a ``<pre>``,
then each picture as an ``<img>`` with a ``data:`` URI (the way Gradescope-ready autograder
libraries embed figures), and a sentence saying where the full-size pictures are, in case a
page does not show them. Every other test stays plain text. ``extra_data.text`` keeps the plain
feedback of every test so that tools (the batch verb, the summary) never parse HTML.

``results.json`` stays below :data:`SIZE_LIMIT` bytes whatever a submission does: feedback text is
cut at :data:`TEXT_LIMIT` characters, pictures share :data:`PICTURE_BUDGET` bytes (in test
order; the rest are left to feedback.html), and a final check drops pictures, then text, until the
file fits.
"""
from __future__ import annotations

import html
import json
import os
import tempfile
from pathlib import Path

from .score import TestResult

SIZE_LIMIT = 1_000_000      # Gradescope's results.json must stay well below this many bytes ...
PICTURE_BUDGET = 450_000    # ... of which the pictures (base64) may take this much ...
TEXT_LIMIT = 8_000          # ... and one test's feedback at most this many characters.
WHERE_PICTURES = ("The pictures the grader drew are also on your feedback page (feedback.html), "
                  "which your course staff have with your grade.")


def _cut(text: str, limit: int) -> str:
    text = str(text)
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit:,} more characters cut]"


def _html_output(text: str, pictures: list, budget: list) -> str:
    parts = [f"<pre>{html.escape(text, quote=False)}</pre>"]
    left_out = 0
    for picture in pictures:
        if not picture.png:
            parts.append(f"<p>{html.escape(picture.title)}: {html.escape(picture.caption)}</p>")
            continue
        uri = picture.data_uri()
        if len(uri) > budget[0]:
            left_out += 1
            continue
        budget[0] -= len(uri)
        caption = html.escape(picture.title + (f" - {picture.caption}" if picture.caption else ""))
        parts.append(f'<figure><img src="{uri}" alt="{html.escape(picture.title)}" style="max-width:100%">'
                     f"<figcaption>{caption}</figcaption></figure>")
    note = WHERE_PICTURES if not left_out else (f"{left_out} more picture(s) did not fit here. " + WHERE_PICTURES)
    parts.append(f"<p><em>{html.escape(note)}</em></p>")
    return "\n".join(parts)


def _tests(results: list[TestResult], text_limit: int, picture_budget: int) -> list[dict]:
    budget = [picture_budget]
    tests = []
    for number, r in enumerate(results, start=1):
        text = _cut(r.output, text_limit)
        entry = {"name": r.name, "number": str(number), "score": r.score, "max_score": r.max_score,
                 "status": r.status, "output": text, "output_format": "text", "visibility": r.visibility,
                 "tags": [r.failure] if r.failure else [],
                 "extra_data": {"text": text, "seconds": r.seconds, "failure": r.failure,
                                "pictures": [p.title for p in r.pictures]}}
        if r.pictures:
            entry["output"] = _html_output(text, r.pictures, budget)
            entry["output_format"] = "html"
        tests.append(entry)
    return tests


def results_json(results: list[TestResult], execution_time: float, output: str = "") -> dict:
    total = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    head = f"Score: {total:g} / {possible:g}."
    data = {
        "score": round(total, 2),
        "execution_time": round(execution_time, 1),
        "output": _cut(f"{head}\n{output}".strip(), TEXT_LIMIT),
        "output_format": "text",   # Gradescope's default here (simple_format) would render HTML
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
    }
    for text_limit, budget in ((TEXT_LIMIT, PICTURE_BUDGET), (TEXT_LIMIT, 0), (1_000, 0), (200, 0)):
        data["tests"] = _tests(results, text_limit, budget)
        if len(json.dumps(data, indent=2)) < SIZE_LIMIT - 10_000:
            break
    return data


def failed_everywhere(tests, message: str) -> list[TestResult]:
    """Every test at zero with the same ``message`` (the submission could not be graded)."""
    return [TestResult(t.name, 0.0, float(t.points), message, t.visibility) for t in tests]


def results_from_json(data: dict) -> list[TestResult]:
    """The test results of a results.json dict, to print them with :func:`summary`."""
    return [TestResult(t["name"], t["score"], t["max_score"], (t.get("extra_data") or {}).get("text", t["output"]),
                       t.get("visibility", "visible"), failure=(t.get("extra_data") or {}).get("failure", ""))
            for t in data.get("tests", [])]


def write_json(data: dict, path: Path) -> None:
    """Write ``data`` atomically, so a crash never leaves half a results file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    with os.fdopen(handle, "w") as out:
        json.dump(data, out, indent=2)
        out.write("\n")
    os.replace(tmp, path)


def summary(results: list[TestResult], width: int = 64) -> str:
    """A plain-text table of the tests, then the feedback of every test not at full marks."""
    lines = []
    for r in results:
        mark = "PASS" if r.status == "passed" else ("PART" if r.score > 0 else "FAIL")
        lines.append(f"  {mark}  {r.score:>5g}/{r.max_score:<4g} {r.name[:width]}")
    total = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    lines.append(f"  Total {total:g} / {possible:g}")
    for r in results:
        if r.status != "passed":
            body = "\n".join("      " + line for line in r.output.splitlines())
            lines.append(f"\n  {r.name}:\n{body}")
    return "\n".join(lines)
