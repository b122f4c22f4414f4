"""How far the released MNIST classifier's reading of CVAE samples is from the grader's.

    python benchmarks/calibrate_hw4_released_classifier.py [--epochs 10] [--seeds 3]

Trains the reference CVAE (``solutions/hw4``: the student's ``train_vae`` on batches of 128, Adam
at 1e-3, one thread, seed 0), then decodes 100 samples per digit, ``decoder(cat([z, one_hot]))``,
for several seeds of z, as the graded generation test does. Prints the last epoch's training loss
and, for each seed, how often the released classifier (``check_classifier``, what students run)
and the grader's (``autograder/models``) read the requested digit, overall and per digit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))
sys.path.insert(0, str(KIT / "solutions" / "hw4"))

import assignment  # noqa: E402
import vae  # noqa: E402
from autograder.homeworks.hw4 import check_classifier  # noqa: E402
from autograder.models import mnist_classifier  # noqa: E402
from data import mnist  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3, help="seeds of z to decode")
    options = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    args = assignment.parseArguments(["--is_cvae"])
    model = vae.CVAE(args.input_size, num_classes=10, latent_size=args.latent_size)
    loader = mnist.loader("train", batch_size=args.batch_size, shuffle=True, seed=0)
    start = time.perf_counter()
    for epoch in range(1, options.epochs + 1):
        loss = assignment.train_vae(model, loader, args, is_cvae=True) / len(loader)
        print(f"epoch {epoch}: training loss per image {loss:.1f}", flush=True)
    print(f"trained in {time.perf_counter() - start:.0f} s")
    model.eval()
    classifiers = {"released": check_classifier.load(), "grader's": mnist_classifier.load()}
    digits = torch.arange(10).repeat_interleave(100)
    for seed in range(options.seeds):
        z = torch.randn(digits.shape[0], args.latent_size, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            images = model.decoder(torch.cat([z, torch.nn.functional.one_hot(digits, 10).float()], dim=1))
        for name, classifier in classifiers.items():
            reading = check_classifier.describe(*check_classifier.digit_accuracy(classifier, images, digits))
            print(f"z seed {seed}, {name:<9} classifier: {reading}")


if __name__ == "__main__":
    main()
