"""``python -m autograder release --out DIR [--zip FILE]``: the student release of every homework.

Everything is made from the kit's single source at the moment of the release:

- ``stencil/hwN/``: the stencil files, generated afresh from ``solutions/hwN/`` (solution regions
  become ``NotImplementedError``; see :mod:`autograder.stencil`);
- ``notebooks/hwN.ipynb``: the student version of each source notebook, made with nbgrader's own
  preprocessors (reference answers become ``YOUR ANSWER HERE``, outputs are cleared, graded cells
  are locked and checksummed, so nbgrader can autograde what students hand back);
- the public side of the autograder, enough for ``python -m autograder check hwN``: the check verb,
  the process that runs student code and its protocol, and each homework's ``spec``, ``agent`` and
  ``public`` checks, its ``hooks.py`` and the files its spec lists in ``agent_files`` and
  ``release_files``;
- ``data/*.py`` (the loaders, never the cached data), ``zipsrc.py``, ``zipout.py``, and the student
  ``README.md`` and ``requirements.txt`` from ``autograder/student/``.

Which kit files those are is decided by the manifest in :mod:`autograder.homeworks`
(:func:`~autograder.homeworks.student_files`), the one the sandbox and the Gradescope bundle read.
Nothing else goes in: no reference solution, no hidden test, no grader verb (grade, batch,
gradescope), no measurement code, no model weights, no course or test files. The release is checked
against that list before it is written.
"""
from __future__ import annotations

import io
import shutil
import sys
import time
import zipfile
from pathlib import Path

from .homeworks import KIT_ROOT, available, load_spec, student_files
from .stencil import stencil_files, student_notebook

STUDENT_TEMPLATES = KIT_ROOT / "autograder" / "student"
# Never in a release, whatever the manifest says (the grader's side of every homework): a second,
# independent check.
FORBIDDEN_NAMES = ("hidden.py", "measure.py", "grade.py", "batch.py", "gradescope.py", "prefetch.py",
                   "course.py", "release.py", "stencil.py", "submission.py")
FORBIDDEN_PARTS = ("solutions", "tests", "models", "nbgrader", "benchmarks", "cache")
# A zip entry's date: fixed, so the same kit always gives the same release zip.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


class ReleaseError(RuntimeError):
    pass


def _homework_table() -> str:
    rows = ["| homework | notebook | your files |", "|---|---|---|"]
    for homework in available():
        spec = load_spec(homework)
        where = f"stencil/{homework}/" + (f"{spec.student_dir}/" if spec.student_dir else "")
        files = ", ".join(f"`{where}{name}`" for name in spec.source_files)
        rows.append(f"| {spec.title} | `notebooks/{homework}.ipynb` | {files} |")
    return "\n".join(rows)


def release_files() -> dict[str, bytes]:
    """``{path in the release: content}``, everything generated from the kit's source now."""
    files: dict[str, bytes] = {}
    for relative in student_files():
        files[relative.as_posix()] = (KIT_ROOT / relative).read_bytes()
    for homework in available():
        for path, text in stencil_files(homework).items():
            files[path.relative_to(KIT_ROOT).as_posix()] = text.encode()
        spec = load_spec(homework)
        files[f"notebooks/{homework}.ipynb"] = student_notebook((KIT_ROOT / spec.notebook).read_text()).encode()
    files["requirements.txt"] = (STUDENT_TEMPLATES / "requirements.txt").read_bytes()
    readme = (STUDENT_TEMPLATES / "README.md").read_text().replace("{homework_table}", _homework_table())
    files["README.md"] = readme.encode()
    _refuse_grader_files(files)
    return dict(sorted(files.items()))


def _refuse_grader_files(files: dict[str, bytes]) -> None:
    bad = [name for name in files
           if Path(name).name in FORBIDDEN_NAMES or any(part in FORBIDDEN_PARTS for part in Path(name).parts[:-1])]
    if bad:
        raise ReleaseError("the release would hold grader files: " + ", ".join(bad))


def write_release(out: Path, zip_path: Path | None = None) -> dict[str, bytes]:
    """Write the release into the folder ``out`` (replacing it) and, if asked, into a zip."""
    files = release_files()
    out = Path(out)
    if out.exists():
        if not (out / "README.md").is_file() or not (out / "stencil").is_dir():
            raise ReleaseError(f"{out} exists and is not an earlier release; choose an empty or new folder")
        shutil.rmtree(out)
    for relative, content in files.items():
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    if zip_path is not None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            for relative, content in files.items():
                info = zipfile.ZipInfo(f"{out.name}/{relative}", date_time=ZIP_DATE)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, content)
        Path(zip_path).parent.mkdir(parents=True, exist_ok=True)
        Path(zip_path).write_bytes(buffer.getvalue())
    return files


def main(args) -> int:
    start = time.monotonic()
    out = Path(args.out)
    zip_path = Path(args.zip) if args.zip else None
    try:
        files = write_release(out, zip_path)
    except ReleaseError as err:
        print(f"Cannot make the release: {err}", file=sys.stderr)
        return 1
    size = sum(len(content) for content in files.values())
    print(f"Wrote the student release to {out}: {len(files)} files, {size / 1e6:.2f} MB, "
          f"in {time.monotonic() - start:.1f} s.")
    if zip_path is not None:
        print(f"Zipped it to {zip_path} ({zip_path.stat().st_size / 1e6:.2f} MB).")
    return 0
