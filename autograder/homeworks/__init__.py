"""Everything homework-specific lives in one sub-package per homework, ``autograder.homeworks.hwN``.

Each sub-package has the same shape (``autograder/homeworks/README.md`` says what each file holds):

- ``spec.py``    ``SPEC``: the files a submission must hold and the outputs a student hands in
                 (read by ``zipsrc.py``, ``zipout.py`` and the grader; public);
- ``public.py``  ``CHECKS``: the quick sanity tests students run with ``python -m autograder check``;
- ``hidden.py``  ``TESTS``: the graded tests (never shipped to students); optionally ``PREPARE``,
                 the grader data made before any student process starts;
- ``agent.py``   the code that runs *inside* the student's sandboxed process and answers the
                 grader's questions with raw tensors (public: it holds no answers);
- ``measure.py`` the grader's own measurements (never shipped);
- ``hooks.py``   optional, for a hand-in that is not "the source files, flat": how ``zipsrc.py`` /
                 ``zipout.py`` package it and how the grader opens it (shipped with the release).

The grader core (``autograder.pipeline``) only sees these through :func:`load_spec`,
:func:`load_tests`, :func:`load_checks` and :func:`load_hooks`. What of the kit each audience gets
(a student's sandbox, the student release, the Gradescope bundle) is decided once, by the manifest
at the end of this module.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

KIT_ROOT = Path(__file__).resolve().parents[2]
HOOKS = "hooks.py"  # the optional hooks file of a homework folder, found by this name


class UnknownHomework(ValueError):
    pass


@dataclass(frozen=True)
class HomeworkSpec:
    """What a homework's submission and outputs consist of (paths are relative). Every field but
    ``name``, ``title`` and ``source_files`` has a default that follows the folder convention."""

    name: str
    title: str
    source_files: tuple[str, ...]          # required, in the student's homework folder
    notebook: str = ""                     # relative to the kit root, zipped with the source
                                           # (default: notebooks/NAME.ipynb)
    output_files: tuple[str, ...] = ()     # required outputs, relative to the homework folder
    optional_source_globs: tuple[str, ...] = ("*.py",)  # extra helper modules zipped if present
    agent: str = ""                        # module run inside the sandbox (dotted path; default:
                                           # autograder.homeworks.NAME.agent)
    datasets: tuple[str, ...] = ()         # data/NAME.py modules whose prepare() fetches its data
    run: tuple[str, ...] = ()              # commands, relative to the student's folder, that write
                                           # the outputs (default: the last source file)
    documents: tuple[str, ...] = ()        # write-ups handed in with the code (zipsrc.py adds them
                                           # and warns while one is missing or still the template)
    agent_files: tuple[str, ...] = ()      # further files of the homework folder the sandbox and
                                           # the release get (what the agent imports)
    release_files: tuple[str, ...] = ()    # further files of the homework folder only the release
                                           # gets (public tools students run themselves)
    grade_table: str = ""                  # a CSV of the homework folder that maps scores to marks
    apt_packages: tuple[str, ...] = ()     # Debian packages the Gradescope image installs
    gradescope_jobs: int = 2               # the most tests graded side by side on Gradescope
    student_dir: str = ""                  # sub-folder of stencil/hwN holding source_files
    upload_files: tuple[str, ...] = ()     # what the upload must hold (default: source_files)
    check_preload: tuple[str, ...] = ()    # modules the public checks' student process loads while
                                           # the grader loads the checks (isolate.Limits.preload)

    def __post_init__(self):
        defaults = {"notebook": f"notebooks/{self.name}.ipynb", "agent": f"autograder.homeworks.{self.name}.agent",
                    "run": tuple(self.source_files[-1:])}
        for field_name, value in defaults.items():
            if not getattr(self, field_name):
                object.__setattr__(self, field_name, value)

    @property
    def required_upload(self) -> tuple[str, ...]:
        return self.upload_files or self.source_files

    @property
    def folder(self) -> Path:
        """The homework's folder in the kit, ``autograder/homeworks/NAME``."""
        return KIT_ROOT / "autograder" / "homeworks" / self.name

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


def load_preparations(homework: str) -> tuple:
    """The homework's ``PREPARE`` (in ``hidden.py``; none by default): what the grader makes before
    any student process starts (see :class:`autograder.pipeline.score.Context`)."""
    return tuple(getattr(_module(homework, "hidden"), "PREPARE", ()))


def load_checks(homework: str):
    return _module(homework, "public").CHECKS


def load_hooks(homework: str):
    """The homework's ``hooks.py`` module, or None when its folder has none. Its optional members:
    ``prepare(folder) -> folder`` (run by the grader on its private copy of an upload before any
    student code runs; may raise ``autograder.pipeline.unpack.SubmissionError``),
    ``collect_source(spec, args)`` / ``collect_outputs(spec, args)`` (the ``(name in zip, file)``
    pairs ``zipsrc.py`` / ``zipout.py`` package instead of the defaults), ``source_warnings(spec,
    members)``, and ``SOURCE_ZIP`` / ``OUTPUT_ZIP`` (the zips' default names)."""
    if homework not in available() or not (Path(__file__).parent / homework / HOOKS).is_file():
        return None
    return _module(homework, HOOKS[:-3])


