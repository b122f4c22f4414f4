"""Homework 2 (convolutional autoencoder on emoji): what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw2",
    title="Homework 2: convolutional autoencoder on emoji",
    source_files=("emoji_data.py", "autoencoder.py", "assignment.py"),
    output_files=(
        "outputs/losses_ae.json",
        "outputs/losses_aux.json",
        "outputs/curves_ae.png",
        "outputs/curves_aux.png",
        "outputs/reconstructions_ae.png",
        "outputs/reconstructions_aux.png",
        "outputs/arithmetic.png",
    ),
    datasets=("emoji",),
    run=("assignment.py", "assignment.py --aux"),
    apt_packages=("fonts-noto-color-emoji", "unicode-data"),
)
