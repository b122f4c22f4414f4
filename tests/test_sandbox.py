"""The sandboxed student process: every way student code can fail becomes feedback, never a crash
of the grader, and only raw data comes back."""
import textwrap
from pathlib import Path

import pytest
import torch

from autograder.pipeline.isolate import Limits, Sandbox, StudentFailure
from autograder.pipeline.score import Context, Fail, Partial, graded, run_tests

TOY_AGENT = '''
import os, sys, time
import torch
import student

EXPORTS = ("double", "boom", "leave", "vanish", "hang", "garble", "pid", "noise", "state")
STATE = {}

def double(x):
    return student.double(x)

def boom():
    return student.boom()

def leave():
    sys.exit(3)

def vanish():
    os._exit(7)

def hang():
    while True:
        time.sleep(0.1)

def garble():
    os.write(int(sys.argv[-1]), (10).to_bytes(8, "big") + b"not-torch!")
    time.sleep(5)

def pid():
    return os.getpid()

def noise():
    return torch.rand(3)

def state(value=None):
    if value is not None:
        STATE["v"] = value
    return STATE.get("v")
'''

STUDENT = '''
import sys
print("hello from the student", flush=True)

def double(x):
    return 2 * x

def helper():
    raise ValueError("bad shapes in helper")

def boom():
    helper()
'''


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "toy_agent.py").write_text(TOY_AGENT)
    (tmp_path / "student.py").write_text(STUDENT)
    return tmp_path


@pytest.fixture
def box(workdir):
    with Sandbox(workdir, "toy_agent", Limits(), "toy") as sandbox:
        yield sandbox


def test_tensors_go_both_ways(box):
    assert torch.equal(box.call("double", torch.arange(4)), torch.arange(4) * 2)


def test_exception_becomes_feedback_with_the_students_traceback(box):
    with pytest.raises(StudentFailure) as err:
        box.call("boom", what="boom()")
    text = err.value.feedback
    assert "While the grader ran boom(), your code raised ValueError: bad shapes in helper" in text
    assert 'File "student.py"' in text and "in helper" in text


def test_sys_exit_is_reported_and_the_process_survives(box):
    with pytest.raises(StudentFailure, match=r"called sys.exit\(3\)"):
        box.call("leave")
    assert torch.equal(box.call("double", torch.ones(1)), torch.full((1,), 2.0))


def test_hard_exit_is_a_crash_and_the_next_call_restarts(box):
    first = box.call("pid")
    with pytest.raises(StudentFailure) as err:
        box.call("vanish", what="vanish()")
    assert err.value.kind == "crash" and "exited with code 7" in err.value.feedback
    assert "hello from the student" in err.value.feedback  # what the student printed is shown
    assert box.call("pid") != first


def test_hang_is_stopped_at_the_timeout(box):
    with pytest.raises(StudentFailure) as err:
        box.call("hang", what="hang()", timeout=2)
    assert err.value.kind == "timeout" and "did not finish within 2 seconds" in err.value.feedback
    assert box.call("double", torch.ones(1)).item() == 2.0


def test_state_persists_between_calls_in_one_process(box):
    box.call("state", 41)
    assert box.call("state") == 41


