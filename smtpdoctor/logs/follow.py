"""Following a growing log like `tail -F`: survives rotation (rename or copytruncate)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

# A line without a newline longer than this is passed on in pieces (bounded memory).
MAX_PARTIAL = 1 << 20


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


def follow_lines(path: Path, poll: float = 0.25, from_start: bool = True) -> Iterator[str | None]:  # noqa: PLR0912  (open, read, rotate and truncate in one loop)
    """Yield lines as they are written; yield None when idle (so callers can tick).

    When the file is renamed away and a new one appears at ``path`` (logrotate's
    create mode) the rest of the old file is read, then the new one from its start.
    When it shrinks (copytruncate) reading restarts at its start. Runs until closed.
    """
    stream: IO[bytes] | None = None
    inode = -1
    partial = b""
    while stream is None:
        try:
            stream = path.open("rb")
            inode = os.fstat(stream.fileno()).st_ino
        except FileNotFoundError:
            yield None
            time.sleep(poll)
    if not from_start:
        stream.seek(0, os.SEEK_END)
    try:
        while True:
            chunk = stream.readline()
            if chunk:
                if chunk.endswith(b"\n") or len(partial) + len(chunk) > MAX_PARTIAL:
                    yield _decode(partial + chunk)
                    partial = b""
                else:
                    partial += chunk
                continue
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino != inode:
                # Rotated: drain what the writer added to the old file, then switch.
                for rest in stream:
                    yield _decode(partial + rest)
                    partial = b""
                if partial:
                    yield _decode(partial)
                    partial = b""
                stream.close()
                stream = path.open("rb")
                inode = os.fstat(stream.fileno()).st_ino
                continue
            if st is not None and st.st_size < stream.tell():
                stream.seek(0)  # truncated in place
                partial = b""
                continue
            yield None
            time.sleep(poll)
    finally:
        stream.close()
