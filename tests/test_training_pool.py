"""The core's training pool (autograder/pipeline/training.py): side by side or one after the other,
the harvest that ends a student process before the grader's heavy work, and the time test. The
student processes here are stand-ins that record what they are asked; the real sandboxes are
exercised by every homework's grading tests."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autograder.pipeline import training
from autograder.pipeline.isolate import StudentFailure
from autograder.pipeline.score import Context, Fail, graded, run_test, run_tests


class Box:
    def __init__(self, log, label, answer):
        self.log, self.label, self.answer = log, label, answer
        self.isolation = {}
        self.threads = None   # as the real sandbox: torch threads of the requests from now on

    def ensure_running(self):   # the real sandbox starts its process here or on its first request
        self.log.append(("spawn", self.label))

    def submit(self, *call, seed, timeout, what):
        self.log.append(("submit", self.label, call, seed))

    def result(self):
        self.log.append(("result", self.label))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def call(self, method, *args, **kwargs):
        self.log.append(("call", self.label, method))
        self.asked_with = self.threads
        return method

    def __exit__(self, *exc):
        self.log.append(("end", self.label))


class Ctx(Context):
    """A grading context whose student processes are :class:`Box` stand-ins (``box_class``)."""

    box_class = Box

    def __init__(self, answers, **options):
        super().__init__(Path("."), "agent", options=options)
        self.log, self.answers = [], answers

    def _start(self, label):
        self.log.append(("start", label))
        return self.box_class(self.log, label, self.answers.get(label))


def _pool(harvest=None):
    return training.Trainings(("a", "b"), lambda ctx, kind: training.Job(("train", kind), ctx.seed(7), f"train {kind}"),
                              epochs=3, harvest=harvest)


def _asked(ctx):
    """What the student processes were asked, without their starts."""
    return [e for e in ctx.log if e[0] not in ("start", "spawn")]


GOOD = {"train-a": {"seconds": torch.tensor([1.0, 2.0])}, "train-b": {"seconds": 4.5}}


def test_two_jobs_train_side_by_side_and_one_job_one_after_the_other():
    ctx = Ctx(GOOD, jobs=2, seed=1)
    _pool().record(ctx, "a")
    asked = _asked(ctx)
    assert [e[:2] for e in asked[:2]] == [("submit", "train-a"), ("submit", "train-b")]
    assert asked[0][3] == 1007   # the job's own seed, from the grading's seed
    ctx = Ctx(GOOD, jobs=1)
    pool = _pool()
    pool.record(ctx, "a")
    pool.record(ctx, "b")
    assert [e[:2] for e in _asked(ctx)] == [("submit", "train-a"), ("result", "train-a"), ("end", "train-a"),
                                        ("submit", "train-b"), ("result", "train-b")]
    assert ctx.trainings == {"a": 3.0, "b": 4.5}


def test_side_by_side_every_process_starts_before_the_first_request_is_written():
    """A request is written only as fast as its process reads it, and a process reads nothing until
    it has loaded torch: hw2's images would hold the second start back by a second."""
    ctx = Ctx(GOOD, jobs=2)
    _pool().record(ctx, "b")
    events = [e[:2] for e in ctx.log if e[0] in ("spawn", "submit")]
    assert events == [("spawn", "train-a"), ("spawn", "train-b"), ("submit", "train-a"), ("submit", "train-b")]
    ctx = Ctx(GOOD, jobs=1)   # one at a time: each process starts with its own request
    _pool().record(ctx, "a")
    assert [e for e in ctx.log if e[0] == "spawn"] == []


def test_side_by_side_the_processes_start_while_the_grader_makes_the_requests():
    """Starting a student process takes about a second (torch) and a homework's request may carry a
    training set the grader makes first: the one waits beside the other, not after it."""
    import threading

    job_started = threading.Event()
    released = []

    class SlowStart(Box):
        def ensure_running(self):
            released.append(job_started.wait(timeout=3))   # False: the job waited for this start
            super().ensure_running()

    class SlowCtx(Ctx):
        box_class = SlowStart

    def job(ctx, kind):
        job_started.set()
        return training.Job(("train", kind), ctx.seed(7), f"train {kind}")

    ctx = SlowCtx(GOOD, jobs=2)
    training.Trainings(("a", "b"), job, epochs=3).record(ctx, "a")
    assert released == [True, True]
    assert [e[:2] for e in ctx.log if e[0] == "submit"] == [("submit", "train-a"), ("submit", "train-b")]


def test_side_by_side_a_request_the_grader_cannot_make_fails_that_training_only():
    def job(ctx, kind):
        if kind == "a":
            raise Fail("The grader could not make the training set.")
        return training.Job(("train", kind), ctx.seed(7), f"train {kind}")

    ctx = Ctx(GOOD, jobs=2)
    pool = training.Trainings(("a", "b"), job, epochs=3)
    assert pool.record(ctx, "b") == GOOD["train-b"]
    with pytest.raises(Fail, match="could not make"):
        pool.record(ctx, "a")
    assert ("spawn", "train-a") in ctx.log and ("submit", "train-b") in [e[:2] for e in ctx.log]


