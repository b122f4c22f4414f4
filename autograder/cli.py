"""The autograder's command line: one verb per module.

    python -m autograder grade HW SUBMISSION --out results.json [--timeout SECONDS] [--feedback DIR]
    python -m autograder check HW [FOLDER]
    python -m autograder batch HW SUBMISSIONS_DIR --workers N --csv grades.csv --out-dir results/
    python -m autograder batch HW SUBMISSIONS_DIR --scheduler tcp://HOST:8786   (or --cluster slurm)
    python -m autograder gradescope HW --out dist/HW_gradescope.zip
    python -m autograder release --out DIR [--zip FILE]
    python -m autograder stencil HW [--check]
    python -m autograder prefetch HW
    python -m autograder similar HW SUBMISSIONS_DIR --out report/similarity

A student's copy of the kit (the release) has only the ``check`` verb; the parser offers the verbs
whose module this copy holds.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

VERBS = {
    "grade": "grade one submission and write Gradescope's results.json",
    "check": "run a homework's public checks on a folder (students use this)",
    "batch": "grade a folder of submissions: a results.json and feedback per student, a grade table",
    "gradescope": "build the autograder zip Gradescope runs (setup.sh, run_autograder, the kit)",
    "release": "build the student release of every homework (stencils, student notebooks, checks)",
    "stencil": "write stencil/HW from solutions/HW (the student version of the reference solution)",
    "prefetch": "fetch (or build) and verify the data a homework's grader reads, before grading",
    "similar": "rank pairs of submissions by how much of their own code they share (stencil excluded)",
}


def _have(verb: str) -> bool:
    return importlib.util.find_spec(f"autograder.{verb}") is not None


def _grade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("submission", help="a folder or a zip made by zipsrc.py")
    parser.add_argument("--out", default="results.json", help="where to write results.json (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed for each training run (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    parser.add_argument("--jobs", type=int, default=2, choices=(1, 2),
                        help="student processes that train at once: 2 is faster, 1 halves peak memory; "
                             "scores are identical (default: %(default)s)")
    parser.add_argument("--only", metavar="TEXT",
                        help="run only the tests whose name contains TEXT (to re-run one test; the score "
                             "then covers those tests only)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of the grader's own process (default: torch's choice)")
    parser.add_argument("--meta", help="also write how student code failed and what the sandbox enforced "
                                       "(JSON, for the batch verb)")
    parser.add_argument("--feedback", metavar="DIR",
                        help="also write the student's feedback page (feedback.html, self-contained) and the "
                             "pictures the grader drew (PNG) into DIR")
    _device_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where the student's models train and are measured: cpu, cuda (a GPU), or auto "
                             "(a GPU where PyTorch sees one). Scores agree within the thresholds' margins "
                             "(default: %(default)s)")


def _batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("submissions", help="a folder holding one zip or folder per student, named by student id")
    parser.add_argument("--workers", type=int, default=1,
                        help="submissions graded at once, one CPU core each (default: %(default)s)")
    parser.add_argument("--csv", default="grades.csv", help="grade table to write (default: %(default)s)")
    parser.add_argument("--out-dir", default="results", help="one folder per student (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="grade again submissions already graded")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed for each training run (default: %(default)s)")
    parser.add_argument("--limit", type=float, default=3600.0,
                        help="seconds one whole grading may take before it is stopped (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    parser.add_argument("--only", metavar="TEXT", help="run only the tests whose name contains TEXT")
    _device_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    cluster = parser.add_argument_group("grading on a Dask cluster (see the README's 'Grading a large course')")
    where = cluster.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="send the gradings to this Dask scheduler (tcp://host:8786, or a scheduler file)")
    where.add_argument("--cluster", choices=("slurm",),
                       help="start --workers Dask workers as SLURM jobs (dask-jobqueue; its configuration "
                            "file sets the account, interface and the like)")
    cluster.add_argument("--queue", help="SLURM partition for --cluster slurm (default: the cluster's)")
    cluster.add_argument("--walltime", default="04:00:00",
                         help="time limit of each SLURM worker job (default: %(default)s)")
    # A grading's memory: the sandbox stops student code at 1,024 MB (resident) and the grader's own
    # process peaks at about 600 MB (hw4 with --jobs 1, measured: 595 MB); rounded up.
    cluster.add_argument("--memory-per-grading", type=int, default=2048, metavar="MB",
                         help="memory one grading needs; a worker runs only as many gradings at once as "
                              "its memory holds (default: %(default)s)")


def _gradescope_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("--out", help="zip to write (default: dist/HW_gradescope.zip)")


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("folder", nargs="?", help="your homework folder (default: stencil/HW)")


def _release_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write the release into (replaced if it is an earlier release)")
    parser.add_argument("--zip", help="also write the release as this zip file")


def _stencil_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("--check", action="store_true", help="only report drift from the solution; change nothing")


def _prefetch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")


def _similar_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("homework", help="hw1 ... hw5")
    parser.add_argument("submissions", help="a folder holding one zip or folder per student, named by student id")
    parser.add_argument("--out", default="report/similarity",
                        help="folder for index.html, pairs.csv and the side-by-side pages (default: %(default)s)")


ARGUMENTS = {"grade": _grade_arguments, "batch": _batch_arguments, "gradescope": _gradescope_arguments,
             "check": _check_arguments, "release": _release_arguments, "stencil": _stencil_arguments,
             "prefetch": _prefetch_arguments, "similar": _similar_arguments}


def parse_verb(verb: str, args):
    """``args`` as the parsed arguments of ``verb``: a verb module's ``main`` also accepts an argument
    list (``python -m autograder.VERB ...`` and older scripts call it that way)."""
    if isinstance(args, argparse.Namespace):
        return args
    return build_parser().parse_args([verb, *(sys.argv[1:] if args is None else list(args))])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="The course kit's autograder.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, add_arguments in ARGUMENTS.items():
        if _have(verb):  # a student's release holds only the check verb
            add_arguments(verbs.add_parser(verb, help=VERBS[verb], description=VERBS[verb]))
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from .homeworks import UnknownHomework

    try:
        return importlib.import_module(f"autograder.{args.verb}").main(args)
    except UnknownHomework as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
