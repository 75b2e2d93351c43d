"""Fixtures of the fault lab: `make_lab(...)` builds a topology that is gone after the test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

import pytest

from tests.lab.topology import Lab, new_tag


@pytest.fixture
def make_lab() -> Iterator[Callable[..., Lab]]:
    """Build labs: `make_lab(routers=1, servers=1, zone=None)`; all torn down at teardown."""
    if shutil.which("dnsmasq") is None:
        pytest.skip("dnsmasq (Debian package dnsmasq-base) is not installed")
    labs: list[Lab] = []

    def build(routers: int = 1, servers: int = 1, **kw: object) -> Lab:
        lab = Lab(new_tag(), routers, servers, **kw)  # type: ignore[arg-type]
        labs.append(lab)  # registered before build so a half-built lab is torn down too
        return lab.build()

    try:
        yield build
    finally:
        for lab in labs:
            lab.close()


@pytest.fixture
def lab(make_lab: Callable[..., Lab]) -> Lab:
    """One router, one server (s1.lab.test), dnsmasq, client resolv.conf pointing at it."""
    return make_lab()
