"""report/json_text writes exactly the text json.dumps(indent=N, ensure_ascii=False)
writes: on generated documents of every JSON type, on the values it hands back to
json.dumps, and on real reports of third-party logs."""

from __future__ import annotations

import enum
import json
import math
import re
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


def _without_generation_time(text: str) -> str:
    return re.sub(r'"generated_at": "[^"]*"', '"generated_at": ""', text, count=1)


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.iterdir()))
def test_the_report_text_is_json_dumps_of_the_report(name: str) -> None:
    # render() writes the groups straight from their values (no dict per group): the
    # text must still be json.dumps of report_dict, on every third-party log.
    report = analyze([LOGS / name], parallel=False)
    expected = _standard(logs_json.report_dict(report))
    assert _without_generation_time(logs_json.render(report)) == _without_generation_time(expected)


def test_samples_that_need_escaping_are_written_as_json_dumps_writes_them(
    tmp_path: Path,
) -> None:
    log = tmp_path / "mail.log"
    log.write_text(
        "Nov 27 10:00:00 mx postfix/smtp[1]: 4ABC12: to=<a@b.example>, relay=none, "
        'delay=31, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to "q\\\\"'
        "[192.0.2.1]:25: Connection timed out\x01\t\u00e9)\n"
    )
    report = analyze([log], parallel=False)
    assert report.groups and '"' in report.groups[0].sample
    expected = _standard(logs_json.report_dict(report))
    assert _without_generation_time(logs_json.render(report)) == _without_generation_time(expected)


def test_values_json_dumps_must_write_are_left_to_it() -> None:
    assert json_text.scalar_text(Colour.RED) is None
    assert json_text.scalar_text(Level.HIGH) is None
    assert json_text.scalar_text(1.5) is None
    assert json_text.scalar_text('a"b') == '"a\\"b"'
    assert json_text.dumps_with({"a": 1, "b": object()}, {"a": "2"}) is None
    assert json_text.dumps_with({"a": 1, "b": [2]}, {"a": "[\n    3\n  ]"}) == (
        '{\n  "a": [\n    3\n  ],\n  "b": [\n    2\n  ]\n}'
    )
    row = (*("x",) * 12, Colour.RED)
    assert logs_json._groups_text([row]) is None
