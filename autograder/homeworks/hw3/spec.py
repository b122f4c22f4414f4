"""Homework 3 (how well VAE codes interpolate): what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw3",
    title="Homework 3: how well VAE codes interpolate",
    source_files=("vae.py", "assignment.py"),
    output_files=(
        "outputs/interpolation_same_digit.png",
        "outputs/interpolation_different_digits.png",
        "outputs/losses.json",
    ),
    datasets=("mnist",),
    # zipout.py also makes the write-up PDF (figures, then the code): see hooks.py.
)
