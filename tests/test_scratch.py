"""The temporary folders that hold a student's files during a grading (autograder/pipeline/scratch.py):
a folder whose grading was killed is removed by the next sweep; a live grading's never is."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.pipeline import scratch

KIT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tmp(tmp_path, monkeypatch):
    monkeypatch.setattr(scratch.tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _made_by_a_killed_process(tmp: Path) -> Path:
    code = ("import sys, time, tempfile; sys.path.insert(0, sys.argv[1]); tempfile.tempdir = sys.argv[2]\n"
            "from autograder.pipeline import scratch\n"
            "folder, _ = scratch.make('aekit-run-'); (folder / 'work').mkdir(); (folder / 'work' / 'vae.py').write_text('x')\n"
            "print(folder, flush=True); time.sleep(600)\n")
    maker = subprocess.Popen([sys.executable, "-c", code, str(KIT), str(tmp)], stdout=subprocess.PIPE, text=True)
    folder = Path(maker.stdout.readline().strip())
    maker.kill()
    maker.wait()
    return folder


def test_a_killed_gradings_folder_is_swept_and_a_live_ones_is_kept(tmp):
    left = _made_by_a_killed_process(tmp)
    live, held = scratch.make("aekit-sub-")
    (tmp / "aekit-old-folder").mkdir()                       # no lock: an older kit's, or being made
    (tmp / "aekit-link").symlink_to(tmp / "aekit-old-folder")
    (tmp / "aekit-link.held").symlink_to("/etc/passwd")      # a link is never followed
    assert (left / "work" / "vae.py").is_file()
    assert scratch.sweep() == [left]
    assert not left.exists() and not Path(str(left) + ".held").exists()
    assert live.is_dir() and (tmp / "aekit-old-folder").is_dir() and Path("/etc/passwd").is_file()
    assert scratch.sweep() == []
    scratch.remove(live, held)
    assert not live.exists() and not Path(str(live) + ".held").exists()
    scratch.remove(live, held)   # twice is fine


def test_the_lock_stays_the_graders_when_the_folder_is_given_to_a_student(tmp):
    """A student's runtime folder belongs to the student's user; its lock, beside it, does not,
    so a student cannot make a live grading's folder look dead (or a dead one's look alive)."""
    if os.geteuid() != 0:
        pytest.skip("needs root (a user of the student's own)")
    folder, held = scratch.make("aekit-run-")
    os.chown(folder, 65534, 65534)
    lock = Path(str(folder) + ".held")
    assert lock.stat().st_uid == 0 and lock.stat().st_mode & 0o777 == 0o600
    assert scratch.sweep() == []
    os.close(held)   # the grader dies
    assert scratch.sweep() == [folder] and not folder.exists()
