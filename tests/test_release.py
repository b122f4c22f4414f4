"""The student release: made from the single source, complete, and free of anything of the grader's.

The leak tests do not trust the release command's own list of what it ships: they read every line
of every reference solution region (``.py`` files and notebooks) and every line of the grader's
private modules, and look for each of them in every file of the release.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.homeworks import KIT_ROOT, available, load_checks, load_spec
from data import store
from autograder.release import write_release
from autograder.stencil import stencil_files

GENERIC = 20  # solution lines shorter than this ("else:", "loss.backward()") are only searched in pairs
PRIVATE_MODULES = ("hidden.py", "measure.py", "submission.py")
GRADER_VERBS = ("grade.py", "batch.py", "gradescope.py", "prefetch.py", "course.py", "stencil.py", "release.py")


def _text_lines(name: str, content: bytes) -> list[str]:
    """The stripped lines of a release file (a notebook's cell sources, not its JSON). Weights have
    no lines; test_no_hidden_test_or_grader_module_is_in_the_release checks them by digest."""
    if name.endswith(".pt"):
        return []
    text = content.decode("utf-8")
    if name.endswith(".ipynb"):
        text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
    return [line.strip() for line in text.splitlines()]


def _regions(lines: list[str]) -> list[list[str]]:
    """The stripped, non-empty lines of each BEGIN/END SOLUTION region."""
    regions, current = [], None
    for line in lines:
        stripped = line.strip()
        if stripped.endswith("BEGIN SOLUTION"):
            current = []
        elif stripped.endswith("END SOLUTION"):
            regions.append(current)
            current = None
        elif current is not None and stripped:
            current.append(stripped)
    return regions


def _notebook_given_lines() -> set[str]:
    """The lines of the source notebooks outside their solution regions (code and text students get)."""
    given = set()
    for homework in available():
        nb = json.loads((KIT_ROOT / load_spec(homework).notebook).read_text())
        for cell in nb["cells"]:
            lines = "".join(cell["source"]).splitlines()
            inside = {line for region in _regions(lines) for line in region}
            given.update(line.strip() for line in lines if line.strip() not in inside)
    return given


def _solution_regions() -> list[list[str]]:
    regions = []
    for path in sorted([*(KIT_ROOT / "solutions").rglob("*.py"), *(KIT_ROOT / "solutions").rglob("*.md")]):
        regions += _regions(path.read_text().splitlines())
    for homework in available():
        nb = json.loads((KIT_ROOT / load_spec(homework).notebook).read_text())
        for cell in nb["cells"]:
            regions += _regions("".join(cell["source"]).splitlines())
    return regions


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    files = write_release(root / "aekit-student", root / "aekit-student.zip")
    lines = {name: _text_lines(name, content) for name, content in files.items()}
    return root / "aekit-student", root / "aekit-student.zip", files, lines


def test_release_holds_what_students_need(release):
    folder, archive, files, _ = release
    for name in ("README.md", "requirements.txt", "zipsrc.py", "zipout.py", "data/store.py", "data/mnist.py",
                 "autograder/check.py", "autograder/__main__.py"):
        assert name in files, name
    for homework in available():
        spec = load_spec(homework)
        assert f"notebooks/{homework}.ipynb" in files
        for part in ("spec.py", "agent.py", "public.py"):
            assert f"autograder/homeworks/{homework}/{part}" in files
        for path in stencil_files(homework):
            assert path.relative_to(KIT_ROOT).as_posix() in files
        where = f"stencil/{homework}/" + (f"{spec.student_dir}/" if spec.student_dir else "")
        assert all(where + name in files for name in spec.source_files), homework
    assert "torch==2.13.0" in files["requirements.txt"].decode()
    readme = files["README.md"].decode()
    assert "{homework_table}" not in readme and "python -m pip install -r requirements.txt" in readme
    with zipfile.ZipFile(archive) as opened:
        assert sorted(n.split("/", 1)[1] for n in opened.namelist()) == sorted(files)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(files)


def test_release_notebooks_are_student_versions(release):
    _, _, files, lines = release
    for homework in available():
        nb = json.loads(files[f"notebooks/{homework}.ipynb"])
        answers = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
        checks = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")
                  and not c["metadata"]["nbgrader"].get("solution")]
        assert answers and checks, homework
        assert all("YOUR ANSWER HERE" in "".join(c["source"]) for c in answers), homework
        assert all(c["metadata"]["nbgrader"].get("checksum") for c in checks), "nbgrader needs checksums"
        assert all(c.get("outputs", []) == [] for c in nb["cells"] if c["cell_type"] == "code")
    for name, text in lines.items():
        assert not any(line.endswith(("BEGIN SOLUTION", "END SOLUTION")) for line in text), name


def _solution_leaks(lines: dict[str, list[str]]) -> list[str]:
    """Every reference-solution line (or pair of consecutive short lines) found in ``lines``."""
    regions = _solution_regions()
    assert sum(len(r) for r in regions) > 200, "found too few solution lines: is the search broken?"
    # Lines students are given anyway: the stencils (outside every solution region), the notebooks'
    # other cells, and the kit's public modules (an agent calls `x_hat, mu, logvar = model(x)` too).
    given = _notebook_given_lines()
    for homework in available():
        for text in stencil_files(homework).values():
            given.update(_text_lines("x.ipynb" if text.lstrip().startswith("{") else "x.py", text.encode()))
    for name in lines:
        if name.startswith(("autograder/", "data/")) and name.endswith(".py") and (KIT_ROOT / name).is_file():
            given.update(line.strip() for line in (KIT_ROOT / name).read_text().splitlines())
    everywhere = {line for text in lines.values() for line in text}
    pairs = {(a, b) for text in lines.values() for a, b in zip(text, text[1:])}
    leaks = []
    for region in regions:
        for line in region:
            if line not in given and len(line) >= GENERIC and line in everywhere:
                leaks.append(line)
        for a, b in zip(region, region[1:]):
            if not (a in given and b in given) and (a, b) in pairs:
                leaks.append(f"{a} / {b}")
    return leaks


def test_no_reference_solution_line_is_in_the_release(release):
    leaks = _solution_leaks(release[3])
    assert not leaks, "reference-solution lines in the release:\n" + "\n".join(leaks[:20])


def test_the_leak_search_finds_a_planted_solution_line(release):
    source = (KIT_ROOT / "solutions" / "hw4" / "vae.py").read_text().splitlines()
    region = _regions(source)[0]
    long_line = next(line for line in region if len(line) >= GENERIC)
    planted = dict(release[3])
    planted["stencil/hw4/vae.py"] = planted["stencil/hw4/vae.py"] + [long_line]
    assert long_line in _solution_leaks(planted)
    answer = next(r for r in _solution_regions() if any("Full marks" in line for line in r))
    planted = dict(release[3])
    planted["notebooks/hw4.ipynb"] = planted["notebooks/hw4.ipynb"] + answer[:2]
    assert _solution_leaks(planted), "a reference answer copied into a notebook went unnoticed"


def test_no_hidden_test_or_grader_module_is_in_the_release(release):
    _, _, files, lines = release
    names = {Path(name).name for name in files}
    assert not names & set(PRIVATE_MODULES) - {"submission.py"} and not names & set(GRADER_VERBS)
    assert not any(name.startswith(("solutions/", "tests/", "nbgrader/", "benchmarks/", "autograder/models/"))
                   for name in files)
    # The only weights shipped are the released MNIST classifier's, and they are not the grader's.
    weights = [name for name in files if name.endswith((".pt", ".pth", ".npy", ".npz", ".gz"))]
    assert weights == ["autograder/homeworks/hw4/check_classifier.pt"]
    from autograder.models import mnist_classifier

    released = hashlib.sha256(files[weights[0]]).hexdigest()
    assert released == json.loads(files["autograder/homeworks/hw4/check_classifier.json"])["sha256"]
    assert released != mnist_classifier.sha256(mnist_classifier.WEIGHTS)
    assert files[weights[0]] != mnist_classifier.WEIGHTS.read_bytes()
    private = [p for p in (KIT_ROOT / "autograder").rglob("*.py")
               if p.name in PRIVATE_MODULES + GRADER_VERBS or "models" in p.parts]
    assert len(private) >= 15
    shipped = {line for text in lines.values() for line in text}
    public = _notebook_given_lines()
    for name in files:
        source = KIT_ROOT / name
        if source.is_file() and name.endswith(".py"):
            public.update(line.strip() for line in source.read_text().splitlines())
    leaks = []
    for path in private:
        for line in path.read_text().splitlines():
            line = line.strip()
            if len(line) >= 30 and line not in public and line in shipped:
                leaks.append(f"{path.relative_to(KIT_ROOT)}: {line}")
    assert not leaks, "grader-only lines in the release:\n" + "\n".join(leaks[:20])


def test_the_release_is_reproducible(release, tmp_path):
    _, archive, _, _ = release
    write_release(tmp_path / "aekit-student", tmp_path / "again.zip")
    assert (tmp_path / "again.zip").read_bytes() == archive.read_bytes()


def test_release_refuses_to_overwrite_a_folder_that_is_not_a_release(tmp_path):
    from autograder.release import ReleaseError

    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ReleaseError, match="not an earlier release"):
        write_release(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def _student_env(home: Path) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key in ("PATH", "LANG", "LC_ALL", "TMPDIR", "AEKIT_DATA")}
    env.update(HOME=str(home), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               AEKIT_CACHE=str(KIT_ROOT / "data" / "cache"))
    if store.data_root():  # offline here: the course's copy of the data
        env["AEKIT_DATA"] = store.data_root()
    return env


def test_a_new_student_checks_and_zips_homework_4_from_the_unpacked_release(release, tmp_path):
    """As a new user: unzip, run the public checks (they fail on the stencil and say why), write the
    code, check again, and package the submission; the kit's grader accepts the zip."""
    _, archive, _, _ = release
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(tmp_path)
    kit = tmp_path / "aekit-student"
    env = _student_env(tmp_path)

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=kit, env=env, capture_output=True, text=True, timeout=300)

    first = run("-m", "autograder", "check", "hw4")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "NotImplementedError: TODO: fill in reparametrize (vae.py)" in first.stdout
    assert f"0 of {len(load_checks('hw4'))} checks passed" in first.stdout
    assert "Traceback (most recent call last)" not in first.stderr

    for name in ("vae.py", "assignment.py"):
        shutil.copyfile(KIT_ROOT / "solutions" / "hw4" / name, kit / "stencil" / "hw4" / name)
    second = run("-m", "autograder", "check", "hw4")
    # Every check passes but the one that scores a trained CVAE's samples, which says how to train it.
    assert f"{len(load_checks('hw4')) - 1} of {len(load_checks('hw4'))} checks passed" in second.stdout, second.stdout
    assert "FAIL  CVAE samples" in second.stdout and "assignment.py --is_cvae" in second.stdout
    assert "Traceback (most recent call last)" not in second.stderr

    packed = run("zipsrc.py", "hw4")
    assert packed.returncode == 0, packed.stdout + packed.stderr
    zips = list(kit.glob("*.zip"))
    assert len(zips) == 1
    with zipfile.ZipFile(zips[0]) as opened:
        assert {"vae.py", "assignment.py", "hw4.ipynb"} <= {Path(n).name for n in opened.namelist()}

    from autograder.pipeline.unpack import unpacked

    with unpacked(zips[0], load_spec("hw4").source_files) as folder:
        assert (folder / "vae.py").read_bytes() == (KIT_ROOT / "solutions" / "hw4" / "vae.py").read_bytes()
