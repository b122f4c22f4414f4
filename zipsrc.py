"""Package a homework's source code and notebook into one zip to upload.

    python zipsrc.py hw4                          # stencil/hw4 + notebooks/hw4.ipynb -> hw4_source.zip
    python zipsrc.py hw4 --dir FOLDER --notebook PATH --include EXTRA ... --out FILE.zip

The zip is flat: the homework's required files (``vae.py``, ``assignment.py`` for hw4), the
notebook, the write-ups the homework asks for (hw4's ``README.md``), any other helper modules at
the top of FOLDER and the files given with --include. Nothing is written unless every file passes
its checks. It then warns, without refusing, when the notebook has no outputs or unanswered
questions, or a write-up is missing or still the template. A homework with its own hand-in (hw5's
``answer/`` folder) says how in its ``hooks.py``. The work is done by ``autograder/packaging.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

from autograder.packaging import zipsrc_main as main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
