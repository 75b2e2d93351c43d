"""Indented JSON text, the same bytes as `json.dumps(value, indent=N, ensure_ascii=False)`,
at C speed for the large documents `logs --json` writes.

The standard library encodes with C code only when no indent is asked for; with an
indent it runs its pure-Python encoder, which took 0.08 s (half of all rendering) for
the 4 MB report of a 1,000,000-line log. This writer walks the document itself (the
module is compiled in the mypyc build) and quotes strings with the standard library's
own C function. Values are told apart in the standard library's order and way (a
bool before an int, subclasses as their base); a value of another type, or a dict key
that is not a str, sends the whole document to `json.dumps`, so the text is always the
standard library's.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable
from typing import Final

_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring
_INFINITY: Final = float("inf")


class _NotJsonType(Exception):
    """A value this writer leaves to json.dumps (a subclass, a non-str key...)."""


def dumps(document: object, indent: int = 2) -> str:
    """`json.dumps(document, indent=indent, ensure_ascii=False)`, faster."""
    out: list[str] = []
    try:
        _value(document, out, "\n", " " * indent)
    except _NotJsonType:
        return json.dumps(document, indent=indent, ensure_ascii=False)
    return "".join(out)


def _value(value: object, out: list[str], newline: str, step: str) -> None:
    # The order of json.encoder's own tests: a bool is an int, a str subclass a str.
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(_float(value))
    elif isinstance(value, list | tuple):
        _array(value, out, newline, step)
    elif isinstance(value, dict):
        _object(value, out, newline, step)
    else:
        raise _NotJsonType


def _object(value: dict[object, object], out: list[str], newline: str, step: str) -> None:
    if not value:
        out.append("{}")
        return
    inner = newline + step
    separator = "{" + inner
    for key, item in value.items():
        if not isinstance(key, str):
            raise _NotJsonType
        out.append(separator)
        out.append(_quote(key))
        out.append(": ")
        _value(item, out, inner, step)
        separator = "," + inner
    out.append(newline + "}")


def _array(
    value: list[object] | tuple[object, ...], out: list[str], newline: str, step: str
) -> None:
    if not value:
        out.append("[]")
        return
    inner = newline + step
    separator = "[" + inner
    for item in value:
        out.append(separator)
        _value(item, out, inner, step)
        separator = "," + inner
    out.append(newline + "]")


def _float(value: float) -> str:
    # json.encoder's floatstr with allow_nan=True, the default.
    if math.isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)
