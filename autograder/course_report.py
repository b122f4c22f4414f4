"""The course report a batch ends with: ``report/index.html`` beside the results folder.

One self-contained page for the course staff (styles, charts and the small table-sorting script
inline; it opens offline): the score histogram, per-test pass rates ordered by the points the
class lost on each test, time and memory per grading, the kinds of failure, a sortable table of
students linking to each student's ``feedback.html``, and the most similar pairs of submissions
(``python -m autograder similar``, written to ``report/similarity``).

It reads only what the batch wrote (``results.json`` and ``meta.json`` per student), so it can be
rebuilt at any time; a student whose files cannot be read is listed, never fatal.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import statistics
from pathlib import Path

KINDS = {"timeout": "hit a time limit", "memory": "hit the memory limit", "crash": "crashed",
         "error": "raised an error", "garbled": "sent unreadable answers", "grader": "met a grader error"}

STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1150px;
padding:0 1em;color:#222} h1{font-size:1.5em} h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}
th.sort{cursor:pointer;user-select:none} th.sort:after{content:" \\2195";color:#999}
.num{text-align:right} .bad{color:#b71c1c;font-weight:bold} .bar{background:#90caf9;height:.8em;display:inline-block}
.charts{display:flex;flex-wrap:wrap;gap:1em} .charts img{max-width:100%;border:1px solid #eee}"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th.sort").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("data-order") !== "asc";
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-value"), y = b.cells[column].getAttribute("data-value");
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      table.querySelectorAll("th.sort").forEach(function (other) { other.removeAttribute("data-order"); });
      th.setAttribute("data-order", ascending ? "asc" : "desc");
    });
  });
});
// A link ending in #sort-N (or #sort-N-desc) opens the student table sorted by its column N.
(function () {
  var wanted = /^#sort-(\d+)(-desc)?$/.exec(window.location.hash);
  var headers = document.querySelectorAll("#student-table th.sort");
  if (wanted && headers[+wanted[1]]) {
    headers[+wanted[1]].click();
    if (wanted[2]) { headers[+wanted[1]].click(); }
  }
})();
"""


