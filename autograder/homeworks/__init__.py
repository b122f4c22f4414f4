"""Everything homework-specific lives in one sub-package per homework, ``autograder.homeworks.hwN``.

Each sub-package has the same shape:

- ``spec.py``    ``SPEC``: the files a submission must hold and the outputs a student hands in
                 (read by ``zipsrc.py``, ``zipout.py`` and the grader; public);
- ``public.py``  ``CHECKS``: the quick sanity tests students run with ``python -m autograder check``;
- ``hidden.py``  ``TESTS``: the graded tests (never shipped to students);
- ``agent.py``   the code that runs *inside* the student's sandboxed process and answers the
                 grader's questions with raw tensors (public: it holds no answers).

The grader core (``autograder.pipeline``) only sees these through :func:`load_spec`,
:func:`load_tests` and :func:`load_checks`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]


class UnknownHomework(ValueError):
    pass


@dataclass(frozen=True)
class HomeworkSpec:
    """What a homework's submission and outputs consist of (paths are relative)."""

    name: str
    title: str
    source_files: tuple[str, ...]          # required, in the student's homework folder
    notebook: str                          # relative to the kit root, zipped with the source
    output_files: tuple[str, ...] = ()     # required outputs, relative to the homework folder
    optional_source_globs: tuple[str, ...] = ("*.py",)  # extra helper modules zipped if present
    agent: str = ""                        # module run inside the sandbox (dotted path)
    datasets: tuple[str, ...] = ()         # data/NAME.py modules whose prepare() fetches its data
    extra: dict = field(default_factory=dict)
    # Optional hooks, for homeworks whose hand-in is not "the source files, flat":
    student_dir: str = ""                  # sub-folder of stencil/hwN holding source_files
    upload_files: tuple[str, ...] = ()     # what the upload must hold (default: source_files)
    prepare: str = ""                      # "module:function", (folder: Path) -> Path, run on the
                                           # grader's private copy before grading; may raise
                                           # autograder.pipeline.unpack.SubmissionError
    packaging: str = ""                    # module with optional collect_source(spec, args),
                                           # collect_outputs(spec, args), SOURCE_ZIP, OUTPUT_ZIP
                                           # used by zipsrc.py / zipout.py instead of the defaults

    @property
    def required_upload(self) -> tuple[str, ...]:
        return self.upload_files or self.source_files

    @property
    def stencil_dir(self) -> Path:
        return KIT_ROOT / "stencil" / self.name

    @property
    def solution_dir(self) -> Path:
        return KIT_ROOT / "solutions" / self.name

    @property
    def student_folder(self) -> Path:
        """Where the student's ``source_files`` live in the stencil (the default to check/zip)."""
        return self.stencil_dir / self.student_dir if self.student_dir else self.stencil_dir


def hook(dotted: str):
    """The object named by ``"package.module:attribute"`` (or the module itself without ``:``)."""
    module, _, attribute = dotted.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


# The parts of a homework package the student's sandbox may see (everything else is the grader's).
PUBLIC_PARTS = ("__init__.py", "spec.py", "agent.py", "public.py")
CORE_PUBLIC = ("autograder/__init__.py", "autograder/pipeline/__init__.py", "autograder/pipeline/child.py",
               "autograder/pipeline/calls.py",
               "autograder/pipeline/wire.py", "autograder/homeworks/__init__.py")


def public_files(agent: str) -> list[Path]:
    """The kit's files (relative to the kit root) a sandbox running ``agent`` gets a copy of:
    the child side of the pipeline, the data loaders, and the homework's public parts plus any
    module its spec lists in ``extra["agent_modules"]``."""
    files = [Path(name) for name in CORE_PUBLIC]
    files += sorted(p.relative_to(KIT_ROOT) for p in (KIT_ROOT / "data").glob("*.py"))
    parts = agent.split(".")
    if len(parts) >= 3 and parts[:2] == ["autograder", "homeworks"] and parts[2] in available():
        names = PUBLIC_PARTS + tuple(load_spec(parts[2]).extra.get("agent_modules", ()))
        folder = Path("autograder", "homeworks", parts[2])
        files += [folder / name for name in names if (KIT_ROOT / folder / name).is_file()]
    return files


def secret_paths() -> list[Path]:
    """What a student's process must never read: reference solutions, the kit's tests, the
    grader's models, and every part of a homework package that is not public."""
    paths = [KIT_ROOT / "solutions", KIT_ROOT / "tests", KIT_ROOT / "autograder" / "models"]
    for name in available():
        spec = load_spec(name)
        allowed = set(PUBLIC_PARTS) | set(spec.extra.get("agent_modules", ()))
        folder = KIT_ROOT / "autograder" / "homeworks" / name
        paths += [p for p in folder.iterdir() if p.name not in allowed and p.name != "__pycache__"]
    return paths


def available() -> list[str]:
    """The homeworks this copy of the kit has (a folder here with a ``spec.py``)."""
    here = Path(__file__).parent
    return sorted(p.parent.name for p in here.glob("hw*/spec.py"))


def _module(homework: str, part: str):
    if homework not in available():
        raise UnknownHomework(f"'{homework}' is not a homework of this kit (available: {', '.join(available())})")
    try:
        return importlib.import_module(f"autograder.homeworks.{homework}.{part}")
    except ModuleNotFoundError as err:
        if err.name == f"autograder.homeworks.{homework}.{part}":
            raise UnknownHomework(f"this copy of the kit has no {part} tests for {homework}") from None
        raise


def load_spec(homework: str) -> HomeworkSpec:
    return _module(homework, "spec").SPEC


def load_tests(homework: str):
    return _module(homework, "hidden").TESTS


def load_checks(homework: str):
    return _module(homework, "public").CHECKS
