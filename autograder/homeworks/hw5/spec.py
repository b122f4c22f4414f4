"""Homework 5 (clustering handwritten signs with a VAE): what students hand in.

Students work in ``stencil/hw5/``: their code and write-up live in ``answer/`` (``vae.py`` and
``vae.ipynb``), and ``answer/vae.py`` writes the dev and test codes to ``outputs/``. They upload two
zips: ``source.zip`` (``python zipsrc.py hw5``: the ``answer/`` folder) and ``output.zip``
(``python zipout.py hw5``: ``dev.npy`` and ``test.npy``, float32 arrays (N, Z) in the data's order).
"""
from autograder.homeworks import HomeworkSpec

SPEC = HomeworkSpec(
    name="hw5",
    title="Homework 5: recovering an alphabet by clustering VAE codes",
    source_files=("vae.py", "vae.ipynb"),
    notebook="notebooks/hw5.ipynb",
    output_files=("outputs/dev.npy", "outputs/test.npy"),
    agent="autograder.homeworks.hw5.agent",
    datasets=("signs",),
    student_dir="answer",
    upload_files=("source.zip", "output.zip"),
    prepare="autograder.homeworks.hw5.submission:prepare",
    packaging="autograder.homeworks.hw5.packaging",
    extra={"run": ("answer/vae.py",), "grade_table": "grade_table_seed.csv",
           # public by design: students score their own dev codes with the grader's scoring
           "release_modules": ("scoring.py", "grade_table_seed.csv")},
)
