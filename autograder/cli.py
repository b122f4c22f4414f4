"""The autograder's command line: one verb per module.

    python -m autograder grade HW SUBMISSION --out results.json [--timeout SECONDS]
    python -m autograder check HW [FOLDER]
"""
from __future__ import annotations

import argparse
import importlib
import sys

VERBS = {
    "grade": "grade one submission and write Gradescope's results.json",
    "check": "run a homework's public checks on a folder (students use this)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description="The course kit's autograder.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    grade = verbs.add_parser("grade", help=VERBS["grade"], description=VERBS["grade"])
    grade.add_argument("homework", help="hw1 ... hw5")
    grade.add_argument("submission", help="a folder or a zip made by zipsrc.py")
    grade.add_argument("--out", default="results.json", help="where to write results.json (default: %(default)s)")
    grade.add_argument("--timeout", type=float, default=1800.0,
                       help="seconds allowed for each training run (default: %(default)s)")
    grade.add_argument("--seed", type=int, default=0, help="seed of every random choice (default: %(default)s)")
    grade.add_argument("--jobs", type=int, default=2, choices=(1, 2),
                       help="student processes that train at once: 2 is faster, 1 halves peak memory; "
                            "scores are identical (default: %(default)s)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")

    check = verbs.add_parser("check", help=VERBS["check"], description=VERBS["check"])
    check.add_argument("homework", help="hw1 ... hw5")
    check.add_argument("folder", nargs="?", help="your homework folder (default: stencil/HW)")
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