def test_seeded_calls_are_reproducible(box):
    a = box.call("noise", seed=5)
    b = box.call("noise", seed=5)
    c = box.call("noise", seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_the_students_process_is_deterministic_without_loading_torch_compile(workdir):
    """Deterministic kernels, warning where there is none, as torch.use_deterministic_algorithms(True,
    warn_only=True) sets them; torch.compile's flag too, but only once a student's code loads it."""
    (workdir / "mode_agent.py").write_text(textwrap.dedent('''
        import sys
        import torch
        EXPORTS = ("mode",)
        def mode():
            loaded_at_start = "torch._inductor.config" in sys.modules
            import torch._inductor.config as inductor
            return {"on": torch.are_deterministic_algorithms_enabled(),
                    "warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
                    "compile": inductor.deterministic, "loaded_at_start": loaded_at_start}
    '''))
    with Sandbox(workdir, "mode_agent") as sandbox:
        mode = sandbox.call("mode")
    assert mode == {"on": True, "warn_only": True, "compile": True, "loaded_at_start": False}, mode


def test_a_preloaded_module_is_loaded_without_being_asked_for(workdir):
    """``Limits.preload`` (the check verb's torch._dynamo): the process imports it by itself."""
    (workdir / "loaded_agent.py").write_text(textwrap.dedent('''
        import sys, time
        EXPORTS = ("loaded",)
        def loaded(name, wait):
            deadline = time.monotonic() + wait
            while name not in sys.modules and time.monotonic() < deadline:
                time.sleep(0.01)
            return name in sys.modules
    '''))
    with Sandbox(workdir, "loaded_agent", Limits(preload=("xml.dom.minidom",))) as sandbox:
        assert sandbox.call("loaded", "xml.dom.minidom", 30.0) is True
    with Sandbox(workdir, "loaded_agent") as sandbox:
        assert sandbox.call("loaded", "xml.dom.minidom", 1.0) is False


def test_environment_is_scrubbed(workdir, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "do-not-leak")
    (workdir / "env_agent.py").write_text("import os\nEXPORTS=('env',)\ndef env():\n    return dict(os.environ, CWD=os.getcwd())\n")
    with Sandbox(workdir, "env_agent") as sandbox:
        seen = sandbox.call("env")
    assert "GRADER_SECRET" not in seen
    # The student runs in a private copy of the submission, never in the grader's own folders.
    assert seen["HOME"] == seen["CWD"] and seen["CWD"] != str(workdir)
    assert Path(seen["CWD"], "student.py").is_file() is False  # removed with the sandbox


def test_import_error_of_student_code_is_feedback(tmp_path):
    (tmp_path / "toy_agent.py").write_text("EXPORTS=('f',)\ndef f():\n    import student\n")
    (tmp_path / "student.py").write_text("def broken(:\n    pass\n")
    with Sandbox(tmp_path, "toy_agent") as sandbox:
        with pytest.raises(StudentFailure, match="SyntaxError"):
            sandbox.call("f")


def test_a_crash_in_one_test_leaves_the_other_tests_scored(workdir):
    @graded("crashes", points=2)
    def crashes(ctx):
        ctx.sandbox("s").call("vanish")

    @graded("works", points=3)
    def works(ctx):
        assert ctx.sandbox("s").call("double", torch.ones(1)).item() == 2.0

    @graded("half", points=4)
    def half(ctx):
        return Partial(0.5, "half way")

    @graded("grader bug", points=1)
    def grader_bug(ctx):
        raise KeyError("oops")

    @graded("fails", points=1)
    def fails(ctx):
        raise Fail("not good enough")

    results = run_tests([crashes, works, half, grader_bug, fails], Context(workdir, "toy_agent"))
    assert [r.score for r in results] == [0.0, 3.0, 2.0, 0.0, 0.0]
    assert [r.status for r in results] == ["failed", "passed", "failed", "failed", "failed"]
    assert "internal error" in results[3].output and results[4].output == "not good enough"


def test_unpickling_is_restricted(workdir):
    """A forged answer frame holding an arbitrary object is refused, not executed."""
    (workdir / "evil_agent.py").write_text(textwrap.dedent('''
        import os, sys, io, pickle
        EXPORTS = ("evil",)
        class Payload:
            def __reduce__(self):
                return (os.system, ("touch pwned",))
        def evil():
            return Payload()
    '''))
    with Sandbox(workdir, "evil_agent") as sandbox:
        with pytest.raises(StudentFailure):
            sandbox.call("evil")
    assert not (workdir / "pwned").exists()


def test_forged_bytes_on_the_answer_pipe_are_refused(box):
    with pytest.raises(StudentFailure) as err:
        box.call("garble", what="garble()")
    assert err.value.kind == "garbled" and "cannot read" in err.value.feedback
    assert box.call("double", torch.ones(1)).item() == 2.0


def test_a_slice_travels_without_its_whole_storage():
    from autograder.pipeline import wire

    big = torch.zeros(10000, 784)
    assert len(wire.encode([big[:10]])) < 10 * 784 * 4 + 4096
    assert torch.equal(wire.decode(wire.encode({"x": big[5:7]})[8:])["x"], big[5:7])



def test_feedback_cuts_the_kits_frames_and_hints_at_a_hard_coded_gpu(tmp_path):
    """describe_exception, which the child runs on every error: only the student's frames, "…"
    where the kit's or the libraries' were, and a hint for a GPU the grader does not have."""
    import importlib.util

    from autograder.pipeline.child import describe_exception

    work = tmp_path / "work"
    work.mkdir()
    (work / "student_gpu.py").write_text("import torch\n\ndef helper():\n    return torch.zeros(2).cuda()\n\n"
                                         "def gpu():\n    return helper()\n")
    spec = importlib.util.spec_from_file_location("student_gpu", work / "student_gpu.py")
    student = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(student)

    def kit_side():   # a frame of the grader's own, like agent.py's
        return student.gpu()

    with pytest.raises(Exception) as err:
        kit_side()
    described = describe_exception(err.value, str(work))
    lines = described["traceback"].splitlines()
    assert lines[0] == "  …" and 'File "student_gpu.py", line 7, in gpu' in lines[1], lines
    assert any('line 4, in helper' in line for line in lines)
    assert "test_sandbox.py" not in described["traceback"]
    assert "without a GPU" in described["hint"]

    with pytest.raises(AttributeError) as err:
        getattr(importlib.import_module("math"), "not_there")
    described = describe_exception(err.value, str(work))
    assert described["traceback"] == "" and "keep each one with the name" in described["hint"]
