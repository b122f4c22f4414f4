"""The student stencil is generated from the reference solution and must not drift from it."""
import ast

import pytest

from autograder.homeworks import available
from autograder.stencil import main, stencil_files, strip_solutions

SOURCE = '''def f(x):
    """Doc."""
    y = None
    ### BEGIN SOLUTION
    y = 2 * x
    ### END SOLUTION
    return y


class Model:
    def forward(self, x):
        ### BEGIN SOLUTION
        return x
        ### END SOLUTION
'''


def test_regions_become_not_implemented_errors_naming_the_function():
    out = strip_solutions(SOURCE, "toy.py")
    assert "2 * x" not in out and "return x\n" not in out
    assert 'raise NotImplementedError("TODO: fill in f (toy.py)")' in out
    assert 'raise NotImplementedError("TODO: fill in Model.forward (toy.py)")' in out
    ast.parse(out)


def test_markdown_regions_become_the_answer_stub(tmp_path):
    text = "# README\n\n## Accuracy\n\n### BEGIN SOLUTION\n97 %, no known bugs.\n### END SOLUTION\n\nEnd.\n"
    out = strip_solutions(text, "README.md", stub="YOUR ANSWER HERE")
    assert out == "# README\n\n## Accuracy\n\nYOUR ANSWER HERE\n\nEnd.\n"


@pytest.mark.parametrize("bad, message", [
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n", "nested"),
    ("### END SOLUTION\n", "without"),
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
])
def test_malformed_markers_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        strip_solutions(bad)


@pytest.mark.parametrize("homework", available())
def test_committed_stencil_equals_a_fresh_generation(homework):
    files = stencil_files(homework)
    assert files, f"no solution files found for {homework}"
    for path, text in files.items():
        assert path.is_file(), f"{path} is missing: run python -m autograder stencil {homework}"
        assert path.read_text() == text, f"{path} drifted: run python -m autograder stencil {homework}"
        assert "BEGIN SOLUTION" not in text
        if path.suffix != ".md":  # Markdown write-up templates are not code
            ast.parse(text)
    assert main([homework, "--check"]) == 0


def test_a_source_notebook_becomes_the_student_version_nbgrader_makes():
    import json

    import nbformat

    from autograder.stencil import is_source_notebook, student_notebook

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    answer = nbformat.v4.new_markdown_cell("**Your answer:**\n\n### BEGIN SOLUTION\nThe KL term.\n### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": True, "grade_id": "q1", "locked": False, "points": 5,
                                   "schema_version": 3, "solution": True, "task": False}
    check = nbformat.v4.new_code_cell("assert 1 + 1 == 2")
    check.metadata["nbgrader"] = {"grade": True, "grade_id": "c1", "locked": True, "points": 1,
                                  "schema_version": 3, "solution": False, "task": False}
    check.outputs = [nbformat.v4.new_output("stream", text="left over\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("Intro"), answer, check]
    text = nbformat.writes(nb)
    assert is_source_notebook(text) and not is_source_notebook(nbformat.writes(nbformat.v4.new_notebook()))
    student = json.loads(student_notebook(text))
    cells = student["cells"]
    assert "".join(cells[0]["source"]) == "Intro"
    assert "".join(cells[1]["source"]) == "**Your answer:**\n\nYOUR ANSWER HERE"
    assert cells[2]["outputs"] == [] and cells[2]["metadata"]["nbgrader"]["checksum"]
    assert cells[2]["metadata"]["editable"] is False  # nbgrader locks the autograded cell
