"""Homework 1 (autoencoders and likelihood-derived losses on MNIST): what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw1",
    title="Homework 1: autoencoders, random codes and likelihood-derived losses",
    source_files=("autoencoder.py", "likelihoods.py", "assignment.py"),
    output_files=(
        "outputs/gaussian_losses.json",
        "outputs/gaussian_reconstructions.png",
        "outputs/gaussian_uniform_codes.png",
        "outputs/gaussian_fitted_codes.png",
        "outputs/bernoulli_losses.json",
        "outputs/bernoulli_reconstructions.png",
        "outputs/bernoulli_uniform_codes.png",
        "outputs/bernoulli_fitted_codes.png",
    ),
    datasets=("mnist",),
    run=("assignment.py", "assignment.py --likelihood bernoulli"),
)
