"""Trainings of a student's models, each in a student process of its own.

A homework declares its trainings once, in ``hidden.py``::

    TRAININGS = training.Trainings(
        ("vae", "cvae"),
        lambda ctx, kind: training.Job(("train", kind, EPOCHS, ctx.seed(40)), seed=ctx.seed(41),
                                       what=f"train_vae ({EPOCHS} epochs of the {kind.upper()})"),
        epochs=EPOCHS)

and its tests ask for ``TRAININGS.record(ctx, "vae")`` (what the agent's training call answered)
and ``TRAININGS.box(ctx, "vae")`` (the process holding the trained model). The first test that needs
a training ends the unit-test process and starts the trainings: side by side when the grading may
use two jobs or more (``--jobs``, 2 by default), one after the other with one job, each in a fresh
process, so that only one model is alive at a time. The scores are the same either way: every
training has its own seed. List a training's tests before the next training's, so that with one job
the first process can be let go before the second starts.

With two jobs or more, ``PREPARE = (TRAININGS.early(TRAINING_TESTS),)`` in ``hidden.py`` starts
the trainings before the unit tests, which then run beside them.

``TRAININGS.time_test(points)`` is the graded test "each training finishes within the time limit".

Memory: a homework may pass ``harvest=function(kind)``, which names the functions ``f(ctx, kind)``
that ask the trained model for everything the tests will need (each cached with ``ctx.once``, so
each remembers its own value or failure; one that fails does not stop the others). They run as
soon as the training is recorded; the student's process is then ended, so that the grader's heavy
measurements (a classifier, a search of the training set) never share the machine with a student
process. A harvest must not draw pictures (they belong to the test that shows them), and each
function it calls must record the training (``record``) before its ``ctx.once``: recording is what
starts the harvest. Asking an ended process for more is a bug in the homework's tests, and is
reported as such.

Threads: a student process trains with one torch thread, which keeps the trained model the same on
every machine and with any ``--jobs``. Its harvest then runs with ``jobs`` threads, the grading's
share of the CPU: the last model to finish answers while the other cores are idle, which takes
about half the time with two jobs (0.3 s less for hw2's classifier). Those answers match one
thread's to the last bit for the layers the homeworks use (checked on every reference); a model
whose operations split one sum across threads could differ in the last bits, far below any
threshold's margin.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

import torch

from . import pictures
from .isolate import Sandbox, StudentFailure
from .score import Context, Fail, Partial, graded


_GATHERING = threading.Lock()


@dataclass
class Job:
    """One training: the agent call (its name and arguments), the seed the student's process sets
    before it, and how feedback names it."""

    call: tuple
    seed: int
    what: str


class Trainings:
    def __init__(self, kinds: tuple, job: Callable[[Context, str], Job], *, epochs: int,
                 label: Callable[[str], str] = str.upper, requires: tuple = ("seconds",),
                 harvest: Callable[[str], tuple] | None = None):
        self.kinds = tuple(kinds)
        self.harvest = harvest
        self.job = job
        self.epochs = epochs
        self.label = label
        self.requires = requires   # keys the agent's training answer must have

    def box(self, ctx: Context, kind: str) -> Sandbox:
        """The student process that trains (and then holds) the ``kind`` model."""
        if f"ended-{kind}" in ctx.flags:
            raise RuntimeError(f"the {self.label(kind)}'s process was ended after its harvest; ask for this "
                               "in the homework's harvest function")
        return ctx.sandbox(f"train-{kind}")

    def start(self, ctx: Context, kind: str) -> None:
        """Start the ``kind`` training (once), with the others too when jobs allow."""
        together = ctx.jobs >= 2
        ctx.release("units")
        kinds = self.kinds if together else (kind,)
        if together:
            ctx.once("spawned", lambda: self._spawn_while_preparing(ctx, kinds))
        failure = None
        for k in kinds:   # a training that cannot start fails its own tests, not the others'
            try:
                ctx.once(f"started-{k}", lambda k=k: self._submit(ctx, k, together))
            except (Fail, StudentFailure) as err:
                failure = err if k == kind else failure
        if failure is not None:
            raise failure

    def _spawn_while_preparing(self, ctx: Context, kinds: tuple) -> bool:
        """Trainings side by side: start every student process in a thread while this one makes
        each training's request (the homework's ``job``, which may make the grader's training set).
        A process starts in about a second (torch; with the fork server, the server's own import
        of it comes first) and the data takes a few tenths of one: one waits beside the other, not
        after it. A start that fails here is tried again, and reported, by the submission."""
        def spawn():
            for k in kinds:
                try:
                    self.box(ctx, k).ensure_running()
                except BaseException:  # noqa: BLE001 (the submission starts it again and reports it)
                    continue
        spawner = threading.Thread(target=spawn, name="spawn-trainings", daemon=True)
        spawner.start()
        try:
            for k in kinds:
                try:
                    self._job(ctx, k)
                except (Fail, StudentFailure):
                    pass   # remembered: the submission of that training reports it
        finally:
            spawner.join()
        return True

    def _job(self, ctx: Context, kind: str) -> Job:
        """The ``kind`` training's request, made once (kept until it is submitted)."""
        return ctx.once(f"job-{kind}", lambda: self.job(ctx, kind))

    def early(self, tests) -> Callable[[Context], None]:
        """For the homework's ``PREPARE``: when the grading may run two jobs or more and runs one of
        ``tests`` (those that need a trained model), start every training before the unit tests, so
        that they run while the unit tests do. The grading then ends soon after the longest training
        (the student processes' start-up and the unit tests no longer come first); one job keeps
        one student process at a time."""
        names = {test.name for test in tests}

        def start_early(ctx: Context) -> None:
            if ctx.jobs >= 2 and names & set(ctx.tests):
                self.start(ctx, self.kinds[0])
        return start_early

    def _submit(self, ctx: Context, kind: str, together: bool) -> bool:
        if not together:   # one model at a time: the previous training's process goes first
            for other in self.kinds:
                ctx.release(f"train-{other}")
        job = self._job(ctx, kind)
        self.box(ctx, kind).submit(*job.call, seed=job.seed, timeout=ctx.timeout, what=job.what)
        ctx.drop(f"job-{kind}", collect=False)   # it may hold a training set the grader needs no more
        return True

    def record(self, ctx: Context, kind: str) -> dict:
        """What the ``kind`` training answered (a dict with at least the ``requires`` keys), once."""
        if f"harvested-{kind}" not in ctx.flags:   # (a harvest's own calls, maybe in a gatherer thread)
            self.start(ctx, kind)
        if self.harvest is not None and ctx.jobs >= 2:
            self._wait_for_gatherer(ctx, kind)
        return self._gather(ctx, kind)

    def _gather(self, ctx: Context, kind: str, end: bool = True) -> dict:
        """The training's answer (once), then its harvest (see :meth:`_harvest` for ``end``)."""
        answer = ctx.once(f"trained-{kind}", lambda: self._answer(ctx, kind))
        self._harvest(ctx, kind, end)
        return answer

    def _answer(self, ctx: Context, kind: str) -> dict:
        answer = self.box(ctx, kind).result()
        if not isinstance(answer, dict) or any(key not in answer for key in self.requires):
            raise Fail(f"The {self.label(kind)} training answered out of turn.")
        if "seconds" in answer:   # the floor of the grading's wall time (see benchmarks)
            ctx.trainings[kind] = round(float(torch.as_tensor(answer["seconds"]).sum()), 2)
        return answer

    def _wait_for_gatherer(self, ctx: Context, kind: str) -> None:
        """Trainings side by side: each is gathered (its answer, then its harvest) by a thread of its
        own as soon as it ends, while the grader goes on with the tests of the others; asking for
        one waits for its thread. A harvest's own calls to ``record`` (in that thread) return at once."""
        with _GATHERING:   # once per grading: a gatherer may ask before the last one is started
            if not ctx.gatherers:
                ctx.gatherers.update({k: self._gatherer(ctx, k) for k in self.kinds})
        thread = ctx.gatherers.get(kind)
        if thread is not None and thread is not threading.current_thread():
            if not thread.gathered.is_set() and ctx.options.get("pictures", True):
                pictures.warm_up()   # while the model trains, not after
            thread.gathered.wait()
            if thread.failure is not None:   # the grader's own error: the test that asked reports it
                raise thread.failure

    def _gatherer(self, ctx: Context, kind: str) -> threading.Thread:
        """The thread that gathers ``kind``: the tests that wait for it go on once its harvest is
        done, while it ends the student process (``Context.close`` waits for that)."""
        def gather():
            try:
                self._gather(ctx, kind, end=False)
            except (Fail, StudentFailure):
                pass   # remembered by ctx.once: the tests of this training report it
            except BaseException as err:   # noqa: BLE001 (handed to the main thread)
                thread.failure = err
            finally:
                thread.gathered.set()
            if self.harvest is not None:   # (no garbage collection here: it would hold up the tests
                ctx.release(f"train-{kind}", collect=False)   # for 0.1 s; the trainings run side by side anyway)
        thread = threading.Thread(target=gather, name=f"gather-{kind}", daemon=True)
        thread.failure = None
        thread.gathered = threading.Event()
        thread.start()
        return thread

    def _harvest(self, ctx: Context, kind: str, end: bool = True) -> None:
        """Once per training: gather what the tests need from the trained model, then end its process
        (a gatherer thread ends it itself, ``end=False``, once the tests waiting for it go on)."""
        if self.harvest is None or f"harvested-{kind}" in ctx.flags:
            return
        ctx.flags.add(f"harvested-{kind}")   # the harvest's own calls to record() return at once
        self.box(ctx, kind).threads = max(1, ctx.jobs)   # see "Threads" above
        for gather in self.harvest(kind):
            try:
                gather(ctx, kind)
            except (Fail, StudentFailure):
                pass   # remembered by the ctx.once function that raised it, for its test to report
        ctx.flags.add(f"ended-{kind}")
        if end:
            ctx.release(f"train-{kind}")

    def time_test(self, points: float):
        """The graded test: every training finishes within the grading's time limit."""
        @graded("Training time: each training finishes within the time limit", points=points)
        def training_time(ctx):
            limit, share = ctx.timeout, 1.0 / len(self.kinds)
            lines, earned = [], 0.0
            for kind in self.kinds:
                name = self.label(kind)
                try:
                    seconds = float(torch.as_tensor(self.record(ctx, kind)["seconds"]).sum())
                    lines.append(f"The {name} trained {self.epochs} epochs in about {seconds:.0f} s "
                                 f"(limit {limit:.0f} s, enforced by the grader).")
                    earned += share
                except StudentFailure as err:
                    if err.kind == "timeout":
                        lines.append(f"The {name} did not finish {self.epochs} epochs within {limit:.0f} s.")
                    else:
                        lines.append(f"The {name} training did not complete, so its time cannot count "
                                     "(see the training tests for why).")
                except Fail:
                    lines.append(f"The {name} training did not complete (see the training tests for why).")
            if earned >= 1.0 - 1e-9:
                return "\n".join(lines)
            if earned == 0.0:
                raise Fail("\n".join(lines))
            return Partial(earned, "\n".join(lines))
        return training_time
