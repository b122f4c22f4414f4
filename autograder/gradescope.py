"""``python -m autograder gradescope HW --out dist/HW_gradescope.zip``

Builds the autograder zip to upload to a Gradescope programming assignment. Gradescope unpacks it
into ``/autograder/source``, runs ``setup.sh`` there once (as root, when it builds the image), then
runs ``/autograder/run_autograder`` for every submission, which must leave
``/autograder/results/results.json``.

The bundle holds the grader (``autograder/`` with this homework's folder only, hidden tests and
grader weights included) and the data loaders (``data/*.py``), as the manifest in
:mod:`autograder.homeworks` lists them (:func:`~autograder.homeworks.grader_files`), and two scripts:

- ``setup.sh`` installs Python packages pinned for the CPU (``AEKIT_SKIP_INSTALL=1`` skips this),
  names the sandbox's first user id ``aekit-student``, fetches the homework's data into
  ``/autograder/data`` (readable by the sandbox), and makes the grader's own files readable by root
  only;
- ``run_autograder`` grades ``/autograder/submission`` into ``/autograder/results/results.json``
  with as many trainings side by side as the box it finds holds (:mod:`autograder.box`: its cores
  and memory; ``AEKIT_JOBS``, or ``--jobs`` when the bundle is built, forces a number); if the
  grader itself fails, it still writes a results.json that says so. ``setup.sh`` logs the box the
  homework needs and the box it found.

Both read ``AUTOGRADER_ROOT`` (default ``/autograder``) and ``AEKIT_PYTHON`` (default the virtual
environment ``setup.sh`` makes), so the bundle can be tried locally under a temporary root.
"""
from __future__ import annotations

import os
import sys
import zipfile
from pathlib import Path

from . import box
from .homeworks import KIT_ROOT, grader_files, load_spec

GRADER_REQUIREMENTS = """\
# The grader's own packages (students' notebooks need more; see the kit's requirements.txt).
numpy>=1.26
scipy>=1.11
scikit-learn>=1.4
pillow>=10.0
matplotlib>=3.8
tqdm>=4.66
"""

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source. See autograder/gradescope.py.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SRC="$ROOT/source"
if [ -z "${{AEKIT_SKIP_INSTALL:-}}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q python3 python3-venv python3-pip {apt_packages}
    python3 -m venv "$ROOT/venv"
    "$ROOT/venv/bin/pip" install -q --upgrade pip
    # The CPU wheel: an unpinned torch would pull several GB of CUDA packages.
    "$ROOT/venv/bin/pip" install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    "$ROOT/venv/bin/pip" install -q -r "$SRC/requirements-grader.txt"
    chmod -R a+rX "$ROOT/venv"
fi
PY="${{AEKIT_PYTHON:-$ROOT/venv/bin/python}}"

# The sandbox runs student code under user ids from 61000 up; give the first one a name.
if [ "$(id -u)" = 0 ] && ! getent passwd aekit-student >/dev/null; then
    useradd --system --uid 61000 --no-create-home --home-dir /nonexistent \\
        --shell /usr/sbin/nologin aekit-student 2>/dev/null || true
fi

# Data the student's code may read lives outside the grader's private files.
mkdir -p "$ROOT/data"
(cd "$SRC" && AEKIT_CACHE="$ROOT/data" "$PY" -m autograder prefetch {homework})
chmod -R a+rX "$ROOT/data"
# ... all but the grader's own data kept between gradings (autograder/pipeline/kept.py): root's alone.
if [ -d "$ROOT/data/grader" ]; then chmod -R go-rwx "$ROOT/data/grader"; fi
chmod a+x "$ROOT"

# The grader's own files (hidden tests, weights) are root's alone.
chmod -R go-rwx "$SRC"
echo "setup.sh: {homework} grader ready"
echo "setup.sh: {box_note}"
"$PY" -m autograder.box --most {most} | sed 's/^/setup.sh: this box: /' || true
"""

# Each reference graded on a 2-core machine, otherwise idle: wall seconds and peak memory (PSS of the
# grader and all its student processes), with one training at a time and with two
# (``python benchmarks/grading_footprint.py``; README's table of figures).
MEASURED = {
    "hw1": {1: (42, 618), 2: (23, 783)},
    "hw2": {1: (45, 721), 2: (24, 918)},
    "hw3": {1: (60, 634), 2: (53, 659)},
    "hw4": {1: (207, 631), 2: (113, 821)},
    "hw5": {1: (56, 636), 2: (52, 675)},
}


def box_note(homework: str, most: int) -> str:
    """What box the homework needs and how long a grading takes there, for setup.sh's log."""
    parts = []
    for jobs in sorted({1, most}):
        seconds, peak = MEASURED.get(homework, {}).get(jobs, (None, None))
        took = f"about {seconds:.0f} s, peak {peak:.0f} MB (measured)" if seconds else "time not measured"
        chosen = "any box" if jobs == 1 else f"chosen from {jobs} cores and {box.memory_needed_mb(jobs)} MB"
        parts.append(f"{jobs} training(s) at a time ({chosen}): {took}")
    return f"{homework}: " + "; ".join(parts)


RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission. See autograder/gradescope.py.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{AEKIT_PYTHON:-$ROOT/venv/bin/python}}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
cd "$ROOT/source"
# Trainings side by side: as many as the box's cores and memory hold (at most {most});
# AEKIT_JOBS forces a number.
JOBS="$(AEKIT_JOBS="${{AEKIT_JOBS:-{forced}}}" "$PY" -m autograder.box --jobs --most {most} 2>/dev/null || echo 1)"
# A GPU where the box has one (AEKIT_GRADER_DEVICE=cpu or cuda forces it).
DEVICE="${{AEKIT_GRADER_DEVICE:-auto}}"
echo "run_autograder: grading {homework} with --jobs $JOBS --device $DEVICE"
AEKIT_CACHE="$ROOT/data" AEKIT_OFFLINE=1 "$PY" -m autograder grade {homework} "$ROOT/submission" \\
    --out "$RESULTS" --jobs "$JOBS" --device "$DEVICE" --quiet
