"""The course's nbgrader set-up, built from the kit's single source.

``nbgrader/`` at the kit's root is an nbgrader course folder. Its ``nbgrader_config.py`` calls
:func:`configure`, which

- (re)builds ``nbgrader/source/hwN/`` from the kit: the homework's notebook (``notebooks/hwN.ipynb``,
  with its solution regions, written-answer cells and autograded check cells) as ``hwN.ipynb``, and
  the student's stencil files (``stencil/hwN/``), so the course folder can never drift from the kit;
- keeps nbgrader from replacing the ``.py`` files students hand in with the stencil's copies
  (``Autograde.exclude_overwriting``);
- uses the same solution stubs as the kit's own student notebooks (:data:`stencil.NBGRADER_SETTINGS`).

A TA then runs, inside ``nbgrader/``::

    nbgrader generate_assignment hw4     # release/hw4/: the student notebook and stencil files
    nbgrader autograde hw4               # grades submitted/<student>/hw4/
"""
from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from .homeworks import KIT_ROOT, available, load_spec
from .stencil import GENERATED, NBGRADER_SETTINGS

COURSE_ID = "aekit"
# nbgrader's default per-cell limit. The notebooks stay under it: when nbgrader runs them it sets
# NBGRADER_EXECUTION, and every training cell then runs a short version (like AEKIT_QUICK=1).
CELL_TIMEOUT = 30


def source_files(homework: str) -> dict[str, Path]:
    """``{path in source/hwN: file of the kit}`` for one homework."""
    spec = load_spec(homework)
    files = {f"{homework}.ipynb": KIT_ROOT / spec.notebook}
    for path in sorted(spec.stencil_dir.rglob("*")):
        relative = path.relative_to(spec.stencil_dir)
        if path.is_file() and path.suffix != ".ipynb" and not any(part in GENERATED for part in relative.parts):
            files[relative.as_posix()] = path
    return files


def build_source(folder: Path) -> list[str]:
    """Make ``folder/hwN/`` hold exactly :func:`source_files` for every homework; returns what changed."""
    changed = []
    for homework in available():
        wanted = source_files(homework)
        target = Path(folder) / homework
        for relative, origin in wanted.items():
            destination = target / relative
            if destination.is_file() and filecmp.cmp(origin, destination, shallow=False):
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(origin, destination)
            changed.append(f"{homework}/{relative}")
        if target.is_dir():
            for path in sorted(target.rglob("*"), reverse=True):
                relative = path.relative_to(target).as_posix()
                if path.is_file() and relative not in wanted and not any(p in GENERATED for p in Path(relative).parts):
                    path.unlink()
                    changed.append(f"{homework}/{relative} (removed)")
    return changed


def exclude_overwriting() -> dict[str, list[str]]:
    """The files of each homework that nbgrader's autograde must take from the student, not from source/."""
    table = {}
    for homework in available():
        spec = load_spec(homework)
        prefix = Path(spec.student_dir) if spec.student_dir else Path()
        table[homework] = [(prefix / name).as_posix() for name in spec.source_files if name.endswith(".py")]
    return table


def configure(c, course_root: Path) -> None:
    """Fill nbgrader's config object ``c`` for the course folder ``course_root``."""
    course_root = Path(course_root).resolve()
    build_source(course_root / "source")
    c.CourseDirectory.root = str(course_root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.ignore = sorted({*GENERATED, "*.pyc", "feedback", ".*"})
    c.Autograde.exclude_overwriting = exclude_overwriting()
    c.Execute.timeout = CELL_TIMEOUT
    for section, values in NBGRADER_SETTINGS.items():
        for key, value in values.items():
            setattr(c[section], key, value)
