"""What every homework's public checks (``public.py``) share: the student's process they ask,
and the checks that read the same in several homeworks.

Public checks run in one sandboxed student process, labelled :data:`SANDBOX`; ``python -m
autograder check`` starts it before it loads the checks, so the student's process imports torch
while the grader's own process does. Shipped to students with the check verb.
"""
from __future__ import annotations

from . import expect
from .score import Fail

SANDBOX = "check"   # the label of the student's process the public checks share
TIMEOUT = 60.0      # seconds one public check's request may take (they take well under one)


def ask(ctx, method: str, *args, what: str, timeout: float = TIMEOUT, **kwargs):
    """The agent's ``method`` called in the student's check process; ``what`` says in the feedback
    what the check asked for."""
    return ctx.sandbox(SANDBOX).call(method, *args, what=what, timeout=timeout, **kwargs)


def reparametrization(ctx, method: str = "reparametrize", logvar: str = "logvar", exact: bool = True):
    """The sampling step ``z = method(mu, logvar)`` with ``mu`` and ``logvar`` zeros of shape
    (3, 4): ``z`` must have that shape (``exact=False``: any layout of 3 rows of 4 values) and carry
    gradients back to both inputs. The agent's ``method(mu, logvar, weights)`` returns
    ``{"z", "grad_mu", "grad_" + logvar}``."""
    import torch

    answer = ask(ctx, method, torch.zeros(3, 4), torch.zeros(3, 4), torch.ones(3, 4),
                 what=f"{method}(mu, {logvar}) with mu, {logvar} = zeros(3, 4)")
    (expect.tensor if exact else expect.values)(answer["z"], "z", (3, 4))
    if answer["grad_mu"] is None or answer[f"grad_{logvar}"] is None:
        raise Fail(f"No gradient reaches mu or {logvar} through z.")
