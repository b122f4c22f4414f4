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
def box(workdir, launcher):
    with Sandbox(workdir, "toy_agent", Limits(), "toy", launcher=launcher) as sandbox:
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


def test_a_process_trains_with_one_thread_and_answers_with_as_many_as_the_grader_names(workdir):
    """One torch thread by default (trainings stay the same on every machine); a request that
    names a thread count (a trained model's harvest, training.py) runs with it and sets no other."""
    (workdir / "threads_agent.py").write_text("import os, torch\nEXPORTS = ('threads',)\n"
                                            "def threads():\n    return torch.get_num_threads(), os.environ['OMP_WAIT_POLICY']\n")
    with Sandbox(workdir, "threads_agent") as sandbox:
        assert sandbox.call("threads") == (1, "PASSIVE")
        sandbox.threads = 2
        assert sandbox.call("threads") == (2, "PASSIVE")
        sandbox.threads = 10 ** 6   # not a count the child accepts: unchanged
        assert sandbox.call("threads") == (2, "PASSIVE")


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


def test_environment_is_scrubbed(workdir, monkeypatch, launcher):
    monkeypatch.setenv("GRADER_SECRET", "do-not-leak")
    (workdir / "env_agent.py").write_text("import os\nEXPORTS=('env',)\ndef env():\n    return dict(os.environ, CWD=os.getcwd())\n")
    with Sandbox(workdir, "env_agent", launcher=launcher) as sandbox:
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


def test_unpickling_is_restricted(workdir, launcher):
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
    with Sandbox(workdir, "evil_agent", launcher=launcher) as sandbox:
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


PROBE_AGENT = '''
import os, resource, sys
EXPORTS = ("probe",)

def probe():
    import autograder.pipeline.child as child
    here = os.getcwd()
    runtime = os.path.dirname(here)
    def local(path):
        return path.replace(runtime, "<runtime>")
    limits = {name: resource.getrlimit(getattr(resource, name)) for name in
              ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_CORE")}
    return {
        "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "limits": limits,
        "env": {key: local(value) for key, value in os.environ.items()},
        "path": [local(p) for p in sys.path],
        "child": local(child.__file__),
        "kit_modules": sorted(name for name, module in sys.modules.items()
                              if name.startswith("autograder") and getattr(module, "__file__", None)
                              and not module.__file__.startswith(runtime)),
        "parent": os.getppid(), "session_leader": os.getsid(0) == os.getpid(),
        "network": os.readlink("/proc/self/ns/net"),
    }
'''


def test_a_fork_server_copy_is_the_same_student_process_as_a_fresh_one(workdir):
    """What a student's code can see of its process (user, descriptors, limits, environment,
    import path, session, network, parent) is the same whether the sandbox started a fresh python
    or a copy of the fork server; only the copy skips importing torch."""
    from autograder.pipeline.forkserver import ForkServer, Forked

    (workdir / "probe_agent.py").write_text(PROBE_AGENT)
    seen = {}
    server = ForkServer()
    try:
        for way, launcher in (("exec", None), ("fork", server)):
            with Sandbox(workdir, "probe_agent", launcher=launcher) as sandbox:
                seen[way] = sandbox.call("probe")
                assert isinstance(sandbox.process, Forked) == (way == "fork")
                pid = sandbox.process.pid
            if way == "fork":
                assert sandbox.process is None and not Path(f"/proc/{pid}").exists()   # reaped by the grader
    finally:
        server.close()
    exec_, fork = seen["exec"], seen["fork"]
    import os

    assert fork["parent"] == os.getpid() and fork["session_leader"]
    # standard input, output and error, the two pipes, and the one listing /proc/self/fd: nothing else
    assert len(fork["fds"]) == len(exec_["fds"]) == 6 and fork["fds"][:3] == [0, 1, 2]
    assert "forkserver" not in " ".join(fork["kit_modules"]) and fork["kit_modules"] == []
    assert fork["child"].startswith("<runtime>/kit/")
    from autograder.pipeline import accounts

    if accounts.network_flags():
        assert fork["network"] != os.readlink("/proc/self/ns/net")
    for key in ("uid", "gid", "groups", "limits", "env", "path", "child", "session_leader"):
        if key in ("uid",):   # each sandbox has a user of its own (as root)
            assert (fork[key] == os.getuid()) == (exec_[key] == os.getuid())
            continue
        assert fork[key] == exec_[key], key


def test_a_sandbox_starts_the_usual_way_when_the_fork_server_is_gone(workdir):
    from autograder.pipeline.forkserver import ForkServer, Forked

    server = ForkServer()
    server._process.kill()
    server._process.wait()
    with Sandbox(workdir, "toy_agent", launcher=server) as sandbox:
        assert sandbox.call("double", torch.ones(2)).tolist() == [2.0, 2.0]
        assert not isinstance(sandbox.process, Forked)
    assert not server.running
    server.close()


def test_the_grade_verb_uses_its_fork_server_with_two_jobs_only(tmp_path):
    """``grade --jobs 2`` (the default) starts the student's processes from its fork server; one job
    keeps one student process at a time without it. Same score either way."""
    import json
    import subprocess
    import sys

    kit = Path(__file__).resolve().parents[1]
    forked = {}
    for jobs in (1, 2):
        meta, out = tmp_path / f"meta{jobs}.json", tmp_path / f"results{jobs}.json"
        done = subprocess.run([sys.executable, "-m", "autograder", "grade", "hw1", str(kit / "solutions" / "hw1"),
                               "--only", "sample_", "--jobs", str(jobs), "--out", str(out), "--meta", str(meta),
                               "--quiet"], cwd=kit, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        results = json.loads(out.read_text())
        assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0
        forked[jobs] = json.loads(meta.read_text())["forked_processes"]
    assert forked == {1: 0, 2: 1}


def test_fork_server_copies_start_every_time(workdir):
    """Many copies, each answering in time, with the server on one core, where the step in between
    runs (and ends) before the copy it forked: a copy starts only once the grader has adopted it,
    whatever the order in which the processes run."""
    import os

    from autograder.pipeline.forkserver import ForkServer, Forked

    server = ForkServer()
    try:
        os.sched_setaffinity(server.pid, {min(os.sched_getaffinity(0))})
        boxes = [Sandbox(workdir, "toy_agent", launcher=server, label=f"toy{i}") for i in range(6)]
        try:
            for box in boxes:
                box.ensure_running()
            pids = {box.call("pid", timeout=30) for box in boxes}
            assert len(pids) == 6 and all(isinstance(box.process, Forked) for box in boxes)
        finally:
            for box in boxes:
                box.__exit__(None, None, None)
    finally:
        server.close()


def test_a_forked_process_is_waited_for_like_a_popen():
    """``Forked.wait`` (the fork server's copies, which the grader adopts) gives the exit status once
    the process ends, raises ``TimeoutExpired`` when it outlives the timeout, and answers again
    after the process was reaped."""
    import subprocess
    import sys

    from autograder.pipeline.forkserver import Forked

    child = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(0.5); sys.exit(3)"])
    forked = Forked(child.pid)
    with pytest.raises(subprocess.TimeoutExpired):
        forked.wait(timeout=0.05)
    with pytest.raises(subprocess.TimeoutExpired):   # a deadline already passed, as Popen allows
        forked.wait(timeout=-1)
    assert forked.returncode is None
    assert forked.wait(timeout=30) == 3
    assert forked.wait() == 3 and forked.poll() == 3

    child = subprocess.Popen([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"])
    assert Forked(child.pid).wait() == -9
