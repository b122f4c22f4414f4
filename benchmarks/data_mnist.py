"""Benchmark: time to verify and decode all 70,000 MNIST images, cold (empty cache) and warm.

    python benchmarks/data_mnist.py

Target: <= 1 s for the cold decode (checksums included) on a 2-core machine.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

KIT = Path(__file__).resolve().parents[1]
CODE = ("import time; t = time.perf_counter(); from data import mnist; a, _ = mnist.load('train'); "
        "b, _ = mnist.load('test'); print(f'{time.perf_counter() - t:.3f} {a.shape[0] + b.shape[0]}')")


def timed(env) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CODE], cwd=KIT, env=env, capture_output=True, text=True, check=True)
    seconds, count = out.stdout.split()
    return float(seconds), int(count)


def main() -> int:
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, AEKIT_CACHE=cache, AEKIT_OFFLINE="1")
        cold, count = timed(env)
        warm, _ = timed(env)
    print(f"MNIST: {count:,} images")
    print(f"  cold (verify MD5 + gunzip + decode + write cache): {cold:.3f} s  (target <= 1 s: "
          f"{'met' if cold <= 1 else 'NOT met'})")
    print(f"  warm (memory-map the cached decoded arrays):       {warm:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
