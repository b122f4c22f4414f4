"""Homework 4 (VAE and conditional VAE on MNIST): what students hand in."""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw4",
    title="Homework 4: VAE and conditional VAE",
    source_files=("vae.py", "assignment.py"),
    output_files=(
        "outputs/losses_vae.json",
        "outputs/losses_cvae.json",
        "outputs/loss_vae.png",
        "outputs/loss_cvae.png",
        "outputs/vae_samples.png",
        "outputs/vae_interpolation.png",
        "outputs/cvae_samples.png",
    ),
    datasets=("mnist",),
    # The released MNIST classifier (public; the grader's own stays in autograder/models) travels
    # with the agent to the sandbox and the student release; README.md is the hand-in's write-up.
    run=("assignment.py", "assignment.py --is_cvae"),
    agent_files=("check_classifier.py", "check_classifier.pt", "check_classifier.json"),
    documents=("README.md",),
    # The short training check makes an optimizer, and torch loads torch._dynamo for the first one
    # (about 1 s): the check's student process loads it while the grader loads the checks. Measured
    # with `python benchmarks/check_time.py --repeat 5`: hw4's reference 2.66 s with it, 3.19 s
    # without; hw5's checks are slower with it (their training check comes first and waits).
    check_preload=("torch._dynamo",),
)
