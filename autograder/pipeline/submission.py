"""Open an uploaded submission the way its homework's spec describes it.

Shared by ``grade`` and ``batch``: unpack the upload into a private copy (see
``pipeline/unpack.py``), check that it holds what the spec says it must, and run the ``prepare``
hook of the homework's ``hooks.py`` when it has one (for example, to open zips nested in the
upload); such a hook reports a hand-in it cannot use by raising ``SubmissionError``.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from ..homeworks import HomeworkSpec, load_hooks
from .unpack import unpacked


@contextlib.contextmanager
def opened(spec: HomeworkSpec, submission: Path):
    """Yield ``(folder, missing)``: the private copy to grade and the required files it lacks."""
    prepare = getattr(load_hooks(spec.name), "prepare", None)
    with unpacked(Path(submission), spec.required_upload) as folder:
        if prepare is not None:  # the hook knows every form this homework's hand-in may take
            folder = prepare(folder)
            missing = [name for name in spec.source_files if not (folder / name).is_file()]
        else:
            missing = [name for name in spec.required_upload if not (folder / name).is_file()]
        yield folder, missing
