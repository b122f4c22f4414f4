"""Tests for ``zipsrc.py`` and ``zipout.py`` on a throw-away copy of the hw4 layout."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

KIT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT_ROOT))

import grading_support  # noqa: E402
import zipout  # noqa: E402
import zipsrc  # noqa: E402
from autograder.homeworks import load_spec  # noqa: E402
from autograder.packaging import MAX_PY_BYTES, PNG_SIGNATURE  # noqa: E402

SPEC = load_spec("hw4")
NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": None,
               "outputs": [], "source": "import vae"}],
}


@pytest.fixture
def kit(tmp_path):
    """A homework folder holding the hw4 solution files, a notebook, and the zip path to write."""
    folder = tmp_path / "hw4"
    folder.mkdir()
    for name in SPEC.source_files:
        shutil.copy(SPEC.solution_dir / name, folder / name)
    notebook = tmp_path / "my_hw4.ipynb"
    notebook.write_text(json.dumps(NOTEBOOK))
    return {"dir": folder, "notebook": notebook, "out": tmp_path / "hw4_source.zip",
            "tmp": tmp_path}


def run_src(kit, *extra):
    return zipsrc.main(["hw4", "--dir", str(kit["dir"]), "--notebook", str(kit["notebook"]),
                        "--out", str(kit["out"]), *extra])


def refused(kit, capsys, *extra):
    """Run zipsrc, expect a refusal without a zip, return the message."""
    rc = run_src(kit, *extra)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert not kit["out"].exists()
    assert "Traceback" not in err and err.strip()
    return err


def members(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return set(zf.namelist())


# ----------------------------------------------------------------------------- zipsrc


def test_zipsrc_packages_sources_notebook_helpers_and_includes(kit, capsys):
    (kit["dir"] / "helpers.py").write_text("def f():\n    return 1\n")
    (kit["dir"] / "notes.txt").write_text("not a helper module")  # not matched by *.py
    extra = kit["tmp"] / "README.md"
    extra.write_text("my notes")
    assert run_src(kit, "--include", str(extra)) == 0
    assert members(kit["out"]) == {"vae.py", "assignment.py", "hw4.ipynb", "helpers.py", "README.md"}
    with zipfile.ZipFile(kit["out"]) as zf:
        assert zf.read("vae.py") == (kit["dir"] / "vae.py").read_bytes()
        assert json.loads(zf.read("hw4.ipynb")) == NOTEBOOK
    out = capsys.readouterr().out
    assert "hw4_source.zip" in out and "KB" in out
    assert [p.name for p in kit["tmp"].iterdir() if p.name.endswith(".tmp")] == []


def test_zipsrc_missing_required_file(kit, capsys):
    (kit["dir"] / "vae.py").unlink()
    err = refused(kit, capsys)
    assert "vae.py" in err and "missing" in err and "--dir" in err


def test_zipsrc_missing_notebook(kit, capsys):
    kit["notebook"].unlink()
    err = refused(kit, capsys)
    assert "my_hw4.ipynb" in err and "--notebook" in err


def test_zipsrc_syntax_error_names_file_and_line(kit, capsys):
    (kit["dir"] / "assignment.py").write_text("import torch\n\ndef f(:\n    pass\n")
    err = refused(kit, capsys)
    assert "assignment.py" in err and "line 3" in err


def test_zipsrc_big_file(kit, capsys):
    (kit["dir"] / "big.py").write_text("# padding\n" * (MAX_PY_BYTES // 10 + 10))
    err = refused(kit, capsys)
    assert "big.py" in err and "MB" in err


@pytest.mark.parametrize("name", ["model.pt", "vae.pth", "weights.ckpt", "opt.pkl",
                                  "mnist.npz", "train-images-idx3-ubyte", "t10k-labels.gz"])
def test_zipsrc_refuses_checkpoints_and_data(kit, capsys, name):
    bad = kit["tmp"] / name
    bad.write_bytes(b"\0" * 100)
    err = refused(kit, capsys, "--include", str(bad))
    assert name in err and "must not be uploaded" in err


def test_zipsrc_refuses_files_from_site_packages(kit, capsys):
    bad = kit["tmp"] / ".venv" / "lib" / "site-packages" / "torch_utils.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("x = 1\n")
    err = refused(kit, capsys, "--include", str(bad))
    assert "torch_utils.py" in err


def test_zipsrc_refuses_symlink(kit, capsys):
    (kit["dir"] / "linked.py").symlink_to(kit["dir"] / "vae.py")
    err = refused(kit, capsys)
    assert "linked.py" in err and "symbolic link" in err


@pytest.mark.parametrize("text", [
    "{not json",
    json.dumps({"cells": [], "metadata": {}}),                         # no nbformat version
    json.dumps({**NOTEBOOK, "cells": [{"cell_type": "code", "id": "c1"}]}),  # cell lacks fields
])
def test_zipsrc_refuses_bad_notebook(kit, capsys, text):
    kit["notebook"].write_text(text)
    err = refused(kit, capsys)
    assert "my_hw4.ipynb" in err and "notebook" in err


def test_zipsrc_failure_keeps_previous_zip(kit, capsys):
    kit["out"].write_bytes(b"previous")
    (kit["dir"] / "vae.py").write_text("def (\n")
    assert run_src(kit) == 1
    assert kit["out"].read_bytes() == b"previous"


def test_unknown_homework_lists_valid_ones(tmp_path, capsys):
    assert zipsrc.main(["hw99", "--out", str(tmp_path / "x.zip")]) == 1
    assert zipout.main(["nonsense", "--out", str(tmp_path / "y.zip")]) == 1
    err = capsys.readouterr().err
    assert "hw99" in err and "nonsense" in err and err.count("hw4") >= 2


def test_zipsrc_subprocess_from_other_cwd_has_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(KIT_ROOT / "zipsrc.py"), "hw4",
                           "--dir", str(tmp_path / "nowhere")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "nowhere" in proc.stderr and "--dir" in proc.stderr
    assert not (tmp_path / "hw4_source.zip").exists()


# ----------------------------------------------------------------------------- zipout


def write_outputs(folder: Path, skip=()):
    """A loss record and PNG files that only have the signature and a header (zipout reads no further)."""
    def png(path):
        path.write_bytes(PNG_SIGNATURE + b"\0\0\0\rIHDR" + b"\0" * 20)

    grading_support.write_outputs(SPEC, folder, {"model": "vae", "per_image_loss": [190.7, 150.2], "args": {}}, png, skip)


def run_out(tmp_path):
    return zipout.main(["hw4", "--dir", str(tmp_path), "--out", str(tmp_path / "hw4_outputs.zip")])


def test_zipout_success(tmp_path, capsys):
    write_outputs(tmp_path)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "vae.pt").write_bytes(b"weights")
    assert run_out(tmp_path) == 0
    assert members(tmp_path / "hw4_outputs.zip") == set(SPEC.output_files)
    assert "hw4_outputs.zip" in capsys.readouterr().out


def test_zipout_lists_all_missing_outputs(tmp_path, capsys):
    missing = [name for name in SPEC.output_files if "cvae" in name]
    write_outputs(tmp_path, skip=missing)
    assert run_out(tmp_path) == 1
    err = capsys.readouterr().err
    for name in missing:
        assert Path(name).name in err
    assert "assignment.py" in err and "Run the homework first" in err
    assert not (tmp_path / "hw4_outputs.zip").exists()


@pytest.mark.parametrize("text", [
    "{oops",
    json.dumps([1, 2]),
    json.dumps({"model": "vae"}),
    json.dumps({"per_image_loss": []}),
    json.dumps({"per_image_loss": [1.0, "2"]}),
    json.dumps({"per_image_loss": [1.0, True]}),
    '{"per_image_loss": [150.0, NaN]}',
])
def test_zipout_refuses_malformed_loss_json(tmp_path, capsys, text):
    write_outputs(tmp_path)
    (tmp_path / "outputs" / "losses_cvae.json").write_text(text)
    assert run_out(tmp_path) == 1
    err = capsys.readouterr().err
    assert "losses_cvae.json" in err and "Traceback" not in err
    assert not (tmp_path / "hw4_outputs.zip").exists()


@pytest.mark.parametrize("content, words", [(b"", "empty"), (b"GIF89a not a png", "not a PNG"),
                                            (PNG_SIGNATURE, "not a PNG")])
def test_zipout_refuses_fake_png(tmp_path, capsys, content, words):
    write_outputs(tmp_path)
    (tmp_path / "outputs" / "vae_samples.png").write_bytes(content)
    assert run_out(tmp_path) == 1
    err = capsys.readouterr().err
    assert "vae_samples.png" in err and words in err
    assert not (tmp_path / "hw4_outputs.zip").exists()


def test_zipout_refuses_symlinked_output(tmp_path, capsys):
    write_outputs(tmp_path, skip=["outputs/loss_vae.png"])
    os.symlink(tmp_path / "outputs" / "loss_cvae.png", tmp_path / "outputs" / "loss_vae.png")
    assert run_out(tmp_path) == 1
    assert "symbolic link" in capsys.readouterr().err


# ----------------------------------------------------------------------------- zipsrc warnings


def _notebook(cells) -> dict:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def _answer_cell(text: str, grade_id: str) -> dict:
    return {"cell_type": "markdown", "id": grade_id, "source": text,
            "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": False, "points": 2,
                                      "schema_version": 3, "solution": True, "task": False}}}


def _ran_cell() -> dict:
    return {"cell_type": "code", "id": "ran", "metadata": {}, "execution_count": 1, "source": "print(1)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]}


def _readme(kit, text: str) -> None:
    (kit["dir"] / "README.md").write_text(text)


def test_zipsrc_warns_but_packages_a_notebook_without_outputs_and_unanswered_questions(kit, capsys):
    kit["notebook"].write_text(json.dumps(_notebook(NOTEBOOK["cells"] + [
        _answer_cell("YOUR ANSWER HERE", "q1"), _answer_cell("My own answer.", "q2")])))
    _readme(kit, "Accuracy: 95 %. Known bugs: none.")
    assert run_src(kit) == 0
    assert "hw4.ipynb" in members(kit["out"])
    err = capsys.readouterr().err
    assert "Warning:" in err and "has no outputs" in err and "Restart & Run All" in err
    assert "1 unanswered written question(s): cell 2 (q1)." in err and "(q2)" not in err


def test_zipsrc_does_not_warn_about_a_finished_notebook_and_readme(kit, capsys):
    kit["notebook"].write_text(json.dumps(_notebook([_ran_cell(), _answer_cell("My own answer.", "q1")])))
    _readme(kit, "Accuracy: 95 %. Known bugs: none.")
    assert run_src(kit) == 0
    assert "README.md" in members(kit["out"])
    assert "Warning" not in capsys.readouterr().err


def test_zipsrc_warns_when_the_readme_is_missing_or_still_the_template(kit, capsys):
    kit["notebook"].write_text(json.dumps(_notebook([_ran_cell()])))
    assert run_src(kit) == 0
    err = capsys.readouterr().err
    assert "README.md is not in the zip" in err and "template" in err
    shutil.copy(KIT_ROOT / "stencil" / "hw4" / "README.md", kit["dir"] / "README.md")
    assert run_src(kit) == 0
    assert "README.md" in members(kit["out"])
    err = capsys.readouterr().err
    assert "README.md is still the template" in err and "YOUR ANSWER HERE" in err


def test_hw4_readme_template_comes_from_the_solution_through_the_stencil():
    from autograder.stencil import stencil_files

    solution = (KIT_ROOT / "solutions" / "hw4" / "README.md").read_text()
    template = stencil_files("hw4")[KIT_ROOT / "stencil" / "hw4" / "README.md"]
    assert "BEGIN SOLUTION" in solution and "BEGIN SOLUTION" not in template
    assert template.count("YOUR ANSWER HERE") == solution.count("### BEGIN SOLUTION") >= 2
    for heading in ("## Accuracy", "## Known bugs"):
        assert heading in template
    assert "README.md" in SPEC.documents
