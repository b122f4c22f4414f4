"""Homework 3 (how well VAE codes interpolate): what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw3",
    title="Homework 3: how well VAE codes interpolate",
    source_files=("vae.py", "assignment.py"),
    notebook="notebooks/hw3.ipynb",
    output_files=(
        "outputs/interpolation_same_digit.png",
        "outputs/interpolation_different_digits.png",
        "outputs/losses.json",
    ),
    agent="autograder.homeworks.hw3.agent",
    datasets=("mnist",),
    # zipout.py also makes the write-up PDF (figures, then the code): see packaging.py.
    packaging="autograder.homeworks.hw3.packaging",
    extra={"run": ("assignment.py",)},
)
