"""Time from unpacking the student release to the first feedback, as a new student meets it.

    python benchmarks/release_first_feedback.py              # fresh virtual environment + pip install
    python benchmarks/release_first_feedback.py --no-install # reuse this Python (only the kit's steps)

Steps, each timed: build the release zip (``python -m autograder release``), unzip it into an empty
folder, create a virtual environment and run the README's first command (``pip install -r
requirements.txt``; pip's own cache makes a second run faster, which a new student does not have:
pass ``--no-cache`` to measure that), then the first feedback: ``python -m autograder check hw1`` on
the untouched stencil, and the first cells of homework 1's notebook run headless up to its first
printed result. Prints the figures and the release's size.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT_ROOT))
from data import store  # noqa: E402


def timed(label: str, func):
    start = time.monotonic()
    value = func()
    seconds = time.monotonic() - start
    print(f"{label:<58s} {seconds:7.1f} s", flush=True)
    return value, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-install", action="store_true", help="use this Python instead of a fresh venv")
    parser.add_argument("--no-cache", action="store_true", help="pip install without pip's cache")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="aekit-first-feedback-") as scratch:
        scratch = Path(scratch)
        archive = scratch / "aekit-student.zip"
        timed("build the release zip", lambda: subprocess.run(
            [sys.executable, "-m", "autograder", "release", "--out", str(scratch / "build" / "aekit-student"),
             "--zip", str(archive)], cwd=KIT_ROOT, check=True, capture_output=True))
        with zipfile.ZipFile(archive) as opened:
            files = [i for i in opened.infolist() if not i.is_dir()]
            unpacked = sum(i.file_size for i in files)
        print(f"release: {len(files)} files, {unpacked / 1e6:.2f} MB unpacked, {archive.stat().st_size / 1e6:.2f} MB zipped")

        home = scratch / "student"
        home.mkdir()
        total = 0.0
        _, seconds = timed("unzip", lambda: zipfile.ZipFile(archive).extractall(home))
        total += seconds
        kit = home / "aekit-student"
        python = sys.executable
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL",
                                                           "PIP_CONFIG_FILE", "AEKIT_DATA", "AEKIT_CACHE")}
        env.update(HOME=str(home), MPLBACKEND="Agg")
        if store.data_root():
            env["AEKIT_DATA"] = store.data_root()  # offline machines: the course's copy of the data
        if not args.no_install:
            _, seconds = timed("python -m venv .venv", lambda: subprocess.run(
                [sys.executable, "-m", "venv", str(kit / ".venv")], check=True))
            total += seconds
            python = str(kit / ".venv" / "bin" / "python")
            pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", "requirements.txt"]
            if args.no_cache:
                pip.insert(4, "--no-cache-dir")
            _, seconds = timed("README command 1: pip install -r requirements.txt", lambda: subprocess.run(
                pip, cwd=kit, env=env, check=True, capture_output=True))
            total += seconds
        check, seconds = timed("first feedback: python -m autograder check hw1", lambda: subprocess.run(
            [python, "-m", "autograder", "check", "hw1"], cwd=kit, env=env, capture_output=True, text=True))
        total += seconds
        last = [line for line in check.stdout.splitlines() if line.strip()][-1]
        print(f"   it said: {last}")
        code = ("import nbformat, time\nfrom nbclient import NotebookClient\n"
                "nb = nbformat.read('notebooks/hw1.ipynb', 4); nb.cells = nb.cells[:2]\n"
                "NotebookClient(nb, timeout=120, resources={'metadata': {'path': 'notebooks'}}).execute()\n"
                "print(nb.cells[1].outputs[0].get('text', '')[:200])\n")
        result, seconds = timed("notebook hw1: kernel start + set-up cell (headless)", lambda: subprocess.run(
            [python, "-c", code], cwd=kit, env=env, capture_output=True, text=True))
        if result.returncode != 0:
            print(result.stderr[-2000:])
            return 1
        print(f"unpack to first feedback (check): {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
