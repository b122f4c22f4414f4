"""Package a homework's outputs (loss records and figures) into one zip to upload.

    python zipout.py hw4                          # stencil/hw4/outputs/... -> hw4_outputs.zip
    python zipout.py hw4 --dir FOLDER --out FILE.zip

The files are the homework's ``output_files`` (see its spec), stored under the same relative
paths. Nothing is written unless all exist and pass their checks. A homework with its own outputs
says how in its ``hooks.py`` (hw3 also writes its write-up PDF; hw5 zips its codes). The work is
done by ``autograder/packaging.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parent
if str(KIT_ROOT) not in sys.path:
    sys.path.insert(0, str(KIT_ROOT))

from autograder.packaging import zipout_main as main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
