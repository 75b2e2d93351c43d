"""`smtpdoctor explain`: the catalogue as a manual, through the real CLI entry point."""

from __future__ import annotations

import json

import pytest

from smtpdoctor.catalogue import CATALOGUE, CauseCode
from smtpdoctor.cli.main import main


def test_index_lists_every_code_with_its_title(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for code, info in CATALOGUE.items():
        assert f"{code.value}" in out
        assert info.title in out


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
