"""Fixtures of the log tests: real Postfix and Exim instances (the fault lab is
tests/logs/lab.py, used as a context manager by the module-scoped fixtures)."""

from __future__ import annotations

from tests.support.exim import exim_factory
from tests.support.postfix import postfix_factory

__all__ = ["exim_factory", "postfix_factory"]
