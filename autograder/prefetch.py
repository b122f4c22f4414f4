"""``python -m autograder prefetch HW``: fetch (or build) and verify the data sets a homework's
grader and sandbox read, so grading itself never needs the network. Used by the Gradescope
bundle's ``setup.sh``; a TA can run it before a batch too. Each data set ``NAME`` in the spec's
``datasets`` is handled by ``data/NAME.py``'s ``prepare()``. Then the grader data the homework's
gradings keep on disk (``KEPT`` in its hidden tests) is made, for the default seed."""
from __future__ import annotations

import importlib
import sys

from .homeworks import load_spec


def prefetch(homework: str) -> list[str]:
    from data.store import share_cache

    done = []
    for name in load_spec(homework).datasets:
        importlib.import_module(f"data.{name}").prepare()
        done.append(name)
    share_cache()   # the sandboxed student processes read the same cache, as users of their own
    return done


def keep(homework: str) -> list[str]:
    """Make what the homework's gradings keep on disk (``KEPT`` in its hidden tests; see
    ``pipeline/kept.py``) for the default seed, after its data sets: a grading machine set up with
    ``prefetch`` then has it from its first grading. A student's copy of the kit has no hidden
    tests, so nothing to make. Returns what was made."""
    hidden = f"autograder.homeworks.{homework}.hidden"
    try:
        module = importlib.import_module(hidden)
    except ModuleNotFoundError as err:
        if err.name != hidden:
            raise
        return []
    made = []
    for what, make in getattr(module, "KEPT", {}).items():
        make(0)
        made.append(what)
    return made


def main(args=None) -> int:
    """The ``prefetch`` verb; ``args`` are its parsed arguments or an argument list."""
    from data.store import DataError

    from .cli import parse_verb

    args = parse_verb("prefetch", args)
    try:
        names = prefetch(args.homework)
        made = keep(args.homework)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.homework}: data ready ({', '.join(names) or 'none needed'})"
          + (f"; kept for grading: {', '.join(made)}" if made else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