status=$?
if [ ! -s "$RESULTS" ]; then
    # The grader itself failed: still tell the student something true.
    printf '%s\\n' '{{"score": 0, "output": "The autograder could not finish grading this submission (exit code '"$status"'). This is not a score: your course staff have been told and will grade it.", "visibility": "visible", "tests": []}}' > "$RESULTS"
fi
exit 0
"""


def members(homework: str, jobs: int | None = None) -> list[tuple[str, Path | bytes]]:
    """``(name in the zip, file or bytes)`` for the bundle of ``homework``."""
    spec = load_spec(homework)
    files: list[tuple[str, Path | bytes]] = [(str(path), KIT_ROOT / path) for path in grader_files(homework)]
    apt = " ".join(spec.apt_packages)
    most = spec.gradescope_jobs
    files.append(("setup.sh", SETUP_SH.format(homework=homework, apt_packages=apt, most=most,
                                              box_note=box_note(homework, most)).encode()))
    files.append(("run_autograder", RUN_AUTOGRADER.format(homework=homework, most=most,
                                                          forced=jobs or "").encode()))
    files.append(("requirements-grader.txt", GRADER_REQUIREMENTS.encode()))
    return files


def build(homework: str, out: Path, jobs: int | None = None) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, source in members(homework, jobs):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = name in ("setup.sh", "run_autograder")
            info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            zf.writestr(info, data)
    os.replace(tmp, out)
    return out


def main(args) -> int:
    load_spec(args.homework)
    out = Path(args.out or KIT_ROOT / "dist" / f"{args.homework}_gradescope.zip")
    path = build(args.homework, out, getattr(args, "jobs", None))
    count = len(members(args.homework))
    print(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {count} files). Upload it as the "
          f"autograder of the {args.homework} programming assignment on Gradescope.", file=sys.stdout)
    return 0
