"""Entry point of the student's sandboxed process (started by :mod:`autograder.pipeline.isolate`).

    python -m autograder.pipeline.child AGENT_MODULE REQUEST_FD ANSWER_FD

It loads the homework's *agent* module (code of the kit's that imports the student's files and
calls them) and then serves requests ``{"method", "args", "seed"}`` (and ``"threads"``, for
torch, when the grader names them) until the grader closes the pipe. Before each request every
random generator is seeded with the request's seed, so the same submission gives the same answers
every time. An exception in student code, ``sys.exit`` and
``KeyboardInterrupt`` included, becomes an error answer with the last lines of its traceback in the
student's own files; it never reaches the grader as anything but data.
"""
from __future__ import annotations

import os
import sys
import traceback


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def deterministic(torch) -> None:
    """What ``torch.use_deterministic_algorithms(True, warn_only=True)`` sets, without its cost.

    That call also imports torch.compile's configuration to set its ``deterministic`` flag: about
    800 modules (sympy among them), 1.3 s of CPU in every student process before any of the
    student's code runs. The student's process gets that flag from ``TORCHINDUCTOR_DETERMINISTIC=1``
    (:func:`autograder.pipeline.isolate.child_environment`) instead, which torch.compile reads when,
    and only if, a student's code uses it."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:   # another torch: the public call, slow but the same
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        setter(True, warn_only=True)


def use_threads(threads) -> None:
    """Set torch's thread count when a request names one (the grader's questions to a trained
    model; see autograder/pipeline/training.py)."""
    if isinstance(threads, int) and 1 <= threads <= 64:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


def preload(names) -> None:
    """Import the modules ``Limits.preload`` names in a thread of their own, while the process
    already serves: a request that needs one of them waits for it (Python's import lock), the
    others do not. An import that fails here is left to the code that needs it."""
    import importlib
    import threading

    def load():
        for name in names:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001
                return
    threading.Thread(target=load, name="preload", daemon=True).start()


def _hint(exc: BaseException, message: str) -> str:
    """A line of advice for mistakes whose message alone does not say what to change."""
    lowered = message.lower()
    if "cuda" in lowered or "nvidia driver" in lowered:
        return ("The grader runs on a CPU without a GPU: do not hard-code .cuda() or device='cuda'. Put new "
                "tensors where the inputs are (torch.randn_like(mu), torch.zeros(..., device=x.device), .to(x)).")
    if isinstance(exc, AttributeError) and message.startswith("module '") and "has no attribute" in message:
        return ("The grader calls the functions and classes of the handout by name: keep each one with the "
                "name and signature the handout gives.")
    return ""


def describe_exception(exc: BaseException, workdir: str, limit: int = 6) -> dict:
    """Type, message, advice, and the traceback cut to the frames in the student's own files.

    Frames of the grader, the kit and the libraries are left out; a line with "…" stands where
    frames were cut, so the student sees their own lines in the order they ran.
    """
    def own(filename: str) -> bool:
        return os.path.abspath(filename).startswith(workdir + os.sep)

    def show(filename: str, lineno, name: str | None, line: str | None) -> list:
        where = f'  File "{os.path.relpath(filename, workdir)}", line {lineno}' + (f", in {name}" if name else "")
        return [where] + ([f"    {line.strip()}"] if line and line.strip() else [])

    entries: list = []   # each: a list of lines of one of the student's frames, or None for a cut
    for frame in traceback.extract_tb(exc.__traceback__):
        if own(frame.filename):
            entries.append(show(frame.filename, frame.lineno, frame.name, frame.line))
        elif not entries or entries[-1] is not None:
            entries.append(None)
    if isinstance(exc, SyntaxError) and exc.filename and own(exc.filename):
        entries.append(show(exc.filename, exc.lineno, None, exc.text))
    kept = [e for e in entries if e is not None]
    if len(kept) > limit:   # the last frames say most; mark the older ones as cut
        cut_from = [i for i, e in enumerate(entries) if e is not None][-limit]
        entries = [None] + entries[cut_from:]
    lines = []
    if kept:
        for entry in entries:
            lines += ["  …"] if entry is None else entry
    if isinstance(exc, SystemExit):
        message = f"the code called sys.exit({exc.code!r})"
    else:
        message = str(exc)
    return {"type": type(exc).__name__, "message": message[:2000], "traceback": "\n".join(lines),
            "hint": _hint(exc, message)}


def serve(agent, request_fd: int, answer_fd: int, workdir: str) -> None:
    from autograder.pipeline import wire

    exported = set(getattr(agent, "EXPORTS", ()))
    while True:
        try:
            request = wire.read_frame(request_fd)
        except wire.WireError:
            return  # the grader is done with us
        method = request.get("method")
        try:
            if method not in exported:
                raise LookupError(f"the grader asked for an unknown step {method!r}")
            seed_everything(int(request.get("seed", 0)))
            use_threads(request.get("threads"))
            value = getattr(agent, method)(*request.get("args", ()), **request.get("kwargs", {}))
            answer = {"ok": True, "value": value}
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything, SystemExit too
            answer = {"ok": False, "error": describe_exception(exc, workdir)}
        try:
            wire.write_frame(answer_fd, answer)
        except Exception as exc:  # an answer that cannot be serialised is the student's problem
            wire.write_frame(answer_fd, {"ok": False, "error": {
                "type": type(exc).__name__, "traceback": "",
                "message": f"the result could not be sent back to the grader: {str(exc)[:300]}"}})


def main(argv: list[str]) -> int:
    agent_name, request_fd, answer_fd = argv[0], int(argv[1]), int(argv[2])
    workdir = os.path.abspath(os.getcwd())
    if workdir not in sys.path:
        sys.path.insert(0, workdir)
    import importlib

    import torch

    torch.set_num_threads(int(os.environ.get("AEKIT_THREADS", "1")))
    deterministic(torch)
    agent = importlib.import_module(agent_name)
    preload(filter(None, os.environ.get("AEKIT_PRELOAD", "").split(",")))
    serve(agent, request_fd, answer_fd, workdir)
    return 0


def finish(code: int) -> None:
    """End the process without Python's clean-up: the grader is done with it, and tearing down
    torch's objects one by one costs about half a second of CPU (1-2 s of wall time on a busy
    machine) for nothing. What the student's code printed is flushed first."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - student code may have replaced or closed the streams
            pass
    os._exit(code)


if __name__ == "__main__":
    finish(main(sys.argv[1:]))
