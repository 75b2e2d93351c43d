"""Shared pytest setup: markers that need privileges skip with a clear reason elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip privileged tests where they cannot run; CI runs as root and runs them all."""
    is_root = os.geteuid() == 0
    have_netns = is_root and shutil.which("ip") is not None and shutil.which("nft") is not None
    have_postfix = shutil.which("postfix") is not None or os.path.exists("/usr/sbin/postfix")
    for item in items:
        if "netns" in item.keywords and not have_netns:
            item.add_marker(pytest.mark.skip(reason="needs root, iproute2 and nftables"))
        if "postfix" in item.keywords and not (have_postfix and is_root):
            item.add_marker(pytest.mark.skip(reason="needs Postfix (Debian package) and root"))


# Shared fixtures, available to every test folder without an import of its own.
from tests.support.postfix import postfix_factory  # noqa: E402, F401
