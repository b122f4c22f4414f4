"""nbgrader configuration of the course (run nbgrader's commands inside this folder).

    nbgrader generate_assignment hw4     # release/hw4/: the student version of notebooks/hw4.ipynb
    nbgrader autograde hw4               # runs submitted/<student>/hw4/ and fills gradebook.db
    nbgrader formgrade                   # (or the formgrader in Jupyter) to grade the written answers

``source/`` is rebuilt from the kit every time nbgrader starts (see autograder/course.py): edit
``notebooks/``, ``solutions/`` and ``stencil/`` (through ``python -m autograder stencil``), never
``source/``. ``AEKIT_ROOT`` names the kit when this file is copied into a course folder elsewhere.
"""
import os
import sys
from pathlib import Path

_here = Path(__file__).resolve().parent
_kit = Path(os.environ.get("AEKIT_ROOT") or _here.parent).resolve()
if str(_kit) not in sys.path:
    sys.path.insert(0, str(_kit))

from autograder.course import configure  # noqa: E402

configure(get_config(), _here)  # noqa: F821  (get_config is given by nbgrader's config loader)
