"""Homework 5's upload opening lives in ``hooks.py`` (its ``prepare`` hook); the hidden tests still
import :func:`uploaded` from here."""
from .hooks import prepare, uploaded  # noqa: F401
