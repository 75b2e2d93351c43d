"""Every CauseCode has a whole catalogue entry: iterating the enum, not the catalogue, so a
code added without an entry fails here instead of raising KeyError in a report."""

from __future__ import annotations

import pytest

from smtpdoctor.catalogue import CATALOGUE, CauseCode, describe


@pytest.mark.parametrize("code", list(CauseCode), ids=lambda c: c.value)
def test_code_has_a_whole_entry(code: CauseCode) -> None:
    assert code in CATALOGUE
    info = describe(code)
    assert info.code is code
    assert info.title and info.explanation and info.evidence
    if code is not CauseCode.OK:
        assert info.fixes, f"{code.value} has no fix"
        assert info.how_to_prove, f"{code.value} has no way to prove it"


def test_catalogue_has_no_entry_without_a_code() -> None:
    assert set(CATALOGUE) == set(CauseCode)


def test_describe_takes_the_code_or_its_value_and_rejects_others() -> None:
    assert describe("mtu_blackhole") is describe(CauseCode.MTU_BLACKHOLE)
    with pytest.raises(ValueError, match="not_a_code"):
        describe("not_a_code")
