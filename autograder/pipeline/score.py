"""Graded tests: how a homework declares them and how each one is run and scored on its own.

A homework's ``hidden.py`` (or ``public.py``) lists tests made with :func:`test`::

    @graded("loss_function: negative ELBO averaged per image", points=8)
    def loss(ctx):
        value = ctx.sandbox("units").call("loss", x_hat, x, mu, logvar, what="loss_function(...)")
        if not close(value, expected):
            raise Fail("loss_function returned ..., the grader expected ...")
        return "loss_function agrees with the grader."          # full marks

A test earns full marks by returning (a message or ``None``), partial marks by returning
:class:`Partial`, and nothing by raising :class:`Fail`. A :class:`StudentFailure` from the student's
process fails just that test with its feedback; a bug in the grader's own test code is reported as
such and also fails only that test. Shared, expensive work (training a model once for several tests)
goes through :meth:`Context.once`, which remembers a failure as well as a value, so every test that
depends on it gets the same feedback.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .isolate import Limits, Sandbox, StudentFailure


TRAINING_TIMEOUT = 1800.0   # seconds for one training of a student's model (``--timeout``)
CALL_TIMEOUT = 120.0        # seconds for one quick call into student code


class Fail(Exception):
    """The student's work does not meet the test; the message says why and what to do."""


@dataclass
class Partial:
    fraction: float
    message: str


@dataclass
class GradedTest:
    name: str
    points: float
    func: Callable
    visibility: str = "visible"


@dataclass
class TestResult:
    name: str
    score: float
    max_score: float
    output: str
    visibility: str = "visible"
    seconds: float = 0.0
    failure: str = ""   # why student code failed: error, timeout, memory, crash, garbled; or grader
    pictures: list = field(default_factory=list)   # pictures.Picture drawn by the grader for this test

    @property
    def status(self) -> str:
        return "passed" if self.score >= self.max_score else "failed"


def graded(name: str, points: float, visibility: str = "visible"):
    """Decorator declaring a graded test worth ``points``."""
    def wrap(func):
        return GradedTest(name=name, points=points, func=func, visibility=visibility)
    return wrap


@dataclass
class Context:
    """What a test can use: the student's folder, sandboxes, options and shared results."""

    workdir: Path
    agent: str
    options: dict = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    _sandboxes: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict)
    isolation: dict = field(default_factory=dict)   # what the sandboxes that ran could enforce
    pictures: list = field(default_factory=list)    # drawn by the test now running (run_test collects them)
    trainings: dict = field(default_factory=dict)   # seconds each student training took (its own epochs)
    flags: set = field(default_factory=set)         # one-off events of this grading (a training harvested, ...)
    # The homework's PREPARE (hidden.py): functions ``f(ctx)`` run before the first test, so before
    # any student process: they make the grader's own heavy data (through ``ctx.once``), so that the
    # memory they pass through is given back before a student process shares the machine, and may
    # start the trainings early (training.py).
    prepare: tuple = ()
    tests: tuple = ()   # the names of the tests this grading runs (all, or those ``--only`` chose)
    gatherers: dict = field(default_factory=dict)   # threads gathering trained models (training.py)
    launcher: object = None   # the grade verb's fork server (forkserver.py): sandboxes start faster

    # The grading's settings, read the same way by every homework's tests.
    def seed(self, offset: int) -> int:
        """The seed of the grader's random draw number ``offset``. Every draw changes with the
        grading's ``seed`` option (0 by default), and two draws never share a seed."""
        return int(self.options.get("seed", 0)) * 1000 + offset

    def generator(self, offset: int):
        """A ``torch.Generator`` seeded with :meth:`seed` ``(offset)``."""
        import torch

        return torch.Generator().manual_seed(self.seed(offset))

    @property
    def timeout(self) -> float:
        """Seconds one training of the student's model may take (the ``timeout`` option)."""
        return float(self.options.get("timeout", TRAINING_TIMEOUT))

    @property
    def call_timeout(self) -> float:
        """Seconds one quick call into student code may take (not a training run)."""
        return float(self.options.get("call_timeout", CALL_TIMEOUT))

    @property
    def jobs(self) -> int:
        """How many student processes may work at once (the ``jobs`` option, 2 by default)."""
        return max(int(self.options.get("jobs", 2)), 1)

    @property
    def units(self) -> Sandbox:
        """The student process the unit tests call (ended when the trainings start)."""
        return self.sandbox("units")

    def call(self, method: str, *args, what: str, seed: int = 0, **kwargs):
        """One quick call of the agent's ``method`` in the :attr:`units` process (``what`` names it
        in feedback; ``seed`` is set before it runs), limited to :attr:`call_timeout` seconds."""
        return self.units.call(method, *args, what=what, seed=seed, timeout=self.call_timeout, **kwargs)

    def _record(self, box: Sandbox) -> None:
        if box.isolation.get("started"):
            for key, value in box.isolation.items():
                self.isolation[key] = self.isolation.get(key, True) and value

    def sandbox(self, label: str) -> Sandbox:
        """The student process named ``label``, started on first use and kept for later tests."""
        if label not in self._sandboxes:
            self._sandboxes[label] = self._start(label)
        return self._sandboxes[label]

    def _start(self, label: str) -> Sandbox:
        return Sandbox(self.workdir, self.agent, self.limits, label, launcher=self.launcher)

    def picture(self, title: str, figure, caption: str = "") -> None:
        """Show ``figure`` (a :mod:`.pictures` figure, or a function making one from tensors the
        sandbox returned) in this test's feedback. Drawing it can never fail the test: a figure
        that cannot be drawn says so in its caption. Pictures are drawn only when the grading
        asks for them (the ``pictures`` option, on by default)."""
        from . import pictures

        if self.options.get("pictures", True):
            self.pictures.append(pictures.render(title, figure, caption))

    def release(self, label: str, collect: bool = True) -> None:
        """Stop the student process ``label`` (its memory is needed elsewhere); ``collect`` as in
        :func:`give_back_memory`."""
        box = self._sandboxes.pop(label, None)
        if box is not None:
            self._record(box)
            box.__exit__(None, None, None)
            give_back_memory(collect)

    def drop(self, *keys: str, collect: bool = True) -> None:
        """Forget what :meth:`once` remembered under ``keys`` (large data no later test needs);
        ``collect`` as for :func:`give_back_memory`."""
        for key in keys:
            self._cache.pop(key, None)
        give_back_memory(collect)

    def once(self, key: str, compute: Callable):
        """Run ``compute()`` once; later calls return its value or re-raise its failure."""
        if key not in self._cache:
            try:
                self._cache[key] = ("value", compute())
            except (Fail, StudentFailure) as err:
                self._cache[key] = ("error", err)
        kind, value = self._cache[key]
        if kind == "error":
            raise value
        return value

    def close(self) -> None:
        while self._sandboxes:   # a gatherer thread may release one meanwhile
            try:
                _, box = self._sandboxes.popitem()
            except KeyError:
                break
            self._record(box)
            box.__exit__(None, None, None)
        for thread in list(self.gatherers.values()):   # they end once their student process is gone
            thread.join(timeout=30)


