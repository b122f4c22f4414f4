"""The nbgrader course: source notebooks with graded cells, a course folder built from the kit, and a
round trip through nbgrader's own commands (generate_assignment, then autograde of made-up students)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import build_source, exclude_overwriting, source_files
from autograder.homeworks import KIT_ROOT, available, load_checks, load_spec
from autograder.stencil import student_notebook

COURSE_CONFIG = KIT_ROOT / "nbgrader" / "nbgrader_config.py"


def _cells(homework: str):
    return json.loads((KIT_ROOT / load_spec(homework).notebook).read_text())["cells"]


def _graded(cells, solution: bool):
    return [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")
            and bool(c["metadata"]["nbgrader"].get("solution")) == solution]


@pytest.mark.parametrize("homework", available())
def test_notebook_is_an_nbgrader_source_notebook(homework):
    cells = _cells(homework)
    written = _graded(cells, solution=True)
    autograded = _graded(cells, solution=False)
    assert len(written) >= 3, "every homework has manually graded written answers"
    assert len(autograded) >= 2, "every homework has autograded cells that run the public checks"
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c["metadata"]]
    assert len(ids) == len(set(ids)), "nbgrader needs unique grade ids"
    for cell in written:
        meta, source = cell["metadata"]["nbgrader"], "".join(cell["source"])
        assert cell["cell_type"] == "markdown" and meta["points"] > 0 and not meta.get("locked")
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, meta["grade_id"]
        reference = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        assert len(reference.split()) >= 40, f"{meta['grade_id']}: the reference answer is too short to grade by"
    import importlib

    public = importlib.import_module(f"autograder.homeworks.{homework}.public")
    # A check that needs a fully trained model cannot pass under nbgrader's short runs.
    known = {item.func.__name__ for item in load_checks(homework)} - set(getattr(public, "AFTER_FULL_TRAINING", ()))
    called = set()
    for cell in autograded:
        meta, source = cell["metadata"]["nbgrader"], "".join(cell["source"])
        assert cell["cell_type"] == "code" and meta["locked"] and meta["points"] > 0
        names = re.findall(r'"(\w+)"', source.split("require(", 1)[1])[1:]
        assert names and set(names) <= known, f"{meta['grade_id']} names unknown checks {set(names) - known}"
        assert meta["points"] == len(names)
        called |= set(names)
    assert called == known, f"public checks no autograded cell runs: {known - called}"
    setup = "".join(cells[1]["source"])
    assert "NBGRADER_EXECUTION" in setup, "training must run short under nbgrader's 30 s per cell"


@pytest.mark.parametrize("homework", available())
def test_student_notebook_keeps_the_questions_and_drops_the_answers(homework):
    source = (KIT_ROOT / load_spec(homework).notebook).read_text()
    student = json.loads(student_notebook(source))
    original = json.loads(source)["cells"]
    assert len(student["cells"]) == len(original)
    for before, after in zip(original, student["cells"]):
        meta = before["metadata"].get("nbgrader", {})
        text = "".join(after["source"])
        if meta.get("solution"):
            assert "YOUR ANSWER HERE" in text and "BEGIN SOLUTION" not in text
            assert "Full marks" not in text
        else:
            assert text == "".join(before["source"])
        if meta.get("grade") and not meta.get("solution"):
            assert after["metadata"]["nbgrader"]["checksum"], "autograded cells are checksummed"


def test_course_source_is_built_from_the_kit(tmp_path):
    changed = build_source(tmp_path)
    assert changed
    for homework in available():
        for relative, origin in source_files(homework).items():
            assert (tmp_path / homework / relative).read_bytes() == origin.read_bytes()
        assert not list((tmp_path / homework).rglob("*solution*"))
    (tmp_path / "hw4" / "stale.py").write_text("x = 1\n")
    (tmp_path / "hw4" / "vae.py").write_text("edited by hand\n")
    changed = build_source(tmp_path)
    assert sorted(changed) == ["hw4/stale.py (removed)", "hw4/vae.py"]
    assert build_source(tmp_path) == []


def test_submitted_python_files_are_never_overwritten():
    table = exclude_overwriting()
    assert table["hw4"] == ["vae.py", "assignment.py"]
    assert table["hw5"] == ["answer/vae.py"]
    for homework in available():
        spec = load_spec(homework)
        assert len(table[homework]) == sum(name.endswith(".py") for name in spec.source_files)


# ---- the round trip through nbgrader's commands -------------------------------------------------

def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, AEKIT_ROOT=str(KIT_ROOT), MPLBACKEND="Agg")
    env.pop("NBGRADER_EXECUTION", None)
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--force"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def _answer_everything(notebook: Path) -> None:
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = "".join(cell["source"]).replace(
                "YOUR ANSWER HERE", "The KL term keeps the codes close to the prior, so decoded samples look like digits.")
    notebook.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with every homework released by ``nbgrader generate_assignment``."""
    root = tmp_path_factory.mktemp("course")
    shutil.copyfile(COURSE_CONFIG, root / "nbgrader_config.py")
    for homework in available():
        _nbgrader(root, "generate_assignment", homework)
    return root


