"""Indented JSON text, the same bytes as `json.dumps(value, indent=N, ensure_ascii=False)`,
at C speed for the large documents `logs --json` writes.

The standard library encodes with C code only when no indent is asked for; with an
indent it runs its pure-Python encoder, which took 0.08 s (half of all rendering) for
the 4 MB report of a 1,000,000-line log. This writer walks the document itself (the
module is compiled in the mypyc build). A container that holds no container (a report
group, a list of strings) is written in one call of the standard library's C encoder,
told to separate items with the newline and indent of its depth, which is exactly the
indented text; other values are written here, strings quoted by the same C function.
Values are told apart in the standard library's order and way (a bool before an int,
subclasses as their base); a value of another type, or a dict key that is not a str,
sends the whole document to `json.dumps`, so the text is always the standard
library's.
"""

from __future__ import annotations

import json
import json.encoder
import math
from collections.abc import Callable, Iterable
from typing import Any, Final

_quote: Final[Callable[[str], str]] = json.encoder.encode_basestring
_INFINITY: Final = float("inf")
_MAKE_ENCODER: Final[Any] = getattr(json.encoder, "c_make_encoder", None)  # None: no C
_C_QUOTE: Final[Any] = getattr(json.encoder, "c_encode_basestring", None)
# A tuple, not `list | tuple | dict`: compiled, that union is a new object per test.
_CONTAINERS: Final = (list, tuple, dict)
# The C encoders already made, by the newline and indent that separate their items.
_ENCODERS: Final[dict[str, Any]] = {}


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


def dumps_with(document: dict[str, Any], raw: dict[str, str], indent: int = 2) -> str | None:
    """dumps(document), with the values of the top-level keys in raw written as the
    texts given there (written for depth 1); None when the document needs json.dumps."""
    out: list[str] = []
    try:
        _object(document, out, "\n", " " * indent, raw)
    except _NotJsonType:
        return None
    return "".join(out)


def scalar_text(value: object) -> str | None:
    """A str, int, bool or None as json.dumps writes it; None for any other value
    (a subclass too: json.dumps may write it otherwise)."""
    kind = type(value)
    if kind is str:
        return _quote(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    return None


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
    elif isinstance(value, _CONTAINERS):
        _container(value, out, newline, step)
    else:
        raise _NotJsonType


def _container(
    value: list[object] | tuple[object, ...] | dict[Any, Any],
    out: list[str],
    newline: str,
    step: str,
) -> None:
    items = value.values() if isinstance(value, dict) else value
    if _MAKE_ENCODER is not None and value and _holds_no_container(items):
        out.append(_flat(value, newline, step))
    elif isinstance(value, dict):
        _object(value, out, newline, step)
    else:
        _array(value, out, newline, step)


def _holds_no_container(values: Iterable[object]) -> bool:
    for item in values:
        kind = type(item)
        if kind is str or kind is int or kind is float or kind is bool or item is None:
            continue  # the usual scalars, told apart without isinstance
        if isinstance(item, _CONTAINERS):
            return False
    return True


def _flat(
    value: list[object] | tuple[object, ...] | dict[Any, Any], newline: str, step: str
) -> str:
    """A non-empty container of scalars, written by the C encoder: "[" and "]" (or
    "{" and "}") around the items, each after its newline and indent."""
    inner = newline + step
    encoder = _ENCODERS.get(inner)
    if encoder is None:
        encoder = _ENCODERS[inner] = _MAKE_ENCODER(
            None, _refuse, _C_QUOTE, None, ": ", "," + inner, False, False, True
        )
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise _NotJsonType  # json.dumps converts some keys: let it
    text: str = "".join(encoder(value, 0))
    return text[0] + inner + text[1:-1] + newline + text[-1]


def _refuse(value: object) -> object:
    raise _NotJsonType


def _object(
    value: dict[Any, Any],
    out: list[str],
    newline: str,
    step: str,
    raw: dict[str, str] | None = None,
) -> None:
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
        if raw is not None and key in raw:
            out.append(raw[key])
        else:
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
