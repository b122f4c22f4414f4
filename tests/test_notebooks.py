"""What every homework notebook must be (an nbgrader source notebook stored clean, valid Python, whose
first cell is the shared set-up), and how that set-up (``autograder/notebook.py``) finds the student's
files. Each notebook's run in QUICK mode is ``tests/test_notebook_hwN.py``."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.homeworks import available, load_spec
from notebook_support import KIT_ROOT, first_code_cell, notebook_path, strip_magics

# Per homework: the fewest reference answers (solution regions), and words the notebook's text and
# code must hold (hand-in instructions, licences, the functions students write).
EXPECTED = {
    "hw1": (4, (), ("sample_uniform", "sample_gaussian", "encode_dataset", "gaussian_nll", "bernoulli_nll",
                    "train_autoencoder")),
    "hw2": (4, ("Open Font License", "Apache"), ()),
    "hw3": (3, ("hw3_writeup.pdf",), ()),
    "hw4": (3, (), ()),
    "hw5": (4, ("Contributions",), ()),
}


@pytest.mark.parametrize("homework", available())
def test_notebook_is_stored_clean_and_parses(homework):
    nb = nbformat.read(notebook_path(homework), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert any(cell.cell_type == "code" for cell in nb.cells)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.get("outputs") == [], f"cell {index} was stored with outputs"
        assert cell.get("execution_count") is None, f"cell {index} was stored with an execution count"
        try:
            ast.parse(strip_magics(cell.source), filename=f"{homework}.ipynb cell {index}")
        except SyntaxError as err:
            pytest.fail(f"code cell {index} is not valid Python: {err}")
    answers, words, names = EXPECTED.get(homework, (1, (), ()))
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    assert text.count("### BEGIN SOLUTION") >= answers  # reference answers (nbgrader source notebook)
    for word in (f"zipsrc.py {homework}", f"zipout.py {homework}", *words):
        assert word in text, word
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    for name in names:
        assert name in code, name


@pytest.mark.parametrize("homework", available())
def test_first_cell_is_the_shared_setup_of_its_homework(homework):
    first = first_code_cell(nbformat.read(notebook_path(homework), as_version=4))
    tree = ast.parse(strip_magics(first))
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setup"]
    assert [ast.literal_eval(call.args[0]) for call in calls] == [homework]
    assert "from autograder.notebook import setup" in first
    assert len(first.splitlines()) <= 30, "the set-up belongs in autograder/notebook.py"


def _code_files(folder: Path, homework: str) -> None:
    for name in load_spec(homework).source_files:
        if name.endswith(".py"):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text("")


def test_setup_finds_the_students_files_in_order(tmp_path, monkeypatch):
    from autograder.notebook import homework_folder

    monkeypatch.delenv("AEKIT_HW4_DIR", raising=False)
    monkeypatch.delenv("AEKIT_HW5_DIR", raising=False)
    # Nothing beside the notebook: the kit's stencil.
    assert homework_folder("hw4", tmp_path) == KIT_ROOT / "stencil" / "hw4"
    assert homework_folder("hw5", tmp_path) == KIT_ROOT / "stencil" / "hw5" / "answer"
    # Only some of the files beside it: still the stencil.
    (tmp_path / "vae.py").write_text("")
    assert homework_folder("hw4", tmp_path) == KIT_ROOT / "stencil" / "hw4"
    # All of them beside it (as nbgrader hands a homework out): the notebook's folder.
    _code_files(tmp_path, "hw4")
    assert homework_folder("hw4", tmp_path) == tmp_path.resolve()
    # hw5: answer/ below the notebook (nbgrader's hw5.ipynb), or the notebook inside answer/.
    nbgrader_folder = tmp_path / "hw5"
    _code_files(nbgrader_folder / "answer", "hw5")
    assert homework_folder("hw5", nbgrader_folder) == (nbgrader_folder / "answer").resolve()
    assert homework_folder("hw5", nbgrader_folder / "answer") == (nbgrader_folder / "answer").resolve()
    # $AEKIT_HWN_DIR wins over everything.
    monkeypatch.setenv("AEKIT_HW4_DIR", str(tmp_path / "elsewhere"))
    assert homework_folder("hw4", tmp_path) == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize("environment, quick", [
    ({}, False), ({"AEKIT_QUICK": "1"}, True), ({"AEKIT_QUICK": "0"}, False), ({"NBGRADER_EXECUTION": "autograde"}, True),
])
def test_quick_mode_under_automatic_checks(monkeypatch, environment, quick):
    from autograder.notebook import quick_mode

    for name in ("AEKIT_QUICK", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert quick_mode() is quick


def test_setup_puts_the_students_folder_first_then_the_kit(tmp_path, monkeypatch, capsys):
    from autograder import notebook

    folder = tmp_path / "hw5" / "answer"
    _code_files(folder, "hw5")
    monkeypatch.setenv("AEKIT_HW5_DIR", str(folder))
    monkeypatch.setenv("AEKIT_QUICK", "1")
    rest = [entry for entry in sys.path if entry not in ("", str(KIT_ROOT))]
    monkeypatch.setattr(sys, "path", [str(KIT_ROOT), str(folder), "elsewhere", str(KIT_ROOT), *rest])
    kit_root, hw_dir, outputs, quick, seed = notebook.setup("hw5")
    assert (kit_root, hw_dir, outputs, quick, seed) == (KIT_ROOT, folder.resolve(), (tmp_path / "hw5" / "outputs").resolve(), True, 0)
    assert sys.path == [str(folder.resolve()), str(KIT_ROOT), "elsewhere", *rest]
    shown = capsys.readouterr().out
    assert str(folder.resolve()) in shown and "QUICK mode" in shown


def test_show_images_takes_tensors_and_arrays_in_colour_and_grey(monkeypatch):
    import torch

    from autograder import notebook

    shown = []
    monkeypatch.setattr(notebook, "show_figure", lambda fig: shown.append([ax.images[0].get_array().shape
                                                                          for ax in fig.axes if ax.images]))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook.show_images(torch.rand(3, 3, 8, 8), ["a smiling face with a long name", "b", "c"], columns=2)
    notebook.show_images(np.random.rand(2, 1, 64, 64), columns=12)
    notebook.show_images(np.random.rand(5, 64, 64))
    assert shown == [[(8, 8, 3)] * 3, [(64, 64)] * 2, [(64, 64)] * 5]


@pytest.fixture(scope="module")
def release():
    from autograder.release import release_files

    return release_files()


@pytest.mark.parametrize("homework", available())
def test_the_released_notebooks_set_up_in_the_unpacked_release(homework, release, tmp_path):
    """Run the first cell of each notebook of the student release (outside Jupyter), from its folder as
    a student opens it: it must find the release and the student's files in it, with no AEKIT_ROOT."""
    files = {name: content for name, content in release.items()
             if name.startswith(("autograder/", "data/", f"stencil/{homework}/", f"notebooks/{homework}."))}
    assert "autograder/notebook.py" in files
    root = (tmp_path / "release").resolve()
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    spec = load_spec(homework)
    student = root / "stencil" / homework / spec.student_dir
    opened = [root / "notebooks" / f"{homework}.ipynb"] + sorted(student.glob("*.ipynb"))
    env = {key: value for key, value in os.environ.items() if not key.startswith("AEKIT_") and key != "NBGRADER_EXECUTION"}
    for path in opened:
        script = tmp_path / "first_cell.py"
        script.write_text(strip_magics(first_code_cell(nbformat.read(path, as_version=4))))
        run = subprocess.run([sys.executable, str(script)], cwd=path.parent, env=env, capture_output=True, text=True,
                             timeout=120)
        assert run.returncode == 0, run.stderr[-2000:]
        assert f"kit root:         {root}\n" in run.stdout and f"homework folder:  {student}\n" in run.stdout, run.stdout
