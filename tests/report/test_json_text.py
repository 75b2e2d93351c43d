"""report/json_text writes exactly the text json.dumps(indent=N, ensure_ascii=False)
writes: on generated documents of every JSON type, on the values it hands back to
json.dumps, and on real reports of third-party logs."""

from __future__ import annotations

import enum
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdoctor.logs.api import analyze
from smtpdoctor.report import json_text, logs_json

LOGS = Path(__file__).resolve().parents[1] / "data" / "logs"


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


def _standard(value: object, indent: int = 2) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False)


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and the infinities included
    | st.text()  # control characters, quotes, backslashes, non-ASCII
    | st.sampled_from([Colour.RED, Level.HIGH, 2**80, -0.0, 1e300, "\u2028", "é"])
)
_documents = st.recursive(
    _leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(_documents, st.integers(min_value=0, max_value=4))
def test_the_text_is_json_dumps_text(document: Any, indent: int) -> None:
    assert json_text.dumps(document, indent) == _standard(document, indent)


@pytest.mark.parametrize(
    "document",
    [
        {1: "an int key"},
        {"a": {2.5: "a float key", None: "a None key", True: "a bool key"}},
        [{"nested": [{(1, 2): "a tuple key"}]}],
    ],
)
def test_keys_json_converts_or_refuses_are_left_to_json(document: Any) -> None:
    try:
        expected = _standard(document)
    except TypeError:
        with pytest.raises(TypeError):
            json_text.dumps(document)
        return
    assert json_text.dumps(document) == expected


def test_a_value_of_no_json_type_raises_what_json_raises() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        json_text.dumps({"when": object()})


def test_special_floats_are_written_as_json_writes_them() -> None:
    text = json_text.dumps([math.nan, math.inf, -math.inf, 0.1])
    assert text == "[\n  NaN,\n  Infinity,\n  -Infinity,\n  0.1\n]"


@pytest.mark.parametrize(
    "name", ["postfix-grok-patterns.log", "exim-testsuite.log", "postfix-issues.log"]
)
def test_a_real_report_renders_as_json_dumps_renders_it(name: str) -> None:
    report = analyze([LOGS / name], parallel=False)
    document = logs_json.report_dict(report)
    assert document["groups"], "the report must have groups for the test to mean anything"
    assert json_text.dumps(document) == _standard(document)
