"""Helpers the grading tests share for reading a results.json back."""
from __future__ import annotations


def feedback_text(item: dict) -> str:
    """A test's feedback as plain text. A test with pictures has HTML in ``output`` (text escaped,
    then the images); its plain text is ``extra_data["text"]``."""
    return (item.get("extra_data") or {}).get("text", item["output"])


def feedback_of(results: dict, name: str) -> str:
    """The plain-text feedback of the test called ``name``."""
    return next(feedback_text(t) for t in results["tests"] if t["name"] == name)
