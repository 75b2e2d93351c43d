"""Fixtures of the MTA tests: private Postfix instances and fault namespaces."""

from __future__ import annotations

from tests.mta.netns import fault_netns
from tests.support.postfix import postfix_factory

__all__ = ["fault_netns", "postfix_factory"]