def give_back_memory(collect: bool = True) -> None:
    """Return the memory this grader process has freed to the system (glibc keeps freed blocks for
    reuse otherwise), so that a student process, alive or started next, has it. ``collect`` first
    frees what only the garbage collector would (about 0.1 s; the trim alone takes microseconds)."""
    import ctypes
    import gc

    if collect:
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_test(item: GradedTest, ctx: Context) -> TestResult:
    start = time.monotonic()
    failure = ""
    ctx.pictures = []
    try:
        outcome = item.func(ctx)
        if isinstance(outcome, Partial):
            fraction = min(max(float(outcome.fraction), 0.0), 1.0)
            score, output = round(item.points * fraction, 2), outcome.message
        else:
            score, output = float(item.points), outcome or "Passed."
    except Fail as err:
        score, output = 0.0, str(err)
    except StudentFailure as err:
        score, output, failure = 0.0, err.feedback, err.kind
    except Exception:  # the grader's own test broke: fail this test only, say so plainly
        score, failure = 0.0, "grader"
        output = ("The grader could not finish this test because of an internal error; this is not "
                  "necessarily your fault, so please tell your TA.\n" + traceback.format_exc(limit=3))
    drawn, ctx.pictures = ctx.pictures, []
    # A test's own tensors are freed by now, but glibc would keep them (hw2's augment test: 140 MB)
    # beside the student processes still alive.
    give_back_memory(collect=False)
    return TestResult(item.name, score, float(item.points), output, item.visibility,
                      round(time.monotonic() - start, 2), failure, drawn)


def run_tests(tests, ctx: Context, progress: Callable[[TestResult], None] | None = None) -> list[TestResult]:
    results = []
    tests = list(tests)
    ctx.tests = tuple(item.name for item in tests)
    try:
        for make in ctx.prepare:
            try:
                make(ctx)
            except Exception:   # noqa: BLE001 (what needs it fails again, in its own test, and says why)
                pass
        if ctx.prepare:
            give_back_memory()
        for item in tests:
            result = run_test(item, ctx)
            results.append(result)
            if progress:
                progress(result)
    finally:
        ctx.close()
    return results
