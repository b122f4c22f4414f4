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
    output_files=("outputs/dev.npy", "outputs/test.npy"),
    datasets=("signs",),
    student_dir="answer",
    upload_files=("source.zip", "output.zip"),
    # hooks.py opens the hand-in (two zips, or the homework folder) and makes the two zips.
    run=("answer/vae.py",),
    grade_table="grade_table_seed.csv",
    # public by design: students score their own dev codes with the grader's scoring
    release_files=("scoring.py", "grade_table_seed.csv"),
)
