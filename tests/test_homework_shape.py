"""Every homework has the same shape, and what runs inside a student's sandbox is public.

Fast checks over all homeworks: the spec's files exist, hidden points add up to 100, public checks
are not hidden tests, the agent (which runs inside the student's process, where hidden tests and
measurements are unreadable) imports nothing secret, and the kit's secret paths hold none of the
files a sandbox is given."""
from __future__ import annotations

import ast
import zipfile
from pathlib import Path

import pytest

from autograder.gradescope import build
from autograder.homeworks import (KIT_ROOT, PUBLIC_PARTS, available, grader_files, load_checks, load_hooks,
                                  load_spec, load_tests, public_files, secret_paths, student_files)

HOMEWORKS = available()


def test_all_five_homeworks_are_present():
    assert HOMEWORKS == ["hw1", "hw2", "hw3", "hw4", "hw5"]


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_folder_shape(homework):
    spec = load_spec(homework)
    assert spec.name == homework
    assert (KIT_ROOT / spec.notebook).is_file()
    assert spec.solution_dir.is_dir() and spec.stencil_dir.is_dir()
    for name in spec.source_files:
        if name.endswith(".py"):
            assert (spec.solution_dir / spec.student_dir / name).is_file(), name
            assert (spec.student_folder / name).is_file(), name
    for part in ("spec.py", "agent.py", "public.py", "hidden.py", "measure.py"):
        assert (KIT_ROOT / "autograder" / "homeworks" / homework / part).is_file(), part
    assert spec.datasets, "name the data sets the grader must fetch before grading"


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_hidden_points_add_up_to_100_and_checks_are_separate(homework):
    tests, checks = load_tests(homework), load_checks(homework)
    assert abs(sum(t.points for t in tests) - 100) < 1e-9
    assert len({t.name for t in tests}) == len(tests)
    assert not {c.name for c in checks} & {t.name for t in tests}
    assert not {c.func.__code__ for c in checks} & {t.func.__code__ for t in tests}


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_the_agent_imports_nothing_secret(homework):
    spec = load_spec(homework)
    allowed_own = {p[:-3] for p in PUBLIC_PARTS} | {m[:-3] for m in spec.agent_files}
    tree = ast.parse((KIT_ROOT / "autograder" / "homeworks" / homework / "agent.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from . import x / from .x import y
                names = [module] if module else [a.name for a in node.names]
                assert set(names) <= allowed_own, f"{homework}/agent.py imports {names} from its package"
            else:
                assert not module.startswith("autograder.models"), module
                if module.startswith("autograder.homeworks"):
                    assert module.split(".")[-1] in allowed_own | {"homeworks"}, module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith(("autograder.models", "solutions")), alias.name
                if alias.name.startswith("autograder.homeworks."):
                    assert alias.name.split(".")[-1] in allowed_own, alias.name


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_sandbox_copies_only_public_files(homework):
    spec = load_spec(homework)
    given = {KIT_ROOT / p for p in public_files(spec.agent)}
    assert all(p.is_file() for p in given)
    secrets = secret_paths()
    for path in given:
        assert not any(path == s or s in path.parents for s in secrets), path
    names = {p.name for p in given if p.parent.name == homework}
    assert "hidden.py" not in names and "measure.py" not in names and "agent.py" in names


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_gradescope_bundle_builds_for_every_homework(homework, tmp_path):
    path = build(homework, tmp_path / f"{homework}.zip")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert f"autograder/homeworks/{homework}/hidden.py" in names and "run_autograder" in names
    assert not any(n.startswith("solutions/") for n in names)
    assert Path(path).stat().st_size < 20_000_000


@pytest.mark.parametrize("homework", HOMEWORKS)
def test_the_manifest_gives_each_audience_its_part_of_the_homework(homework):
    """hooks.py is found by its file name and goes to the release (the zip scripts need it) and the
    bundle (the grader opens uploads with it), never into the sandbox; hidden tests and measurements
    go to the bundle only."""
    folder = Path("autograder", "homeworks", homework)
    sandbox, release, bundle = set(public_files(load_spec(homework).agent)), set(student_files()), set(grader_files(homework))
    assert (load_hooks(homework) is not None) == (KIT_ROOT / folder / "hooks.py").is_file()
    if load_hooks(homework) is not None:
        assert folder / "hooks.py" in release and folder / "hooks.py" in bundle
        assert folder / "hooks.py" not in sandbox
    assert sandbox <= release and sandbox <= bundle
    for private in ("hidden.py", "measure.py"):
        assert folder / private in bundle and folder / private not in release | sandbox
    others = {p for p in bundle if p.parts[:2] == ("autograder", "homeworks") and len(p.parts) > 3}
    assert {p.parts[2] for p in others} == {homework}, "the bundle holds no other homework's folder"
