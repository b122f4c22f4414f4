"""A new homework is added by creating the files ``autograder/homeworks/README.md`` lists, and nothing
else: a toy ``hw0`` (one student function) in a temporary copy of the kit is picked up by ``stencil``,
``check``, ``grade``, ``release``, ``gradescope`` and the zip scripts without any core file touched."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
README = KIT / "autograder" / "homeworks" / "README.md"

TOY = {
    "solutions/hwN/arith.py": '''"""Homework 0: one function."""
import torch


def double(x):
    """x: tensor of any shape. Returns a tensor of the same shape: twice x."""
    # ============================== TODO: double ==============================
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
    # ============================ END OF YOUR CODE ============================
''',
    "notebooks/hwN.ipynb": json.dumps({
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Homework 0\n", "Fill in `double`."]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}, indent=1),
    "autograder/homeworks/hwN/__init__.py": '"""Homework 0."""\n',
    "autograder/homeworks/hwN/spec.py": '''"""Homework 0: what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(name="hw0", title="Homework 0: doubling", source_files=("arith.py",))
''',
    "autograder/homeworks/hwN/agent.py": '''"""Runs in the student's process; answers with raw tensors."""
import torch

EXPORTS = ("double",)


def double(x):
    import arith

    return torch.as_tensor(arith.double(x)).detach().cpu()
''',
    "autograder/homeworks/hwN/public.py": '''"""Public check."""
import torch

from autograder.pipeline import expect
from autograder.pipeline.score import Fail, graded


@graded("double keeps the shape", points=1)
def shape(ctx):
    expect.tensor(ctx.sandbox("check").call("double", torch.ones(3), timeout=60, what="double(ones(3))"),
                  "double(ones(3))", (3,))


CHECKS = [shape]
''',
    "autograder/homeworks/hwN/hidden.py": '''"""Graded test."""
import torch

from autograder.pipeline import expect
from autograder.pipeline.score import Fail, graded


@graded("double: twice its input", points=100)
def double(ctx):
    x = torch.arange(6.0).view(2, 3)
    value = expect.tensor(ctx.sandbox("units").call("double", x, timeout=60, what="double(x)"), "double(x)", (2, 3))
    if not torch.equal(value, 2 * x):
        raise Fail("double(x) should be 2 * x.")
    return "double is right."


TESTS = [double]
''',
}


def files_to_create() -> set[str]:
    """The paths the README's "files to create" list names, with ``hwN`` kept as written."""
    text = README.read_text()
    section = text.split("## Files to create", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", section, flags=re.M))


def test_the_readme_lists_exactly_the_files_of_a_homework():
    listed = files_to_create()
    assert listed, "autograder/homeworks/README.md has no list under '## Files to create'"
    # each listed path is made by the toy homework (a .py file under solutions/ stands for all of them)
    made = {("solutions/hwN/*.py" if p.startswith("solutions/") else p) for p in TOY}
    assert made == listed


def _kit_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "kit"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=KIT, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = KIT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    for relative, text in TOY.items():
        path = copy / relative.replace("hwN", "hw0")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return copy


def test_a_toy_homework_is_picked_up_by_every_verb(tmp_path):
    copy = _kit_copy(tmp_path)
    os.chmod(tmp_path, 0o755)
    from data import store

    env = dict(os.environ, PYTHONPATH=str(copy))
    if store.data_root():
        env["AEKIT_DATA"] = store.data_root()

    def verb(*args, ok=True):
        run = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=copy, env=env,
                             capture_output=True, text=True, timeout=600)
        assert (run.returncode == 0) == ok, run.stdout + run.stderr
        return run.stdout

    verb("stencil", "hw0")
    stencil = (copy / "stencil" / "hw0" / "arith.py").read_text()
    assert "return 2 * x" not in stencil and "NotImplementedError" in stencil
    assert "TODO: fill in double" in verb("check", "hw0", ok=False)
    assert "1 of 1 checks passed" in verb("check", "hw0", str(copy / "solutions" / "hw0"))

    verb("grade", "hw0", str(copy / "solutions" / "hw0"), "--out", str(tmp_path / "ref.json"), "--quiet")
    assert json.loads((tmp_path / "ref.json").read_text())["score"] == 100
    verb("grade", "hw0", str(copy / "stencil" / "hw0"), "--out", str(tmp_path / "stencil.json"), "--quiet")
    assert json.loads((tmp_path / "stencil.json").read_text())["score"] == 0

    verb("release", "--out", str(tmp_path / "release"))
    released = {p.relative_to(tmp_path / "release").as_posix() for p in (tmp_path / "release").rglob("*")}
    assert {"stencil/hw0/arith.py", "notebooks/hw0.ipynb", "autograder/homeworks/hw0/public.py"} <= released
    assert "autograder/homeworks/hw0/hidden.py" not in released

    verb("gradescope", "hw0", "--out", str(tmp_path / "hw0_gradescope.zip"))
    with zipfile.ZipFile(tmp_path / "hw0_gradescope.zip") as zf:
        assert "autograder/homeworks/hw0/hidden.py" in zf.namelist()

    # The zip scripts follow the folder convention (the notebook is notebooks/hw0.ipynb) and an
    # optional hooks.py is found by its file name.
    zipsrc = subprocess.run([sys.executable, "zipsrc.py", "hw0"], cwd=copy, env=env, capture_output=True, text=True)
    assert zipsrc.returncode == 0, zipsrc.stdout + zipsrc.stderr
    with zipfile.ZipFile(copy / "hw0_source.zip") as zf:
        assert set(zf.namelist()) == {"arith.py", "hw0.ipynb"}
    (copy / "autograder" / "homeworks" / "hw0" / "hooks.py").write_text('SOURCE_ZIP = "doubling.zip"\n')
    zipsrc = subprocess.run([sys.executable, "zipsrc.py", "hw0"], cwd=copy, env=env, capture_output=True, text=True)
    assert zipsrc.returncode == 0 and (copy / "doubling.zip").is_file(), zipsrc.stdout + zipsrc.stderr

    changed = subprocess.run(["git", "status", "--porcelain"], cwd=KIT, capture_output=True, text=True).stdout
    assert "hw0" not in changed, "the toy homework lives in the copy only"
