"""Batch grading: one results folder per student, a grade table, a summary; a hanging, crashing
or hostile submission among good ones never stops the batch; finished students are skipped on a
second run unless the submission changed or --force is given.

The batch runs only hw4's reparametrize tests (``--only``), so each grading takes seconds."""
from __future__ import annotations

import csv
import json
import re
import shutil

import pytest

from batch_support import KIT, REFERENCE, copy_submission as _copy, rows as _rows, run_batch as _run

# The batch, cluster and SLURM tests grade students of the same names, and the cluster tests find (and
# kill) grader processes by student name: one worker runs them one after the other (tests/conftest.py).
pytestmark = pytest.mark.xdist_group("processes")


def test_every_student_gets_results_feedback_and_a_row(first_batch):
    run = first_batch["first"]
    assert run.returncode == 0, run.stderr[-2000:]
    rows = _rows(first_batch["table"])
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin", "frank"}
    full = 10.0  # the two reparametrize tests
    assert float(rows["alice"]["score"]) == full and float(rows["frank"]["score"]) == full
    assert float(rows["bob"]["score"]) == 0
    for student in rows:
        folder = first_batch["out"] / student
        results = json.loads((folder / "results.json").read_text())
        assert {"score", "tests", "output"} <= set(results)
        assert (folder / "feedback.txt").read_text().startswith(f"Feedback for {student}")
    assert "notes.txt: neither a folder nor a .zip" in run.stdout


def test_hanging_and_crashing_submissions_only_fail_themselves(first_batch):
    rows = _rows(first_batch["table"])
    assert float(rows["carol"]["score"]) == 0 and float(rows["dave"]["score"]) == 0
    carol = json.loads((first_batch["out"] / "carol" / "results.json").read_text())
    dave = json.loads((first_batch["out"] / "dave" / "results.json").read_text())
    assert any("did not finish" in t["output"] or "could not be graded" in t["output"] for t in carol["tests"])
    assert any("exited with code 3" in t["output"] for t in dave["tests"])
    summary = first_batch["first"].stdout
    assert "Graded 6 submission(s)" in summary and "Bands:" in summary
    # The hanging submission's process died with its grader: no sandbox user runs on without one.
    from autograder.pipeline import accounts

    for pid, uid, _, _ in accounts._processes():
        if accounts.UID_BASE <= uid < accounts.UID_BASE + accounts.UID_COUNT:
            lock = accounts._LOCKS / str(uid)
            assert lock.exists() and not accounts._stale(lock), f"orphaned sandbox process {pid} (user {uid})"


def test_an_attack_on_the_grader_process_fails_only_that_student(first_batch):
    rows = _rows(first_batch["table"])
    # As its own user (root graders) the kill is refused; otherwise the batch records the dead grader.
    assert rows["erin"]["status"] in ("graded", "grader-error")
    assert float(rows["alice"]["score"]) == 10.0


def test_second_run_skips_finished_students_and_regrades_changed_ones(first_batch):
    bob = first_batch["subs"] / "bob"
    shutil.rmtree(bob)
    _copy(REFERENCE, bob)                      # bob resubmits a working solution
    second = _run(*first_batch["args"])
    assert second.returncode == 0, second.stderr[-2000:]
    assert "5 submission(s) already graded, skipped" in second.stdout
    rows = _rows(first_batch["table"])
    assert float(rows["bob"]["score"]) == 10.0 and len(rows) == 6
    forced = _run(*first_batch["args"], "--force")
    assert "already graded" not in forced.stdout and len(_rows(first_batch["table"])) == 6


# ----------------------------------------------------------------------------- report and feedback pages
def test_each_student_gets_a_feedback_page_and_the_batch_a_course_report(first_batch):
    assert (first_batch["out"] / "alice" / "feedback" / "feedback.html").is_file()
    report = first_batch["out"].parent / "report" / "index.html"
    page = report.read_text()
    for section in ("scores", "tests", "failures", "students", "similarity"):
        assert f'id="{section}"' in page
    links = re.findall(r'href="([^"]+feedback\.html)"', page)
    assert len(links) >= 5 and all((report.parent / link).resolve().is_file() for link in links)
    assert not re.search(r'(src|href)="(https?:)?//', page)   # nothing outside the page but its own files
    # alice and frank handed in the same reference code (a folder and a zip): similarity 1
    with open(report.parent / "similarity" / "pairs.csv") as handle:
        pairs = {(row["student_a"], row["student_b"]): float(row["similarity"]) for row in csv.DictReader(handle)}
    assert pairs[("alice", "frank")] > 0.99 and list(pairs.values()) == sorted(pairs.values(), reverse=True)


def test_report_and_feedback_in_a_real_browser(first_batch, tmp_path):
    from browser_support import open_page

    report = first_batch["out"].parent / "report" / "index.html"
    dom, console = open_page(report.as_uri(), tmp_path / "profile", screenshot=tmp_path / "report.png")
    assert console == [], console
    assert "course report" in dom and dom.count("<tr") >= 6 + 1
    assert "data:image/png;base64," in dom and (tmp_path / "report.png").stat().st_size > 20_000
    # The student table sorts in the browser: by score, highest first (#sort-1-desc).
    dom, console = open_page(report.as_uri() + "#sort-1-desc", tmp_path / "profile")
    assert console == [], console
    table = dom[dom.index('id="student-table"'):]
    table = table[:table.index("</table>")]
    scores = [float(v) for v in re.findall(r'<tr><td data-value="[^"]*">[^<]*</td><td data-value="([^"]+)"', table)]
    assert len(scores) == 6 and scores == sorted(scores, reverse=True) and scores != sorted(scores)
    feedback = first_batch["out"] / "alice" / "feedback" / "feedback.html"
    dom, console = open_page(feedback.as_uri(), tmp_path / "profile", screenshot=tmp_path / "feedback.png")
    assert console == [] and 'id="total"' in dom and "reparametrize" in dom


def test_relative_folders_are_taken_from_where_the_batch_was_started(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    _copy(REFERENCE, subs / "alice")
    run = _run("submissions", "--out-dir", "results", "--csv", "grades.csv", "--only", "one_hot", "--quiet",
               cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads((tmp_path / "results" / "alice" / "results.json").read_text())["score"] > 0
    assert (tmp_path / "grades.csv").is_file()
    assert not (KIT / "results" / "alice").exists(), "results must not land in the kit's folder"
