"""Measure what the grade table is calibrated against: random codes, raw pixels, the given default
and the reference, on dev and test, with both chance-corrected metrics, and the training times.

    python benchmarks/calibrate_hw5_grade_table.py                      # reference with seed 0 only
    python benchmarks/calibrate_hw5_grade_table.py --seeds 0 1 2 3      # the reference's spread over seeds
    python benchmarks/calibrate_hw5_grade_table.py --table my_table.csv # rows reached under another table

Each model trains in this process on one CPU thread, as in the grader; times are CPU seconds of
this process (wall time on a busy machine is longer). Uses the test labels: a TA's tool.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

KIT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT_ROOT))

from autograder.homeworks.hw5 import scoring  # noqa: E402


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _line(name: str, codes: dict, gold: dict, rows, seconds: float | None = None, max_dim=scoring.MAX_CODE_DIM):
    ari = {s: scoring.score(codes[s], gold[s], max_dim=max_dim).value for s in ("dev", "test")}
    ami = {s: scoring.ami_score(codes[s], gold[s], max_dim=max_dim) for s in ("dev", "test")}
    row, _ = scoring.reached(rows, ari["dev"], ari["test"])
    grade = f"{row.grade} ({row.marks:g})" if row else "-"
    took = f"{seconds:6.1f}" if seconds is not None else "      "
    print(f"{name:<28} {ari['dev']:6.2f} {ari['test']:6.2f}   {ami['dev']:6.2f} {ami['test']:6.2f}   {took}   {grade}",
          flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the reference's training")
    parser.add_argument("--default-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--table", help="a grade table CSV (default: the seed's)")
    parser.add_argument("--solution", default=str(KIT_ROOT / "solutions" / "hw5"), help="folder with answer/vae.py")
    args = parser.parse_args(argv)

    import torch

    from data import signs

    torch.set_num_threads(1)
    rows = scoring.load_table(args.table)
    gold = {s: signs.grader_labels(s) for s in ("dev", "test")}
    images = {s: signs.tensors(s) for s in ("train", "dev", "test")}
    print(f"{'codes':<28} {'ARI dev':>6} {'test':>6}   {'AMI dev':>6} {'test':>6}   {'CPU s':>6}   row reached")
    rng = np.random.default_rng(0)
    _line("random (16 numbers)", {s: rng.normal(size=(gold[s].size, 16)) for s in gold}, gold, rows)
    _line("raw pixels (4096 numbers)", {s: images[s].flatten(1).numpy() for s in gold}, gold, rows, max_dim=4096)

    solution = Path(args.solution)
    for label, path, seeds in (("default", solution / "default.py", args.default_seeds),
                               ("reference", solution / "answer" / "vae.py", args.seeds)):
        module = _module(path, f"hw5_{label}")
        for seed in seeds:
            start = time.process_time()
            model, _ = module.train_vae(images["train"], seed=seed)
            seconds = time.process_time() - start
            codes = {s: module.encode(model, images[s]).numpy() for s in gold}
            _line(f"{label}, seed {seed}", codes, gold, rows, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
