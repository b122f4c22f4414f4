"""Make the student stencil from the reference solution.

The reference solutions in ``solutions/hwN/`` and the notebooks in ``notebooks/`` are the source of
truth. Each solution region sits between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION``
line (nbgrader's convention, in ``.py`` files and notebooks alike).

- In a ``.py`` file the stencil keeps everything else and replaces each region by a
  ``raise NotImplementedError`` naming the function the student must finish, at the region's
  indentation.
- A Markdown file (a write-up template such as hw4's ``README.md``) keeps everything else and
  replaces each region by the answer stub ``YOUR ANSWER HERE``, as nbgrader does in a notebook.
- A notebook goes through the same steps as nbgrader's ``generate_assignment`` (nbgrader's own
  preprocessors, with the course's settings from :data:`NBGRADER_SETTINGS`): solution regions
  become ``YOUR ANSWER HERE`` / a ``NotImplementedError``, outputs are cleared, graded cells are
  locked and checksummed, so a notebook from the student release can be autograded by nbgrader.

    python -m autograder stencil hw4            # rewrite stencil/hw4 from solutions/hw4
    python -m autograder stencil hw4 --check    # exit 1 if stencil/hw4 has drifted
"""
from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path

from autograder.packaging import ANSWER_STUB

KIT_ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
# Folders a homework's code or Jupyter writes into; never part of a stencil or a release.
GENERATED = ("outputs", "checkpoints", "__pycache__", ".ipynb_checkpoints")
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)")


def strip_solutions(source: str, filename: str = "<source>", stub: str | None = None) -> str:
    """Return ``source`` with every solution region replaced by a NotImplementedError (or, when
    ``stub`` is given, by that line)."""
    out: list[str] = []
    inside = False
    owners: list[tuple[int, str]] = []  # (indent, name) of enclosing defs/classes
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        match = _DEF.match(line)
        if match and not inside:
            indent = len(line) - len(line.lstrip())
            owners = [o for o in owners if o[0] < indent] + [(indent, match.group(1))]
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{filename}:{number}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            where = ".".join(name for _, name in owners) or "this part"
            out.append(f"{indent}{stub}\n" if stub is not None else
                       f'{indent}raise NotImplementedError("TODO: fill in {where} ({Path(filename).name})")\n')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{filename}:{number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{filename}: {BEGIN} is never closed")
    return "".join(out)


# Settings shared by the nbgrader course (nbgrader/nbgrader_config.py) and student_notebook().
NBGRADER_SETTINGS = {
    "ClearSolutions": {
        "code_stub": {"python": "# TODO: your code here\nraise NotImplementedError()"},
        "text_stub": ANSWER_STUB,
        "begin_solution_delimeter": "BEGIN SOLUTION",
        "end_solution_delimeter": "END SOLUTION",
    },
}


def student_notebook(text: str) -> str:
    """The student version of a source notebook (JSON text in, JSON text out), as nbgrader's
    ``generate_assignment`` makes it (without writing to nbgrader's database)."""
    import nbformat
    from nbgrader.preprocessors import (CheckCellMetadata, ClearHiddenTests, ClearMarkScheme, ClearOutput,
                                        ClearSolutions, ComputeChecksums, IncludeHeaderFooter, LockCells)
    from traitlets.config import Config

    config = Config(copy.deepcopy(NBGRADER_SETTINGS))
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    resources: dict = {}
    steps = (IncludeHeaderFooter, LockCells, ClearSolutions, ClearOutput, CheckCellMetadata, ComputeChecksums,
             ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata)
    for step in steps:
        nb, resources = step(config=config).preprocess(nb, resources)
    return nbformat.writes(nb) + "\n"


def is_source_notebook(text: str) -> bool:
    """Whether a notebook has solution regions or nbgrader cells (so it needs a student version)."""
    cells = json.loads(text).get("cells", [])
    return any("nbgrader" in cell.get("metadata", {}) or "BEGIN SOLUTION" in "".join(cell.get("source", ""))
               for cell in cells)


def stencil_files(homework: str) -> dict[Path, str]:
    """Map each stencil path of ``homework`` to the text it should have."""
    source_dir = KIT_ROOT / "solutions" / homework
    files = {}
    for path in sorted(source_dir.rglob("*")):
        if path.suffix not in (".py", ".ipynb", ".md") or any(part in GENERATED for part in path.relative_to(source_dir).parts):
            continue
        target = KIT_ROOT / "stencil" / homework / path.relative_to(source_dir)
        text = path.read_text()
        if path.suffix == ".py":
            files[target] = strip_solutions(text, str(path))
        elif path.suffix == ".md":
            files[target] = strip_solutions(text, str(path), stub=ANSWER_STUB)
        else:
            files[target] = student_notebook(text) if is_source_notebook(text) else text
    return files


def main(args=None) -> int:
    """The ``stencil`` verb; ``args`` are its parsed arguments or an argument list."""
    from .cli import parse_verb

    args = parse_verb("stencil", args)
    drift = []
    for path, text in stencil_files(args.homework).items():
        current = path.read_text() if path.is_file() else None
        if current == text:
            continue
        drift.append(path)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for path in drift:
        print(("drifted: " if args.check else "wrote: ") + str(path.relative_to(KIT_ROOT)))
    return 1 if (args.check and drift) else 0


if __name__ == "__main__":
    sys.exit(main())
