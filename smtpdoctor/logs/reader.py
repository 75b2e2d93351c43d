"""The thin IO layer: streams lines from files (plain, gzip, bzip2, xz), rotated sets,
stdin and journald. Lines are decoded as UTF-8 with replacement: never a crash."""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_ROTATED = re.compile(r"^(?P<base>.+?)(?:\.(?P<num>\d+)|-(?P<date>\d{8}))(?:\.(?:gz|bz2|xz))?$")
# Reading stops treating a file as text when this share of a sample is control bytes.
_BINARY_SHARE = 0.10
_SAMPLE = 4096
_NUL_RUN = re.compile(b"\x00{8,}")


class UnreadableLogError(Exception):
    """A source that exists but cannot be read as a log (binary, corrupt, no permission)."""


def compression_of(head: bytes) -> str | None:
    """'gzip', 'bzip2', 'xz' or None, from a file's first bytes."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def _open_binary(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    head = raw.peek(8)[:8] if isinstance(raw, io.BufferedReader) else b""
    return _decompress(raw, compression_of(head))


def _decompress(raw: IO[bytes], kind: str | None) -> IO[bytes]:
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    if kind == "xz":
        return lzma.LZMAFile(raw)
    return raw


def looks_binary(sample: bytes) -> bool:
    """True when a sample of bytes is not text (stray NULs, many control bytes). Runs
    of NUL bytes are not counted: a log truncated by copytruncate or a crash starts
    with them, and the reader skips them."""
    sample = _NUL_RUN.sub(b"", sample)
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    control = sum(1 for b in sample if b < 9 or 13 < b < 32)
    return control / len(sample) > _BINARY_SHARE


def read_lines(stream: IO[bytes], name: str) -> Iterator[str]:
    """Decoded lines without line ends; UnreadableLogError for binary or corrupt data.

    The first 4 KiB are held back and checked before any line is passed on.
    """
    head: list[bytes] = []
    sampled = 0
    try:
        for raw in stream:
            if sampled < _SAMPLE:
                head.append(raw)
                sampled += len(raw)
                if sampled < _SAMPLE:
                    continue
                yield from _checked(head, name)
                head = []
                continue
            yield raw.decode("utf-8", "replace").rstrip("\r\n")
        if sampled < _SAMPLE:
            yield from _checked(head, name)
    except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
        raise UnreadableLogError(f"{name}: truncated or corrupt ({exc})") from None


def _checked(head: list[bytes], name: str) -> Iterator[str]:
    if looks_binary(b"".join(head)[:_SAMPLE]):
        raise UnreadableLogError(f"{name}: binary data, not a text log")
    for raw in head:
        yield raw.decode("utf-8", "replace").rstrip("\r\n")


def iter_file(path: Path) -> Iterator[str]:
    """Lines of one file, whatever its compression (line ends stripped)."""
    with open_log(path) as stream:
        yield from read_lines(stream, str(path))


def text_chunks(stream: IO[bytes], size: int = 1 << 18) -> Iterator[str]:
    """Decoded text in chunks as they come (UTF-8, bad bytes replaced).

    Uses read1 where the stream has it, so a truncated archive gives up everything
    before the damage before its error is raised.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    read = getattr(stream, "read1", stream.read)
    while True:
        data = read(size)
        if not data:
            break
        yield decoder.decode(data)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


@contextmanager
def open_stdin() -> Iterator[IO[bytes]]:
    """Standard input (compressed input is detected by its magic bytes)."""
    buf = sys.stdin.buffer
    head = buf.peek(8)[:8] if isinstance(buf, io.BufferedReader) else b""
    stream = _decompress(buf, compression_of(head))
    peek = getattr(stream, "peek", None)
    sample = peek(_SAMPLE) if peek is not None else b""
    if looks_binary(sample[:_SAMPLE]):
        raise UnreadableLogError("stdin: binary data, not a text log")
    yield stream


@contextmanager
def open_log(path: Path) -> Iterator[IO[bytes]]:
    """A (decompressed) byte stream over a log file.

    Raises UnreadableLogError when the file cannot be opened or its first 4 KiB are
    not text. Reading may raise EOFError/OSError/LZMAError for truncated archives.
    """
    try:
        stream = _open_binary(path)
    except OSError as exc:
        raise UnreadableLogError(f"{path}: {exc.strerror or exc}") from None
    with stream:
        try:
            head = stream.read(_SAMPLE)
            if looks_binary(head):
                raise UnreadableLogError(f"{path}: binary data, not a text log")
            stream.seek(0)
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise UnreadableLogError(f"{path}: truncated or corrupt ({exc})") from None
        yield stream


def _rotation_key(path: Path) -> tuple[str, int, str]:
    """Sort key putting a rotated set oldest first: mail.log.3.gz, mail.log.2, mail.log."""
    m = _ROTATED.match(path.name)
    if m is None:
        return (path.name, 0, "")
    if m.group("num") is not None:
        return (m.group("base"), -int(m.group("num")), "")
    return (m.group("base"), -1, m.group("date") or "")


def rotated_siblings(path: Path) -> list[Path]:
    """The rotated files of a log (mail.log.1, mail.log.2.gz, mail.log-20261127...)."""
    if not path.parent.is_dir():
        return []
    found = []
    for p in path.parent.iterdir():
        m = _ROTATED.match(p.name)
        if m is not None and m.group("base") == path.name and p.is_file():
            found.append(p)
    return found


def order_sources(paths: Iterable[Path], include_rotated: bool) -> list[Path]:
    """Sources oldest first: each rotated set is ordered by its rotation number/date."""
    chosen: dict[Path, None] = {}
    for p in paths:
        if include_rotated:
            for sib in rotated_siblings(p):
                chosen.setdefault(sib, None)
        chosen.setdefault(p, None)
    groups: dict[tuple[Path, str], list[Path]] = {}
    order: list[tuple[Path, str]] = []
    for p in chosen:
        base = _rotation_key(p)[0]
        key = (p.parent, base)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(p)
    result: list[Path] = []
    for key in order:
        members = groups[key]

        def sort_key(p: Path) -> tuple[int, str]:
            _, num, date = _rotation_key(p)
            # dated rotations sort by date; numbered ones by number (higher = older)
            return (num if not date else -1_000_000, date)

        result.extend(sorted(members, key=sort_key))
    return result
