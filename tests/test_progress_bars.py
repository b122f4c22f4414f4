"""Progress bars stay quiet when output is not a terminal (Gradescope logs, nbgrader, CI): every
bar in the homeworks' solutions (hence their stencils) and in the grader is made with
``disable=None``, which tqdm reads as "no bar unless the output is a terminal"."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
FILES = sorted(KIT.glob("solutions/hw*/*.py")) + sorted(KIT.glob("stencil/hw*/*.py")) + [
    KIT / "autograder" / "grade.py", KIT / "autograder" / "models" / "train_mnist_classifier.py"]


def _bars(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "tqdm":
            yield node


@pytest.mark.parametrize("path", [p for p in FILES if list(_bars(p))], ids=lambda p: str(p.relative_to(KIT)))
def test_every_bar_turns_itself_off_without_a_terminal(path):
    for call in _bars(path):
        disable = next((k.value for k in call.keywords if k.arg == "disable"), None)
        assert disable is not None, f"{path.name}:{call.lineno}: tqdm(...) without disable=None"
        constants = [n.value for n in ast.walk(disable) if isinstance(n, ast.Constant)]
        assert None in constants, f"{path.name}:{call.lineno}: disable never None (the bar would write to logs)"


def test_a_bar_with_disable_none_writes_nothing_to_a_pipe():
    code = ("from tqdm.auto import tqdm\nfor _ in tqdm(range(3000), disable=None, mininterval=0):\n    pass\n"
            "for _ in tqdm(range(3000), mininterval=0):\n    pass\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = run.stderr.replace("\r", "\n").splitlines()
    # The second, default bar writes thousands of updates into the pipe; the first wrote none.
    assert len(lines) > 1000
    quiet = subprocess.run([sys.executable, "-c", code.split("for _ in tqdm(range(3000), mininterval")[0]],
                           capture_output=True, text=True, timeout=60)
    assert quiet.stderr == ""
