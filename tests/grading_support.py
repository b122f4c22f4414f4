"""What every grading test shares: building a submission from a reference, grading the untouched
stencil, the public checks, and reading a results.json back.

tests/test_grade_hwN.py and tests/test_variations_hwN.py use these for every homework, so that each
homework's tests have one shape and state only what is particular to that homework (its bugs, its
variations, its messages). The fairness checks of the variation suites are in variation_support.py.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
LEFT_OUT = shutil.ignore_patterns("outputs", "checkpoints", "__pycache__")


# ----------------------------------------------------------------------------- grading
_SERVER = []


def fork_server():
    """One fork server for the whole test process (autograder/pipeline/forkserver.py), started again
    if it has gone: every grading with two jobs here starts its student processes from it, as the
    grade verb does from its own, without paying for torch's import in each of them."""
    import atexit

    from autograder.pipeline.forkserver import ForkServer

    if not _SERVER or not _SERVER[0].running:
        _SERVER[:] = [ForkServer()]
        atexit.register(_SERVER[0].close)
    return _SERVER[0]


def grade(homework, submission, *args, **kwargs):
    """:func:`autograder.grade.grade` as the ``grade`` verb runs it: with a fork server when the
    grading runs two jobs on the CPU (unless the test passes its own ``launcher``)."""
    from autograder.grade import grade as graded

    options, limits = kwargs.get("options") or {}, kwargs.get("limits")
    if "launcher" not in kwargs and int(options.get("jobs", 2)) >= 2 and (limits is None or limits.device == "cpu"):
        kwargs["launcher"] = fork_server()
    return graded(homework, submission, *args, **kwargs)


# ----------------------------------------------------------------------------- building submissions
def build(homework: str, folder: Path, patches=(), times: int | None = None, source: Path | None = None) -> Path:
    """A copy of ``source`` (default: the reference of ``homework``) in ``folder``, without outputs,
    checkpoints or caches, with every text patch ``(file, old, new)`` or ``(file, old, new, count)``
    applied: each occurrence of ``old`` is replaced. ``old`` must occur ``count`` times (``times``
    when the patch gives no count; at least once when neither does), so that a patch that no longer
    fits the reference fails the test instead of grading the unchanged reference."""
    shutil.copytree(source or KIT / "solutions" / homework, folder, ignore=LEFT_OUT)
    for file, old, new, *count in patches:
        expected = count[0] if count else times
        path = folder / file
        text = path.read_text()
        found = text.count(old)
        assert found == expected if expected is not None else found > 0, \
            f"patch no longer applies to {file} ({found} occurrences): {old!r}"
        path.write_text(text.replace(old, new))
    return folder


def write_outputs(spec, folder: Path, record: dict, picture, skip=()) -> None:
    """Placeholder outputs for every file of ``spec.output_files`` not in ``skip``: ``record`` as each
    JSON file, and ``picture(path)`` writes each image."""
    for name in spec.output_files:
        if name in skip:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".json"):
            path.write_text(json.dumps(record))
        else:
            picture(path)


# ----------------------------------------------------------------------------- reading results
def name_of(test) -> str:
    """The name of a graded test, given the test or its name."""
    return test if isinstance(test, str) else test.name


def names(*tests) -> set:
    return {name_of(t) for t in tests}


def scores(results: dict) -> dict:
    """Each test's score by name."""
    return {t["name"]: t["score"] for t in results["tests"]}


def full(hidden, test) -> float:
    """The points of ``test`` (a graded test or its name) among ``hidden.TESTS``."""
    return next(t.points for t in hidden.TESTS if t.name == name_of(test))


def feedback_text(item: dict) -> str:
    """A test's feedback as plain text. A test with pictures has HTML in ``output`` (text escaped,
    then the images); its plain text is ``extra_data["text"]``."""
    return (item.get("extra_data") or {}).get("text", item["output"])


def feedback_of(results: dict, test) -> str:
    """The plain-text feedback of ``test`` (a graded test or its name)."""
    return next(feedback_text(t) for t in results["tests"] if t["name"] == name_of(test))


def texts(results: dict) -> dict:
    """Each test's plain-text feedback by name (what two gradings of the same model must share)."""
    return {t["name"]: feedback_text(t) for t in results["tests"]}


# ----------------------------------------------------------------------------- what every homework checks
def assert_graded_stencil(results: dict, hidden, out: Path | None = None, most: float = 0) -> None:
    """The untouched stencil: at most ``most`` points, every test graded in the homework's order, and
    the results written to ``out`` are the ones returned."""
    assert results["score"] <= most, results["score"]
    assert [t["name"] for t in results["tests"]] == [t.name for t in hidden.TESTS]
    if out is not None:
        assert json.loads(out.read_text())["tests"] == results["tests"]


def assert_failed_tests_say(results: dict, *words, any_word: bool = False, only_lost: bool = False) -> None:
    """Every test (with ``only_lost``: every test that lost points) failed, and its feedback holds
    each of ``words`` (with ``any_word``: at least one of them)."""
    for item in results["tests"]:
        if only_lost and item["score"] >= item["max_score"]:
            continue
        found = [w in item["output"] for w in words]
        assert item["status"] == "failed" and (any(found) if any_word else all(found)), item


def assert_one_bug_costs_only(results: dict, hidden, lost, below: float | None = None, bug: str = "") -> None:
    """A submission with one bug: each test named in ``lost`` scores nothing (or, given ``below``,
    less than that share of its points); every other graded test keeps full marks."""
    lost = names(*lost)
    for name, score in scores(results).items():
        if name in lost:
            kept = score == 0 if below is None else score < below * full(hidden, name)
            assert kept, (bug, name, score, feedback_of(results, name)[:3000])
        else:
            assert score == full(hidden, name), (bug, name, json.dumps(results, indent=1)[:3000])


def assert_public_checks(homework: str, reference: Path, stencil: Path | None = None, untrained=()):
    """The public checks pass on the reference and fail on the stencil (default: the homework's own)
    with NotImplementedError; checks named in ``untrained`` need a trained model, which neither
    folder has, and are left to the caller. Returns both lists of check results."""
    from autograder.check import check

    skipped = names(*untrained)
    on_reference, on_stencil = check(homework, reference), check(homework, stencil) if stencil else check(homework)
    passed = [r for r in on_reference if r.name not in skipped]
    assert passed and all(r.status == "passed" for r in passed), [(r.name, r.output) for r in passed]
    failed = [r for r in on_stencil if r.name not in skipped]
    assert failed and all(r.status == "failed" and "NotImplementedError" in r.output for r in failed), \
        [(r.name, r.output) for r in failed]
    return on_reference, on_stencil
