"""Package a homework's outputs (loss records and figures) into one zip to upload.

    python zipout.py hw4                          # stencil/hw4/outputs/... -> hw4_outputs.zip
    python zipout.py hw4 --dir FOLDER --out FILE.zip

The files are the homework's ``output_files`` (see its spec), stored under the same relative
paths. Nothing is written unless all exist and pass their checks (``autograder/packaging.py``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

from autograder.homeworks import hook  # noqa: E402
from autograder.packaging import (MAX_OUTPUT_BYTES, PackagingError, check_allowed,  # noqa: E402
                                  check_loss_json, check_png, check_size, package, show,
                                  spec_or_error)


def run_hint(spec, folder: Path) -> str:
    """How to produce the outputs: ``spec.extra['run']`` (commands relative to the folder)."""
    hints = []
    for command in spec.extra.get("run") or (spec.source_files[-1],):
        script, _, options = command.partition(" ")
        hints.append(f"`python {show(folder / script)}{' ' + options if options else ''}`")
    return " and ".join(hints)


def collect(spec, folder: Path) -> list[tuple[str, Path]]:
    """Return the ``(name in zip, file)`` pairs to package, after checking every file."""
    if not folder.is_dir():
        raise PackagingError(f"the folder {show(folder)} does not exist. Pass your homework "
                             "folder with --dir.")
    members = [(name, folder / name) for name in spec.output_files]
    missing = [show(path) for _, path in members if not path.exists() and not path.is_symlink()]
    if missing:
        raise PackagingError(f"{len(missing)} output file(s) missing: {', '.join(missing)}. "
                             f"Run the homework first ({run_hint(spec, folder)}), then run this again.")
    for _, path in members:
        check_allowed(path)
        check_size(path, MAX_OUTPUT_BYTES)
        if path.suffix.lower() == ".json":
            check_loss_json(path)
        elif path.suffix.lower() == ".png":
            check_png(path)
    return members


def main(argv=None) -> int:
    """Command line entry point; returns the exit code (0 done, 1 refused)."""
    parser = argparse.ArgumentParser(description="Package a homework's outputs.")
    parser.add_argument("homework", help="e.g. hw4")
    parser.add_argument("--dir", help="your homework folder (default: the kit's stencil/HW)")
    parser.add_argument("--out", help="zip to write (default: HW_outputs.zip here)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    try:
        spec = spec_or_error(args.homework)
    except PackagingError as err:
        print(f"Cannot package: {err}", file=sys.stderr)
        return 1
    hooks = hook(spec.packaging) if spec.packaging else None
    out = Path(args.out or getattr(hooks, "OUTPUT_ZIP", f"{args.homework}_outputs.zip"))

    def members():
        if hasattr(hooks, "collect_outputs"):
            return hooks.collect_outputs(spec, args)
        return collect(spec, Path(args.dir) if args.dir else spec.student_folder)
    return package(out, members, args.homework, "output files", "outputs", width=30)

if __name__ == "__main__":
    sys.exit(main())
