"""Make the student stencil from the reference solution.

The reference solutions in ``solutions/hwN/`` are the source of truth. Each solution region sits
between a ``### BEGIN SOLUTION`` line and a ``### END SOLUTION`` line (nbgrader's convention). The
stencil keeps everything else and replaces each region by a ``raise NotImplementedError`` naming
the function the student must finish, at the region's indentation.

    python -m autograder.stencil hw4            # rewrite stencil/hw4 from solutions/hw4
    python -m autograder.stencil hw4 --check    # exit 1 if stencil/hw4 has drifted
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_DEF = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)")


def strip_solutions(source: str, filename: str = "<source>") -> str:
    """Return ``source`` with every solution region replaced by a NotImplementedError."""
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
            out.append(f'{indent}raise NotImplementedError("TODO: fill in {where} ({Path(filename).name})")\n')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{filename}:{number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{filename}: {BEGIN} is never closed")
    return "".join(out)


def stencil_files(homework: str) -> dict[Path, str]:
    """Map each stencil path of ``homework`` to the text it should have."""
    source_dir = KIT_ROOT / "solutions" / homework
    files = {}
    for path in sorted(source_dir.rglob("*.py")):
        if "__pycache__" in path.parts or any(part in ("outputs", "checkpoints") for part in path.relative_to(source_dir).parts):
            continue
        target = KIT_ROOT / "stencil" / homework / path.relative_to(source_dir)
        files[target] = strip_solutions(path.read_text(), str(path))
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.stencil", description=__doc__.split("\n\n")[0])
    parser.add_argument("homework")
    parser.add_argument("--check", action="store_true", help="only report drift; change nothing")
    args = parser.parse_args(argv)
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
