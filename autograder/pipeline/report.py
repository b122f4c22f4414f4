"""Scores become Gradescope's ``results.json`` and a summary people can read in a terminal.

Gradescope's format: a top-level ``score``, ``execution_time`` (seconds) and ``output``, and a
``tests`` list whose entries have ``name``, ``score``, ``max_score``, ``status`` ("passed" or
"failed"), ``output`` and ``visibility``.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .score import TestResult


def results_json(results: list[TestResult], execution_time: float, output: str = "") -> dict:
    total = sum(r.score for r in results)
    possible = sum(r.max_score for r in results)
    head = f"Score: {total:g} / {possible:g}."
    return {
        "score": round(total, 2),
        "execution_time": round(execution_time, 1),
        "output": f"{head}\n{output}".strip(),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {"name": r.name, "score": r.score, "max_score": r.max_score, "status": r.status,
             "output": r.output, "visibility": r.visibility}
            for r in results
        ],
    }


def failed_everywhere(tests, message: str) -> list[TestResult]:
    """Every test at zero with the same ``message`` (the submission could not be graded)."""
    return [TestResult(t.name, 0.0, float(t.points), message, t.visibility) for t in tests]


def results_from_json(data: dict) -> list[TestResult]:
    """The test results of a results.json dict, to print them with :func:`summary`."""
    return [TestResult(t["name"], t["score"], t["max_score"], t["output"], t.get("visibility", "visible"))
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