def test_the_harvest_runs_once_then_the_process_ends_and_cannot_be_asked_again():
    def codes(ctx, kind):
        ctx.once(f"codes-{kind}", lambda: pool.box(ctx, kind).call("encode"))
        pool.record(ctx, kind)   # a harvest may read the record again without looping

    pool = _pool(lambda kind: (codes,))
    ctx = Ctx(GOOD, jobs=2)
    pool.record(ctx, "a")
    pool.record(ctx, "a")
    assert ctx.log.index(("call", "train-a", "encode")) < ctx.log.index(("end", "train-a"))
    assert ctx.log.count(("call", "train-a", "encode")) == 1
    assert ctx.once("codes-a", lambda: "asked again") == "encode"   # remembered
    with pytest.raises(RuntimeError, match="ended after its harvest"):
        pool.box(ctx, "a")


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_a_trained_model_answers_its_harvest_with_the_gradings_threads(jobs):
    """Trained with one thread, a model answers its harvest with ``jobs`` threads, whether the
    trainings ran side by side or one after the other."""
    seen = {}

    def codes(ctx, kind):
        box = pool.box(ctx, kind)
        box.call("encode")
        seen[kind] = {"harvest": box.asked_with, "others": {k: ctx.sandbox(f"train-{k}").threads
                                                            for k in ("a", "b") if k != kind}}

    pool = _pool(lambda kind: (codes,))
    ctx = Ctx(GOOD, jobs=jobs)
    pool.record(ctx, "a")
    pool.record(ctx, "b")
    assert seen["a"]["harvest"] == seen["b"]["harvest"] == jobs
    if jobs >= 2:   # the other model was still training then: one thread
        assert seen["a"]["others"] == {"b": None}


def test_a_failed_training_fails_its_tests_and_the_time_test_counts_the_other():
    answers = {"train-a": StudentFailure("it crashed", kind="crash"), "train-b": {"seconds": 2.0}}
    test = _pool().time_test(points=4)
    result = run_test(test, Ctx(answers, jobs=2))
    assert result.score == 2.0 and "did not complete" in result.output and "B trained 3 epochs" in result.output
    timeout = {"train-a": StudentFailure("slow", kind="timeout"), "train-b": StudentFailure("slow", kind="timeout")}
    result = run_test(test, Ctx(timeout, jobs=2, timeout=60))
    assert result.score == 0.0 and "within 60 s" in result.output
    assert run_test(test, Ctx(GOOD, jobs=1)).score == 4.0


def test_an_answer_out_of_turn_is_a_failure_not_a_crash():
    ctx = Ctx({"train-a": "not a record", "train-b": {"seconds": 1.0}}, jobs=2)
    with pytest.raises(Fail, match="answered out of turn"):
        _pool().record(ctx, "a")


def test_with_two_jobs_the_trainings_start_before_the_unit_tests_and_with_one_they_wait():
    pool = _pool()

    @graded("trained", points=1)
    def trained(ctx):
        pool.record(ctx, "a")

    @graded("unit", points=1)
    def unit(ctx):
        ctx.sandbox("units").call("forward")

    def started(jobs, tests):
        ctx = Ctx(GOOD, jobs=jobs)
        ctx.prepare = (lambda c: ctx.log.append(("data",)), pool.early([trained]))
        run_tests(tests, ctx)
        return [e[:2] for e in ctx.log if e[0] in ("data", "start")]

    assert started(2, [unit, trained]) == [("data",), ("start", "train-a"), ("start", "train-b"), ("start", "units")]
    assert started(1, [unit, trained]) == [("data",), ("start", "units"), ("start", "train-a")]   # one at a time
    assert started(2, [unit]) == [("data",), ("start", "units")]   # --only: no training needed, none started
    # A grading of the training tests alone starts each training once.
    ctx = Ctx(GOOD, jobs=2)
    ctx.prepare = (pool.early([trained]),)
    run_tests([trained], ctx)
    assert [e[:2] for e in ctx.log if e[0] == "submit"] == [("submit", "train-a"), ("submit", "train-b")]


def test_side_by_side_each_training_is_gathered_in_the_background_and_a_grader_error_reaches_its_test():
    import threading

    b_done = threading.Event()

    class Slow(Box):
        def result(self):
            if self.label == "train-b":
                assert b_done.wait(10)
            return super().result()

    class SlowCtx(Ctx):
        box_class = Slow

    def codes(ctx, kind):
        pool.record(ctx, kind)
        if kind == "b":
            raise ZeroDivisionError("the grader's own bug")
        ctx.once(f"codes-{kind}", lambda: pool.box(ctx, kind).call("encode"))

    pool = _pool(lambda kind: (codes,))
    ctx = SlowCtx(GOOD, jobs=2)
    pool.record(ctx, "a")   # returns while b still trains: its gatherer waits in the background
    assert ("call", "train-a", "encode") in ctx.log and ("result", "train-b") not in ctx.log
    b_done.set()
    with pytest.raises(ZeroDivisionError):
        pool.record(ctx, "b")
    ctx.close()
    assert ctx.gatherers and all(not thread.is_alive() for thread in ctx.gatherers.values())
