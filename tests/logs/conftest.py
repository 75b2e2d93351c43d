"""Fixtures of the log tests: real Postfix (and Exim) instances in a fault lab of our own."""

from __future__ import annotations

from tests.support.postfix import postfix_factory

__all__ = ["postfix_factory"]