def _chart(draw) -> str:
    """A matplotlib chart drawn by ``draw(figure)`` as an <img> with a data URI."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(5.2, 3.0), dpi=90)
    try:
        draw(figure)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _histogram(values, title: str, xlabel: str, bins=10, value_range=None) -> str:
    def draw(figure):
        axes = figure.add_subplot()
        axes.hist(values, bins=bins, range=value_range, color="#1976d2", edgecolor="white")
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.set_ylabel("submissions")
    return _chart(draw)


def _load(out_dir: Path, student: str) -> tuple[dict, dict]:
    folder = out_dir / student
    try:
        results = json.loads((folder / "results.json").read_text())
    except (OSError, ValueError):
        results = {}
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        meta = {}
    return results, meta


def _cell(value, text=None, css="") -> str:
    shown = html.escape(str(value if text is None else text))
    klass = f' class="{css}"' if css else ""
    return f'<td{klass} data-value="{html.escape(str(value))}">{shown}</td>'


def build(homework: str, out_dir: Path, rows: list[dict], skipped: list[str], report_dir: Path,
          similarity_html: str = "") -> str:
    """The report's HTML for the batch's ``rows`` (as ``batch.row`` makes them)."""
    out_dir, report_dir = Path(out_dir), Path(report_dir)
    loaded = {r["student"]: _load(out_dir, r["student"]) for r in rows}
    possible = max([float(r.get("max_score") or 0) for r in rows] + [1.0])
    scores = [float(r["score"]) for r in rows]
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(homework)}: course "
             f"report</title><style>{STYLE}</style></head><body><h1>{html.escape(homework)}: course report</h1>"]
    if scores:
        parts.append(f"<p id=\"overview\">{len(rows)} submissions graded; score mean {statistics.mean(scores):.1f}, "
                     f"median {statistics.median(scores):.1f}, lowest {min(scores):g}, highest {max(scores):g} "
                     f"(of {possible:g}).</p>")
    else:
        parts.append("<p id=\"overview\">No submission was graded.</p>")

    # Scores.
    parts.append("<h2 id=\"scores\">Scores</h2><div class=\"charts\">")
    if scores:
        parts.append(_histogram([100.0 * s / possible for s in scores], "Score distribution", "score (% of the points)",
                                bins=10, value_range=(0, 100)))
    seconds = [float(r["seconds"]) for r in rows if isinstance(r.get("seconds"), (int, float))]
    memory = [float(m.get("peak_memory_mb")) for _, m in loaded.values() if isinstance(m.get("peak_memory_mb"), (int, float))]
    if seconds:
        parts.append(_histogram([s / 60 for s in seconds], "Time per grading", "minutes", bins=12))
    if memory:
        parts.append(_histogram([m / 1024 for m in memory], "Peak memory per grading", "GB", bins=12))
    parts.append("</div>")
    if seconds or memory:
        def stats(values, unit, scale=1.0):
            if not values:
                return "<td>-</td><td>-</td><td>-</td>"
            return "".join(f"<td class=\"num\">{v * scale:.1f} {unit}</td>"
                           for v in (min(values), statistics.median(values), max(values)))
        parts.append("<table id=\"resources\"><tr><th></th><th>lowest</th><th>median</th><th>highest</th></tr>"
                     f"<tr><td>time per grading</td>{stats(seconds, 'min', 1 / 60)}</tr>"
                     f"<tr><td>peak memory per grading</td>{stats(memory, 'MB')}</tr></table>")

    # Tests.
    per_test: dict = {}
    for student, (results, _) in loaded.items():
        for test in results.get("tests", []):
            entry = per_test.setdefault(test.get("name", "?"), {"max": float(test.get("max_score") or 0),
                                                                 "passed": 0, "count": 0, "lost": 0.0})
            entry["count"] += 1
            entry["passed"] += test.get("status") == "passed"
            entry["lost"] += max(float(test.get("max_score") or 0) - float(test.get("score") or 0), 0.0)
    parts.append("<h2 id=\"tests\">Tests, by the points the class lost on them</h2><table id=\"test-table\">"
                 "<tr><th>test</th><th>points</th><th>passed</th><th>pass rate</th><th>points lost in all</th></tr>")
    for name, entry in sorted(per_test.items(), key=lambda item: -item[1]["lost"]):
        rate = entry["passed"] / max(entry["count"], 1)
        parts.append(f"<tr><td>{html.escape(name)}</td><td class=\"num\">{entry['max']:g}</td>"
                     f"<td class=\"num\">{entry['passed']} / {entry['count']}</td>"
                     f"<td><span class=\"bar\" style=\"width:{100 * rate:.0f}px\"></span> {rate:.0%}</td>"
                     f"<td class=\"num\">{entry['lost']:g}</td></tr>")
    parts.append("</table>")

    # Failures.
    kinds: dict = {}
    for student, (_, meta) in loaded.items():
        for kind, count in (meta.get("failures") or {}).items():
            kinds.setdefault(kind, []).append(student)
    statuses: dict = {}
    for r in rows:
        if r.get("status", "graded") != "graded":
            statuses.setdefault(r["status"], []).append(r["student"])
    parts.append("<h2 id=\"failures\">Failures</h2><table id=\"failure-table\"><tr><th>what happened</th>"
                 "<th>submissions</th><th>students</th></tr>")
    for kind, students in sorted(kinds.items()):
        parts.append(f"<tr><td>student code that {html.escape(KINDS.get(kind, kind))} in at least one test</td>"
                     f"<td class=\"num\">{len(students)}</td><td>{html.escape(', '.join(students[:20]))}"
                     f"{' ...' if len(students) > 20 else ''}</td></tr>")
    for status, students in sorted(statuses.items()):
        text = {"grader-timeout": "the whole grading was stopped at the batch's time limit",
                "grader-error": "the grader itself failed (see grader.log)"}.get(status, status)
        parts.append(f"<tr><td class=\"bad\">{html.escape(text)}</td><td class=\"num\">{len(students)}</td>"
                     f"<td>{html.escape(', '.join(students))}</td></tr>")
    if not kinds and not statuses:
        parts.append("<tr><td>no student code failed in a way the grader records</td><td>0</td><td></td></tr>")
    parts.append("</table>")

    # Students.
    parts.append("<h2 id=\"students\">Students</h2><p>Click a column to sort.</p><table class=\"sortable\" "
                 "id=\"student-table\"><thead><tr><th class=\"sort\">student</th><th class=\"sort\">score</th>"
                 "<th class=\"sort\">failed tests</th><th class=\"sort\">status</th><th class=\"sort\">minutes</th>"
                 "<th class=\"sort\">peak MB</th><th>feedback</th></tr></thead><tbody>")
    for r in sorted(rows, key=lambda r: r["student"]):
        _, meta = loaded[r["student"]]
        page = out_dir / r["student"] / "feedback" / "feedback.html"
        link = (f'<a href="{html.escape(Path(os.path.relpath(page, report_dir)).as_posix())}">feedback</a>'
                if page.is_file() else "")
        minutes = float(r["seconds"]) / 60 if isinstance(r.get("seconds"), (int, float)) else ""
        peak = meta.get("peak_memory_mb", "")
        parts.append("<tr>" + _cell(r["student"]) + _cell(r["score"], f"{float(r['score']):g} / {float(r['max_score']):g}")
                     + _cell(r.get("failed_tests", "")) + _cell(r.get("status", ""), css="" if r.get("status") == "graded"
                                                                else "bad")
                     + _cell(minutes if minutes == "" else round(minutes, 1)) + _cell(peak) + f"<td>{link}</td></tr>")
    parts.append("</tbody></table>")

    parts.append("<h2 id=\"similarity\">Similar submissions</h2>" + (similarity_html or "<p>Not computed.</p>"))
    if skipped:
        parts.append("<h2 id=\"skipped\">Entries not graded</h2><ul>"
                     + "".join(f"<li>{html.escape(s)}</li>" for s in skipped) + "</ul>")
    parts.append(f"<script>{SORT_SCRIPT}</script></body></html>")
    return "\n".join(parts)


def _similarity_section(homework: str, submissions: Path, report_dir: Path) -> str:
    from . import similar

    try:
        pairs, _ = similar.similar(homework, Path(submissions), report_dir / "similarity")
    except Exception as err:  # the report must be written whatever the comparison meets
        return f"<p>The similarity of submissions could not be computed: {html.escape(str(err))}</p>"
    lines = [f"<p>Own code only (stencil excluded); pairs at or above {similar.FLAG:g} are marked. All "
             f"{len(pairs)} pairs: <a href=\"similarity/pairs.csv\">pairs.csv</a>, "
             f"<a href=\"similarity/index.html\">ranked list</a>.</p><table id=\"similar-table\"><tr><th>students"
             f"</th><th>similarity</th><th></th></tr>"]
    for pair in pairs[:10]:
        flag = ' class="bad"' if pair.similarity >= similar.FLAG else ""
        lines.append(f"<tr><td>{html.escape(pair.a)} and {html.escape(pair.b)}</td><td{flag}>{pair.similarity:.2f}"
                     f"</td><td><a href=\"similarity/{html.escape(similar.pair_file(pair))}\">side by side</a></td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def write_report(homework: str, submissions: Path, out_dir: Path, rows: list[dict], skipped: list[str],
                 report_dir: Path | None = None) -> Path:
    """Write ``report/index.html`` (beside ``out_dir`` unless ``report_dir`` is given) and the
    similarity pages under ``report/similarity``; return the page's path."""
    report_dir = Path(report_dir) if report_dir is not None else Path(out_dir).resolve().parent / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    similarity = _similarity_section(homework, Path(submissions), report_dir)
    page = build(homework, Path(out_dir).resolve(), rows, list(skipped), report_dir.resolve(), similarity)
    target = report_dir / "index.html"
    tmp = report_dir / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target
