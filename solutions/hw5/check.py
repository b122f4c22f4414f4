"""Score your dev codes the way the grader will.

    python check.py                          # scores outputs/dev.npy (written by answer/vae.py)
    python check.py --codes path/to/dev.npy
    python check.py --pixels                 # the score of the raw pixels, for comparison

The codes are clustered with Ward's agglomerative clustering at seven cluster counts around the
number of letters, and each clustering is compared with the gold letters by the adjusted Rand index
(x 100, averaged; random codes score about 0). The grader computes the same score on the test
glyphs, whose labels only it has, after retraining your model itself; see
``autograder/homeworks/hw5/scoring.py`` for the details and the grade table.
"""
import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _kit_root():
    """Make the course kit importable (the kit is the folder holding data/signs.py)."""
    for folder in (HERE, *HERE.parents):
        if (folder / "data" / "signs.py").is_file():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return
    import importlib.util

    if importlib.util.find_spec("data") is None:  # not importable through PYTHONPATH either
        raise SystemExit(f"Cannot find the course kit (a folder with data/signs.py) above {HERE}; "
                         "set PYTHONPATH to the kit's folder.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Score dev codes like the homework 5 grader.")
    parser.add_argument("--codes", default=str(HERE / "outputs" / "dev.npy"), help="a .npy file (N, Z)")
    parser.add_argument("--pixels", action="store_true", help="score the raw pixels instead (not allowed as codes)")
    args = parser.parse_args(argv)
    _kit_root()
    import numpy as np

    from autograder.homeworks.hw5 import scoring
    from data import signs

    gold = signs.labels("dev")
    if args.pixels:
        codes = signs.images("dev").reshape(len(gold), -1)
        result = scoring.score(codes, gold, max_dim=codes.shape[1])
        name = "the raw pixels (4096 numbers per glyph; not allowed as codes)"
    else:
        path = Path(args.codes)
        if not path.is_file():
            print(f"No codes at {path}. Run `python answer/vae.py` (or `python default.py`) first.")
            return 1
        try:
            codes = np.load(path, allow_pickle=False)
            result = scoring.score(codes, gold)
        except (ValueError, OSError) as err:
            print(f"Cannot score {path}: {err}")
            return 1
        name = f"{path} ({codes.shape[1]}-dimensional codes)"
    print(f"Dev score of {name}: {result.value:.2f}")
    print(f"  {scoring.METRIC} x 100 per cluster count ({result.classes} letters in dev): {result.table()}")
    rows = scoring.load_table()
    best = max((row for row in rows if result.value >= row.dev), key=lambda row: row.dev, default=None)
    print("  The grade table (a row needs both scores; the grader computes the test score after retraining):")
    for row in reversed(rows):
        mark = "   <- your dev score reaches this row's dev column" if row is best else ""
        print(f"    {row.grade:<3} {row.marks:>4g} marks: dev >= {row.dev:>4g} and test >= {row.test:>4g}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
