"""`smtpdoctor explain`: the catalogue as a manual, through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from smtpdoctor.catalogue import CauseCode, describe
from smtpdoctor.cli.main import main


def test_index_lists_every_code_with_its_title(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for code in CauseCode:  # the enum, so a code without an entry fails here
        assert f"{code.value}" in out
        assert describe(code).title in out


def test_one_entry_has_all_four_parts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "mtu-blackhole"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mtu_blackhole: ")
    for heading in ("What it is", "How it shows", "How to prove it", "How to fix it"):
        assert heading in out
    assert "maxseg" in out  # the MSS clamp fix survives wrapping


def test_unknown_code_is_one_line_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "conect_timeout"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "did you mean connect_timeout" in err


def test_json_has_schema_and_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--json", "greylisted"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "smtpdoctor.explain/1"
    assert [c["code"] for c in doc["causes"]] == [CauseCode.GREYLISTED.value]
    assert doc["causes"][0]["fixes"]


def test_how_it_shows_groups_the_examples_by_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "data_timeout"]) == 0
    out = capsys.readouterr().out
    shows = out.split("How it shows", 1)[1].split("How to prove it", 1)[0]
    for label in ("smtpdoctor check:", "Postfix log:", "Exim main log:", "Sendmail log:"):
        assert label in shows
    assert shows.index("Postfix log:") < shows.index("Exim main log:")
    # never wrapped: the long Postfix line is whole, on the line after its heading
    postfix = shows.split("Postfix log:\n", 1)[1].splitlines()[0]
    assert postfix.strip().endswith("message may be sent more than once")
    assert "OpenSMTPD log:" not in shows  # no example for that source: no heading


def test_json_lists_shows_as_for_every_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--json"]) == 0
    causes = {c["code"]: c for c in json.loads(capsys.readouterr().out)["causes"]}
    assert causes["ok"]["shows_as"] == []
    shown = causes["connect_timeout"]["shows_as"]
    assert {"source": "check", "text": "connect ✗ timeout after 10.0s"} in shown
    assert all(set(s) == {"source", "text"} for c in causes.values() for s in c["shows_as"])
    assert all(c["shows_as"] for code, c in causes.items() if code != "ok")
