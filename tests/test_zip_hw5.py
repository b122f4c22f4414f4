"""``zipsrc.py hw5`` and ``zipout.py hw5`` (homework 5's hooks.py) on throw-away copies."""
from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

KIT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT_ROOT))

import zipout  # noqa: E402
import zipsrc  # noqa: E402
from autograder.homeworks import load_hooks, load_spec  # noqa: E402
from autograder.homeworks.hw5 import hooks  # noqa: E402
from data import signs  # noqa: E402

SPEC = load_spec("hw5")
SIZES = signs.sizes()


@pytest.fixture
def hw(tmp_path):
    """A homework folder like stencil/hw5: answer/ with the reference's vae.py and notebook."""
    folder = tmp_path / "hw5"
    shutil.copytree(SPEC.solution_dir / "answer", folder / "answer",
                    ignore=shutil.ignore_patterns("__pycache__", "outputs", "checkpoints"))
    return folder


def write_codes(folder: Path, dims=(8, 8), dtype=np.float32, rows=None):
    out = folder / "outputs"
    out.mkdir(parents=True, exist_ok=True)
    for split, z in zip(("dev", "test"), dims):
        n = SIZES[split] if rows is None else rows
        np.save(out / f"{split}.npy", np.random.default_rng(0).normal(size=(n, z)).astype(dtype))
    return out


def members(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return set(zf.namelist())


def src(hw, *extra):
    return zipsrc.main(["hw5", "--dir", str(hw / "answer"), "--out", str(hw / "source.zip"), *extra])


def out(hw):
    return zipout.main(["hw5", "--dir", str(hw), "--out", str(hw / "output.zip")])


def refused(rc, capsys, zip_path):
    err = capsys.readouterr().err
    assert rc == 1, err
    assert not zip_path.exists()
    assert err.strip() and "Traceback" not in err
    return err


def test_spec_uses_the_hooks():
    assert SPEC.student_dir == "answer" and SPEC.upload_files == ("source.zip", "output.zip")
    assert load_hooks("hw5") is hooks and callable(hooks.prepare)
    assert hooks.SOURCE_ZIP == "source.zip" and hooks.OUTPUT_ZIP == "output.zip"
    assert SPEC.student_folder == KIT_ROOT / "stencil" / "hw5" / "answer"


def test_zipsrc_zips_the_answer_folder_and_leaves_outputs_out(hw, capsys):
    (hw / "answer" / "helpers.py").write_text("def f():\n    return 1\n")
    (hw / "answer" / "notes.md").write_text("experiments")
    (hw / "answer" / "outputs").mkdir()
    (hw / "answer" / "outputs" / "dev.npy").write_bytes(b"left out")
    (hw / "answer" / "__pycache__").mkdir()
    (hw / "answer" / "__pycache__" / "vae.cpython-311.pyc").write_bytes(b"left out")
    assert src(hw) == 0
    assert members(hw / "source.zip") == {"answer/vae.py", "answer/vae.ipynb", "answer/helpers.py",
                                          "answer/notes.md"}
    assert "source.zip" in capsys.readouterr().out
    # the homework folder itself is accepted too (its answer/ is used)
    (hw / "source.zip").unlink()
    assert zipsrc.main(["hw5", "--dir", str(hw), "--out", str(hw / "source.zip")]) == 0


@pytest.mark.parametrize("name, words", [("vae.py", "your VAE"), ("vae.ipynb", "your write-up notebook")])
def test_zipsrc_refuses_a_missing_required_file_and_names_it(hw, capsys, name, words):
    (hw / "answer" / name).unlink()
    err = refused(src(hw), capsys, hw / "source.zip")
    assert name in err and words in err and "--dir" in err
    other = "vae.ipynb" if name == "vae.py" else "vae.py"
    assert f"answer/{other} (" not in err  # only the missing one is named as missing


def test_zipsrc_refuses_checkpoints_in_answer_and_bad_python(hw, capsys):
    (hw / "answer" / "model.pt").write_bytes(b"\0" * 10)
    err = refused(src(hw), capsys, hw / "source.zip")
    assert "model.pt" in err and "must not be uploaded" in err
    (hw / "answer" / "model.pt").unlink()
    (hw / "answer" / "vae.py").write_text("def (:\n")
    err = refused(src(hw), capsys, hw / "source.zip")
    assert "vae.py" in err and "line 1" in err


def test_zipout_packages_the_documented_format(hw, capsys):
    write_codes(hw)
    assert out(hw) == 0
    assert members(hw / "output.zip") == {"dev.npy", "test.npy"}
    with zipfile.ZipFile(hw / "output.zip") as zf:
        zf.extract("dev.npy", hw / "check")
    codes = np.load(hw / "check" / "dev.npy", allow_pickle=False)
    assert codes.shape == (SIZES["dev"], 8) and codes.dtype == np.float32
    assert "output.zip" in capsys.readouterr().out


def test_zipout_refuses_missing_codes(hw, capsys):
    write_codes(hw)
    (hw / "outputs" / "test.npy").unlink()
    err = refused(out(hw), capsys, hw / "output.zip")
    assert "test.npy" in err and "python answer/vae.py" in err


@pytest.mark.parametrize("case, words", [
    ("float64", "float32"),
    ("rows", "rows"),
    ("pixels", "dimensions"),
    ("nan", "NaN"),
    ("1d", "2-D"),
    ("mismatch", "dimensions"),
    ("pickle", "not a .npy array"),
    ("text", "not a .npy array"),
])
def test_zipout_refuses_malformed_codes(hw, capsys, case, words):
    outputs = write_codes(hw)
    dev = outputs / "dev.npy"
    n = SIZES["dev"]
    if case == "float64":
        np.save(dev, np.zeros((n, 8)))
    elif case == "rows":
        np.save(dev, np.zeros((n - 1, 8), np.float32))
    elif case == "pixels":
        np.save(dev, signs.images("dev").reshape(n, -1))
    elif case == "nan":
        np.save(dev, np.full((n, 8), np.nan, np.float32))
    elif case == "1d":
        np.save(dev, np.zeros(n, np.float32))
    elif case == "mismatch":
        np.save(dev, np.zeros((n, 4), np.float32))
    elif case == "pickle":
        np.save(dev, np.array([{"codes": 1}] * n, dtype=object), allow_pickle=True)
    elif case == "text":
        dev.write_text(json.dumps([[0.0] * 8] * n))
    err = refused(out(hw), capsys, hw / "output.zip")
    assert words in err, err
    assert "dev.npy" in err or case == "mismatch"


def _set_contributions(hw, text: str) -> None:
    path = hw / "answer" / "vae.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "q4")
    cell["source"] = text
    path.write_text(json.dumps(nb))


def test_zipsrc_warns_but_packages_when_the_contributions_cell_is_still_the_template(hw, capsys):
    from autograder.stencil import student_notebook

    template = json.loads(student_notebook((hw / "answer" / "vae.ipynb").read_text()))
    cell = next(c for c in template["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "q4")
    _set_contributions(hw, "".join(cell["source"]))
    assert src(hw) == 0
    err = capsys.readouterr().err
    assert "contributions cell (Q4)" in err and "still the template" in err
    _set_contributions(hw, "| member | contribution |\n|---|---|\n| Ada | kld, vae_loss, Q1-Q3 |\n")
    assert src(hw) == 0
    assert "contributions cell" not in capsys.readouterr().err