# The manifest: what of the kit each audience gets. A student's sandbox gets SANDBOX_CORE, the data
# loaders and each homework's public parts; the student release adds RELEASE_CORE, the scripts and
# each homework's release-only parts; everything else is the grader's. The Gradescope bundle holds
# the grader (the autograder package with this homework's folder only) and the data loaders.
SANDBOX_CORE = ("autograder/__init__.py", "autograder/pipeline/__init__.py", "autograder/pipeline/child.py",
                "autograder/pipeline/calls.py", "autograder/pipeline/wire.py", "autograder/homeworks/__init__.py")
RELEASE_CORE = (  # the check verb, the packaging scripts' shared code, the notebooks' set-up
    "autograder/__main__.py", "autograder/cli.py", "autograder/check.py", "autograder/packaging.py",
    "autograder/notebook.py",  # the notebooks' set-up and display helpers
    "autograder/pipeline/score.py", "autograder/pipeline/isolate.py", "autograder/pipeline/accounts.py",
    "autograder/pipeline/unpack.py", "autograder/pipeline/report.py", "autograder/pipeline/expect.py",
    "autograder/pipeline/checks.py", "autograder/pipeline/scratch.py",
)
RELEASE_SCRIPTS = ("zipsrc.py", "zipout.py")
PUBLIC_PARTS = ("__init__.py", "spec.py", "agent.py", "public.py")   # of every homework folder
GRADER_ONLY = ("solutions", "tests", "autograder/models")             # besides the homeworks' private parts
GRADER_PACKAGE = "autograder"


def data_loaders() -> list[Path]:
    """The data loaders (``data/*.py``; never the cached data): sandbox, release and bundle get them."""
    return sorted(p.relative_to(KIT_ROOT) for p in (KIT_ROOT / "data").glob("*.py"))


def _existing(homework: str, names) -> list[Path]:
    folder = Path("autograder", "homeworks", homework)
    return [folder / name for name in names if (KIT_ROOT / folder / name).is_file()]


def sandbox_parts(homework: str) -> tuple[str, ...]:
    """The names of the files of ``homework``'s folder its students' sandboxes may read."""
    return PUBLIC_PARTS + load_spec(homework).agent_files


def public_files(agent: str) -> list[Path]:
    """The kit's files (relative to the kit root) a sandbox running ``agent`` gets a copy of:
    the child side of the pipeline, the data loaders, and the homework's public parts plus the
    files its spec lists in ``agent_files``."""
    files = [Path(name) for name in SANDBOX_CORE] + data_loaders()
    parts = agent.split(".")
    if len(parts) >= 3 and parts[:2] == ["autograder", "homeworks"] and parts[2] in available():
        files += _existing(parts[2], sandbox_parts(parts[2]))
    return files


def secret_paths() -> list[Path]:
    """What a student's process must never read: reference solutions, the kit's tests, the
    grader's models, and every part of a homework package its sandbox is not given."""
    paths = [KIT_ROOT / name for name in GRADER_ONLY]
    for name in available():
        allowed = set(sandbox_parts(name))
        folder = KIT_ROOT / "autograder" / "homeworks" / name
        paths += [p for p in folder.iterdir() if p.name not in allowed and p.name != "__pycache__"]
    return paths


def student_files() -> list[Path]:
    """Every kit file the student release copies as it is (it generates the stencils, notebooks,
    README and requirements): the check verb's runtime; for each homework what its sandbox gets,
    its ``hooks.py`` (how its zips are made) and its spec's ``release_files``; the zip scripts."""
    files = [Path(name) for name in RELEASE_CORE]
    for homework in available():
        spec = load_spec(homework)
        files += public_files(spec.agent) + _existing(homework, (HOOKS, *spec.release_files))
    return files + [Path(name) for name in RELEASE_SCRIPTS]


def grader_files(homework: str) -> list[Path]:
    """The kit's files in the Gradescope bundle of ``homework``: the grader package with no other
    homework's folder (no caches, bytecode or data files), and the data loaders."""
    others = {p.relative_to(KIT_ROOT) for p in Path(__file__).parent.glob("hw*") if p.name != homework}
    files = []
    for path in sorted((KIT_ROOT / GRADER_PACKAGE).rglob("*")):
        relative = path.relative_to(KIT_ROOT)
        if (path.is_dir() or path.is_symlink() or "__pycache__" in relative.parts or "cache" in relative.parts
                or path.suffix in (".pyc", ".npy", ".npz", ".gz") or others & set(relative.parents)):
            continue
        files.append(relative)
    return files + data_loaders()