def test_generate_assignment_releases_what_the_kit_releases(course):
    for homework in available():
        released = course / "release" / homework
        ours = json.loads(student_notebook((KIT_ROOT / load_spec(homework).notebook).read_text()))
        theirs = json.loads((released / f"{homework}.ipynb").read_text())
        assert [c["source"] for c in theirs["cells"]] == [c["source"] for c in ours["cells"]], homework
        assert [c["metadata"] for c in theirs["cells"]] == [c["metadata"] for c in ours["cells"]], homework
        for relative, origin in source_files(homework).items():
            if relative.endswith(".py"):
                assert (released / relative).read_bytes() == origin.read_bytes(), "stencil files, not solutions"
        text = (released / f"{homework}.ipynb").read_text()
        assert "BEGIN SOLUTION" not in text and "Full marks" not in text


def _submit(course: Path, student: str, homework: str, code_from: Path) -> Path:
    folder = course / "submitted" / student / homework
    shutil.copytree(course / "release" / homework, folder)
    spec = load_spec(homework)
    for name in spec.source_files:
        if name.endswith(".py"):
            relative = Path(spec.student_dir) / name if spec.student_dir else Path(name)
            shutil.copyfile(code_from / relative, folder / relative)
    _answer_everything(folder / f"{homework}.ipynb")
    return folder


def _scores(course: Path, homework: str, student: str) -> tuple[float, float, list]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="aekit") as gradebook:
        notebook = gradebook.find_submission_notebook(homework, homework, student)
        auto = [(g.name, g.auto_score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"]
        manual = [g for g in notebook.grades if g.cell.cell_type == "markdown"]
        assert manual and all(g.needs_manual_grade for g in manual), "written answers wait for a TA"
        return sum(s or 0 for _, s, _ in auto), sum(m for _, _, m in auto), auto


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("homework", available())
def test_autograde_a_finished_submission(course, homework):
    """A student who finished the code: every autograded cell earns its points, and nbgrader keeps
    the student's .py files instead of copying the stencil's over them."""
    finished = _submit(course, f"finished_{homework}", homework, KIT_ROOT / "solutions" / homework)
    _nbgrader(course, "autograde", homework, "--student", f"finished_{homework}")
    graded = course / "autograded" / f"finished_{homework}" / homework
    for relative in exclude_overwriting()[homework]:
        assert (graded / relative).read_bytes() == (finished / relative).read_bytes(), f"{relative} was overwritten"
    earned, possible, cells = _scores(course, homework, f"finished_{homework}")
    assert possible > 0 and earned == possible, cells
    nb = json.loads((graded / f"{homework}.ipynb").read_text())
    errors = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") or i for i, c in enumerate(nb["cells"])
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    assert not errors, f"cells that raised under nbgrader: {errors}"


@pytest.mark.slow
@pytest.mark.notebook
def test_autograde_an_unfinished_submission_earns_no_check_points(course):
    _submit(course, "unfinished", "hw4", KIT_ROOT / "stencil" / "hw4")
    _nbgrader(course, "autograde", "hw4", "--student", "unfinished")
    earned, possible, cells = _scores(course, "hw4", "unfinished")
    assert possible > 0 and earned == 0, cells
    nb = json.loads((course / "autograded" / "unfinished" / "hw4" / "hw4.ipynb").read_text())
    feedback = "".join(o.get("evalue", "") for c in nb["cells"] for o in c.get("outputs", []))
    assert "TODO: fill in reparametrize (vae.py)" in feedback, "a failed check says what to fix"
