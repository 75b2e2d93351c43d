"""TLS client contexts: verifying (system trust store or a CA file) and non-verifying.

Building a context parses the whole trust store (hundreds of certificates) into OpenSSL
memory, so contexts are cached per parameter set: a monitor running thousands of probes
reuses a handful of them instead of growing native memory with every TLS attempt. An
`ssl.SSLContext` is safe to share: each connection gets its own `SSLObject` from it, and
nothing in smtpdoctor changes a context after `client_context` returns it.

The key includes the CA file's identity on disk (path, mtime, size, inode), and for the
system store the identity of OpenSSL's default CA file, so a renewed or edited bundle is
read again by the next handshake without a restart. A CA *directory* (`capath`, e.g.
/etc/ssl/certs with hashed links) is read by OpenSSL at handshake time anyway.
"""

from __future__ import annotations

import functools
import os
import ssl
from pathlib import Path

# Distinct (verify, CA file, file version) sets kept: a probe uses two or three (verify,
# no verify, maybe a --cafile); a monitor one per module's cafile. A replaced file's old
# entry ages out instead of being kept forever.
CACHE_SIZE = 16

FileStamp = tuple[str, int, int, int] | None  # path, mtime_ns, size, inode


def client_context(verify: bool, cafile: Path | None = None) -> ssl.SSLContext:
    """A client context; ``verify=False`` still negotiates, but checks nothing.

    The same object is returned while the parameters and the CA file on disk are
    unchanged: do not modify it.
    """
    if cafile is not None:
        stamp = _stamp(str(cafile))
        if stamp is None:  # unreadable: let OpenSSL raise its usual error, nothing cached
            return _build(verify, str(cafile))
        return _cached(verify, stamp)
    return _cached(verify, None, _stamp(_default_cafile()))


def _build(verify: bool, cafile: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Old servers still in the field speak only TLS 1.0/1.1: the probe must see them to
    # report them, not fail silently. The default floor (TLS 1.2) is kept when verifying.
    return context


@functools.lru_cache(maxsize=CACHE_SIZE)
def _cached(verify: bool, cafile: FileStamp, system_store: FileStamp = None) -> ssl.SSLContext:
    # system_store only keys the cache: the default paths are read by create_default_context
    return _build(verify, cafile[0] if cafile is not None else None)


def _stamp(path: str | None) -> FileStamp:
    if path is None:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (path, st.st_mtime_ns, st.st_size, st.st_ino)


@functools.cache
def _default_cafile() -> str | None:
    """The CA file OpenSSL's default verify paths load (SSL_CERT_FILE or the built-in one)."""
    return ssl.get_default_verify_paths().cafile


def clear_cache() -> None:
    """Forget every cached context (tests; a caller that changed the trust store in place)."""
    _cached.cache_clear()
