"""The grading pipeline, one small step per module, in the order a submission meets them:

1. :mod:`.unpack`  - a folder or zip becomes a private working copy holding the submission;
2. :mod:`.isolate` - student code runs in a separate, limited process (:mod:`.child` is its
   entry point) that answers the grader's requests with raw tensors only;
3. :mod:`.score`   - each test of the homework is run and scored on its own, with partial credit
   and feedback a student can act on;
4. :mod:`.report`  - the scores become Gradescope's ``results.json`` and a readable summary.

Nothing here knows about a particular homework: homeworks plug in through
:mod:`autograder.homeworks`.
"""
