"""The real-reply table (tests/data/replies.tsv) served on the wire to `check`, and
written as Postfix log lines to `logs`: every row gets its expected cause from both.

One badsmtp fleet (one event loop, one port per row) answers each row's reply at the
row's phase (the greeting, EHLO, MAIL, RCPT, DATA or the end of data); a reply whose
text carries the continuation prefixes of a folded multi-line reply ("... 421-4.7.0
...") is sent as the real multi-line reply it was. All checks run concurrently in one
event loop, in-process (probe.check + diagnose.rules), the way the CLI runs them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.diagnose.rules import Diagnosis, diagnose
from smtpdoctor.finding import Verdict
from smtpdoctor.phases import Phase
from smtpdoctor.probe.check import CheckOptions, run_check
from smtpdoctor.probe.results import CheckResult
from smtpdoctor.probe.timeouts import Timeouts
from tests.logs.test_replies import ROWS, logs_groups
from tests.support.badsmtp import BadConfig, BadSMTPFleet

POINT = {"greeting": "CONNECT", "ehlo": "EHLO", "mail": "MAIL", "rcpt": "RCPT",
         "data": "DATA", "eod": "EOD"}  # fmt: skip


def wire_lines(code: str, enhanced: str, text: str) -> tuple[str, ...]:
    """The reply's lines as the server sent them: split where the table's text keeps
    the continuation prefix of a folded multi-line reply, each line with its enhanced
    code."""
    prefix = rf"\s+{code}[ -]" + (rf"(?:{re.escape(enhanced)}\s+)?" if enhanced else "")
    parts = [p for p in re.split(prefix, text) if p]
    return tuple(f"{enhanced} {p}" if enhanced else p for p in parts)


def test_wire_lines_unfold_a_folded_reply() -> None:
    assert wire_lines("421", "4.7.0", "a rate of 421-4.7.0 unsolicited 421 4.7.0 mail") == (
        "4.7.0 a rate of",
        "4.7.0 unsolicited",
        "4.7.0 mail",
    )
    assert wire_lines("554", "", "no service here") == ("no service here",)


def test_the_table_has_multi_line_replies() -> None:
    multi = [r for r in ROWS if len(wire_lines(r[0], r[1], r[2])) > 1]
    assert len(multi) >= 2


@pytest.fixture(scope="module")
def fleet() -> Iterator[BadSMTPFleet]:
    configs = [
        BadConfig(mode="scripted", script={POINT[phase]: (int(code), wire_lines(code, enh, text))})
        for code, enh, text, phase, _, _ in ROWS
    ]
    with BadSMTPFleet(configs) as servers:
        yield servers


async def _check_all(ports: list[int]) -> list[tuple[CheckResult, Diagnosis]]:
    async def one(port: int) -> tuple[CheckResult, Diagnosis]:
        options = CheckOptions(
            target=f"127.0.0.1:{port}",
            starttls="never",  # the fleet offers no STARTTLS: no note about it
            timeouts=Timeouts.quick(),
            sender="sender@example.org",
            recipients=("user@example.com",),
            send=True,  # reach DATA and the end of data
        )
        result = await run_check(options)
        return result, diagnose(result)

    return list(await asyncio.gather(*(one(port) for port in ports)))


@pytest.fixture(scope="module")
def checks(fleet: BadSMTPFleet) -> list[tuple[CheckResult, Diagnosis]]:
    return asyncio.run(_check_all(fleet.ports))


@pytest.fixture(scope="module")
def diagnoses(checks: list[tuple[CheckResult, Diagnosis]]) -> list[Diagnosis]:
    return [diagnosis for _, diagnosis in checks]


def _logs_causes(log: Path, rows: list[tuple[str, ...]]) -> dict[int, str]:
    """Row index -> the cause `smtpdoctor logs` names for each row as a Postfix line."""
    failures = ((n, r) for n, r in enumerate(rows) if r[4] != "ok")
    return {
        int(g["destination"].removeprefix("r").removesuffix(".example.com")): g["cause"]
        for g in logs_groups(log, failures)
    }


@pytest.fixture(scope="module")
def log_causes(tmp_path_factory: pytest.TempPathFactory) -> dict[int, str]:
    """The rows as the table writes them."""
    return _logs_causes(tmp_path_factory.mktemp("replies") / "mail.log", ROWS)


@pytest.fixture(scope="module")
def wire_log_causes(
    tmp_path_factory: pytest.TempPathFactory, checks: list[tuple[CheckResult, Diagnosis]]
) -> dict[int, str]:
    """The replies check read off the wire, folded the way Postfix logs a multi-line
    reply ('421-4.7.0 a 421-4.7.0 b 421 4.7.0 c')."""
    rows = []
    for row, (result, _) in zip(ROWS, checks, strict=True):
        record = result.endpoints[0].phase(Phase(row[3]))
        assert record is not None and record.reply is not None
        folded = " ".join(record.reply.wire_lines())
        rows.append((folded, "", "", row[3], row[4], row[5]))
    return _logs_causes(tmp_path_factory.mktemp("wire") / "mail.log", rows)


ROW_IDS = [f"{n}-{r[0]}-{r[3]}-{r[4]}" for n, r in enumerate(ROWS)]


@pytest.mark.parametrize("n", range(len(ROWS)), ids=ROW_IDS)
def test_check_names_the_rows_cause(n: int, diagnoses: list[Diagnosis]) -> None:
    code, enhanced, text, phase, expected, _ = ROWS[n]
    diagnosis = diagnoses[n]
    if expected == "ok":
        assert diagnosis.findings == () and diagnosis.verdict is Verdict.OK
        return
    got = [(f.code, f.phase) for f in diagnosis.findings]
    assert got == [(CauseCode(expected), Phase(phase))], text
    # The summary quotes the server's reply: its code and its first line's text.
    summary = diagnosis.findings[0].summary
    first = wire_lines(code, enhanced, text)[0]
    assert code in summary and first[:40] in summary, summary


@pytest.mark.parametrize("n", range(len(ROWS)), ids=ROW_IDS)
def test_the_reply_came_over_the_wire(n: int, checks: list[tuple[CheckResult, Diagnosis]]) -> None:
    """check read the row's reply, every line of it, at the row's phase."""
    code, enhanced, text, phase, _, _ = ROWS[n]
    (endpoint,) = checks[n][0].endpoints
    record = endpoint.phase(Phase(phase))
    assert record is not None and record.reply is not None
    assert record.reply.code == int(code)
    assert record.reply.lines == wire_lines(code, enhanced, text)


@pytest.mark.parametrize("n", range(len(ROWS)), ids=ROW_IDS)
def test_logs_and_check_agree(
    n: int,
    diagnoses: list[Diagnosis],
    log_causes: dict[int, str],
    wire_log_causes: dict[int, str],
) -> None:
    expected = ROWS[n][4]
    check_causes = [f.code.value for f in diagnoses[n].findings]
    if expected == "ok":
        assert n not in log_causes and n not in wire_log_causes and check_causes == []
        return
    assert check_causes == [log_causes[n]] == [wire_log_causes[n]] == [expected]


def test_rows_come_from_the_shared_table() -> None:
    """The table the logs tests read is the one served here (no copy drifts)."""
    path = Path(__file__).resolve().parents[1] / "data" / "replies.tsv"
    rows = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    assert len(rows) == len(ROWS) >= 60
