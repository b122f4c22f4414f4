"""The course kit's autograder: ``python -m autograder VERB ...`` (see :mod:`autograder.cli`).

Layout: ``pipeline/`` is the homework-agnostic grading machinery (unpack, isolate, score,
report); ``homeworks/hwN/`` holds each homework's spec, public checks, hidden tests and the agent
that runs inside the student's process; ``models/`` holds the grader's own pretrained models.
"""
