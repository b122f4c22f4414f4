"""Package a homework's source code and notebook into one zip to upload.

    python zipsrc.py hw4                          # stencil/hw4 + notebooks/hw4.ipynb -> hw4_source.zip
    python zipsrc.py hw4 --dir FOLDER --notebook PATH --include EXTRA ... --out FILE.zip

The zip is flat: the homework's required files (``vae.py``, ``assignment.py`` for hw4), the
notebook, the write-ups the homework asks for (hw4's ``README.md``), any other helper modules at
the top of FOLDER and the files given with --include. Nothing is written unless every file passes
its checks (see ``autograder/packaging.py``). It then warns, without refusing, when the notebook
has no outputs or unanswered questions, or a write-up is missing or still the template.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

from autograder.homeworks import hook  # noqa: E402
from autograder.packaging import (MAX_NOTEBOOK_BYTES, MAX_OTHER_BYTES, MAX_PY_BYTES,  # noqa: E402
                                  PackagingError, check_allowed, check_notebook, check_python,
                                  check_size, package, show, source_warnings, spec_or_error)


def collect(spec, folder: Path, notebook: Path, extras: list[str]) -> list[tuple[str, Path]]:
    """Return the ``(name in zip, file)`` pairs to package, after checking every file."""
    if not folder.is_dir():
        raise PackagingError(f"the folder {show(folder)} does not exist. Pass your homework "
                             "folder with --dir.")
    members = []
    for name in spec.source_files:
        path = folder / name
        if not path.exists() and not path.is_symlink():
            raise PackagingError(f"{show(path)} is missing. {spec.name} needs "
                                 f"{', '.join(spec.source_files)} in {show(folder)}; restore it "
                                 "there or pass the folder that holds them with --dir.")
        members.append((name, path))
    if not notebook.exists() and not notebook.is_symlink():
        raise PackagingError(f"the notebook {show(notebook)} was not found. Save your notebook "
                             "there or pass its path with --notebook.")
    members.append((Path(spec.notebook).name, notebook))
    members += [(name, folder / name) for name in spec.extra.get("documents", ())
                if (folder / name).exists() or (folder / name).is_symlink()]
    helpers = {p for pattern in spec.optional_source_globs for p in folder.glob(pattern)
               if p.name not in spec.source_files and (p.is_file() or p.is_symlink())}
    members += [(p.name, p) for p in sorted(helpers)]
    members += [(Path(extra).name, Path(extra)) for extra in extras]
    for _, path in members:
        check_allowed(path)
        suffix = path.suffix.lower()
        if suffix == ".py":
            check_size(path, MAX_PY_BYTES)
            check_python(path)
        elif suffix == ".ipynb":
            check_size(path, MAX_NOTEBOOK_BYTES)
            check_notebook(path)
        else:
            check_size(path, MAX_OTHER_BYTES)
    return members


def main(argv=None) -> int:
    """Command line entry point; returns the exit code (0 done, 1 refused)."""
    parser = argparse.ArgumentParser(description="Package a homework's source and notebook.")
    parser.add_argument("homework", help="e.g. hw4")
    parser.add_argument("--dir", help="your homework folder (default: the kit's stencil/HW)")
    parser.add_argument("--notebook", help="your notebook (default: the kit's notebooks/HW.ipynb)")
    parser.add_argument("--include", nargs="+", default=[], metavar="EXTRA",
                        help="extra files to add (small text or code files only)")
    parser.add_argument("--out", help="zip to write (default: HW_source.zip here)")
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
    out = Path(args.out or getattr(hooks, "SOURCE_ZIP", f"{args.homework}_source.zip"))

    def members():
        if hasattr(hooks, "collect_source"):
            return hooks.collect_source(spec, args)
        folder = Path(args.dir) if args.dir else spec.student_folder
        notebook = Path(args.notebook) if args.notebook else KIT_ROOT / spec.notebook
        return collect(spec, folder, notebook, args.include)
    return package(out, members, args.homework, "files", "source",
                   warn=lambda found: source_warnings(spec, found, hooks))

if __name__ == "__main__":
    sys.exit(main())
