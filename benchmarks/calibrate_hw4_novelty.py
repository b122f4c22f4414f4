"""Calibrate hw4's memorisation test (``cvae_novelty``): how far are real new digits, replayed
training digits and the reference CVAE's samples from their nearest training image?

    python benchmarks/calibrate_hw4_novelty.py            # data-only figures (seconds)
    python benchmarks/calibrate_hw4_novelty.py --train    # also grade the reference CVAE (minutes)

Prints the quantiles of the RMS pixel distance to the nearest training image for: MNIST test
digits (real handwriting the model never saw), exact replays of training digits, replays made
fuzzy (3x3 blur, pixel noise, one-pixel shift), and, with --train, the reference CVAE's samples;
then the within-digit spread of the reference's samples and of a decoder that ignores z.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from autograder.homeworks.hw4 import hidden  # noqa: E402
from autograder.pipeline import novelty  # noqa: E402
from data import mnist  # noqa: E402


def quantiles(name: str, d: torch.Tensor) -> None:
    q = torch.quantile(d.double(), torch.tensor([0.0, 0.05, 0.5, 0.95], dtype=torch.float64))
    copies = float((d < hidden.COPY_DISTANCE).float().mean())
    print(f"{name:<34} min {q[0]:.3f}  5% {q[1]:.3f}  median {q[2]:.3f}  95% {q[3]:.3f}  "
          f"counted as copies {copies:6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="store_true", help="grade the reference CVAE too")
    args = parser.parse_args()
    torch.manual_seed(0)
    train = torch.from_numpy(mnist.load("train")[0].copy()).unsqueeze(1).float() / 255
    test = torch.from_numpy(mnist.load("test")[0][:1000].copy()).unsqueeze(1).float() / 255
    print(f"copy below {hidden.COPY_DISTANCE} (at most {hidden.COPY_FRACTION_MAX:.0%} of samples); "
          f"median must be at least {hidden.MEDIAN_DISTANCE_MIN}\n")
    quantiles("MNIST test digits (new handwriting)", novelty.nearest_distances(test, train))
    picked = train[torch.randperm(train.shape[0])[:1000]]
    quantiles("replayed training digits", novelty.nearest_distances(picked, train))
    blurred = F.avg_pool2d(F.pad(picked, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    quantiles("replayed, 3x3 blur", novelty.nearest_distances(blurred, train))
    noisy = (picked + 0.05 * torch.randn_like(picked)).clamp(0, 1)
    quantiles("replayed, noise sd 0.05", novelty.nearest_distances(noisy, train))
    quantiles("replayed, contrast x0.8", novelty.nearest_distances(picked * 0.8, train))
    shifted = torch.roll(picked, 1, dims=3)
    quantiles("replayed, shifted one pixel", novelty.nearest_distances(shifted, train))
    labels = torch.arange(10).repeat_interleave(100)
    same = picked[:1].expand(1000, -1, -1, -1)
    print(f"\nwithin-digit spread, threshold SPREAD_MIN = {hidden.SPREAD_MIN}")
    print(f"  MNIST test digits            {float(novelty.within_group_spread(test, labels).min()):.3f} (smallest digit)")
    print(f"  a decoder that ignores z     {float(novelty.within_group_spread(same, labels).max()):.3f}")
    if args.train:
        from autograder.grade import grade

        results = grade("hw4", KIT / "solutions" / "hw4", tests=[hidden.cvae_generation, hidden.cvae_novelty])
        for item in results["tests"]:
            print(f"\nreference: {item['name']}\n  {item['score']}/{item['max_score']}: {item['output']}")


if __name__ == "__main__":
    main()
