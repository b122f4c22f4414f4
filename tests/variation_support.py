"""The fairness checks of the variation suites (tests/test_variations_hwN.py).

A variation is the reference solution changed by text edits ``(file, old, new)`` (grading_support.build):
either a correct submission written differently (it must keep full marks on every test except the
one whose name states the convention it breaks) or a common mistake (it loses the tests it should,
and the feedback names the mistake). :func:`variation_tests` makes the two tests every homework's
suite runs over its own tables of variations.
"""
from __future__ import annotations

import pytest

from grading_support import grade
from grading_support import build, feedback_text, name_of


def check(results: dict, tests, lost=(), hints=None) -> None:
    """Every test of ``tests`` not named in ``lost`` has full marks; those in ``lost`` have less than
    full marks; each ``hints[name]`` text appears in that test's feedback."""
    got = {t["name"]: t for t in results["tests"]}
    lost = {name_of(t) for t in lost}
    for test in tests:
        item = got[test.name]
        if test.name in lost:
            assert item["score"] < test.points, (test.name, item)
        else:
            assert item["score"] == test.points, (test.name, feedback_text(item)[:2000])
    for test, text in (hints or {}).items():
        name = name_of(test)
        assert text in feedback_text(got[name]), (name, feedback_text(got[name])[:2000])


def check_mistake(results: dict, tests, lost, hints) -> None:
    """:func:`check` for a common mistake, and its feedback shows the student's frames, never the kit's."""
    check(results, tests, lost, hints)
    for item in results["tests"]:
        assert "child.py" not in item["output"] and "agent.py" not in item["output"], item["output"]


def grade_unit_tests(homework: str, tests, folder, tmp_path, name) -> dict:
    """The usual grading of a variation: ``tests`` only, a minute per call (a loaded machine is slow)."""
    return grade(homework, folder, tests=tests, options={"call_timeout": 60})


def variation_tests(homework: str, correct: dict, wrong: dict, tests, grading=grade_unit_tests):
    """The two tests of a variation suite, for a module to bind to its own test names:

    - each ``correct[name] = (edits, lost)`` loses only the tests in ``lost`` (those whose names
      state the convention it breaks);
    - each ``wrong[name] = (edits, lost, hints)`` loses the tests in ``lost``, each hint appears in
      its test's feedback, and no kit frame appears in any feedback.

    Each variation is the reference with its edits, graded on ``tests`` by
    ``grading(homework, tests, folder, tmp_path, name)``.
    """
    def graded(tmp_path, name, edits):
        return grading(homework, tests, build(homework, tmp_path / name, edits), tmp_path, name)

    @pytest.mark.parametrize("name", sorted(correct))
    def correct_variation(tmp_path, name):
        edits, lost = correct[name]
        check(graded(tmp_path, name, edits), tests, lost)

    @pytest.mark.parametrize("name", sorted(wrong))
    def common_mistake(tmp_path, name):
        edits, lost, hints = wrong[name]
        check_mistake(graded(tmp_path, name, edits), tests, lost, hints)

    return correct_variation, common_mistake
