"""TLS client contexts: verifying (system trust store or a CA file) and non-verifying."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(verify: bool, cafile: Path | None = None) -> ssl.SSLContext:
    """A client context; ``verify=False`` still negotiates, but checks nothing."""
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Old servers still in the field speak only TLS 1.0/1.1: the probe must see them to
    # report them, not fail silently. The default floor (TLS 1.2) is kept when verifying.
    return context
