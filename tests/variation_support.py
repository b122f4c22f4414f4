"""What the variation suites (tests/test_variations_hwN.py) share.

A variation is the reference solution changed by text edits ``(file, old, new)``: either a correct
submission written differently (it must keep full marks on every test except the one whose name
states the convention it breaks) or a common mistake (it loses the tests it should, and the
feedback names the mistake).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from grading_support import feedback_text

KIT = Path(__file__).resolve().parents[1]


def build(homework: str, folder: Path, patches=()) -> Path:
    """A copy of the reference of ``homework`` in ``folder`` with every ``(file, old, new)`` applied
    (``old`` must occur; every occurrence is replaced)."""
    reference = KIT / "solutions" / homework
    shutil.copytree(reference, folder, ignore=shutil.ignore_patterns("outputs", "checkpoints", "__pycache__"))
    for file, old, new in patches:
        path = folder / file
        text = path.read_text()
        assert old in text, f"variation no longer applies to {file}: {old!r}"
        path.write_text(text.replace(old, new))
    return folder


def check(results: dict, tests, lost=(), hints=None) -> None:
    """Every test of ``tests`` not named in ``lost`` has full marks; those in ``lost`` have less than
    full marks; each ``hints[name]`` text appears in that test's feedback."""
    got = {t["name"]: t for t in results["tests"]}
    lost = {t.name if hasattr(t, "name") else t for t in lost}
    for test in tests:
        item = got[test.name]
        if test.name in lost:
            assert item["score"] < test.points, (test.name, item)
        else:
            assert item["score"] == test.points, (test.name, feedback_text(item)[:2000])
    for test, text in (hints or {}).items():
        name = test.name if hasattr(test, "name") else test
        assert text in feedback_text(got[name]), (name, feedback_text(got[name])[:2000])


def check_mistake(results: dict, tests, lost, hints) -> None:
    """:func:`check` for a common mistake, and its feedback shows the student's frames, never the kit's."""
    check(results, tests, lost, hints)
    for item in results["tests"]:
        assert "child.py" not in item["output"] and "agent.py" not in item["output"], item["output"]
