"""Real log lines written by other projects (tests/data/logs/, sources in
tests/data/README.md), each labelled in tests/data/labels.tsv with the cause and phase
a mail admin reading it would name ('-': not a delivery fault).

The agreement rate over the labelled failure lines is printed with every miss; it
must stay at 95 % or more, and no line labelled '-' (healthy deliveries, inbound
rejections of spammers, local notes) may be named as a fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from smtpdoctor.logs.parser import parse_line

DATA = Path(__file__).resolve().parents[1] / "data"
TARGET = 0.95


@dataclass(frozen=True)
class Labelled:
    file: str
    number: int
    cause: str
    phase: str
    line: str
    blind: bool  # labelled from the line and the catalogue before the parser ran on it


def _labelled() -> list[Labelled]:
    rows = []
    files: dict[str, list[str]] = {}
    for raw in (DATA / "labels.tsv").read_text().splitlines():
        if raw.startswith("#") or not raw.strip():
            continue
        name, number, cause, phase, _origin, labelled = raw.split("\t")
        if name not in files:
            files[name] = (DATA / "logs" / name).read_text().splitlines()
        line = files[name][int(number) - 1]
        rows.append(Labelled(name, int(number), cause, phase, line, labelled == "blind"))
    return rows


ROWS = _labelled()


def _got(row: Labelled) -> tuple[str, str]:
    event = parse_line(row.line)
    if event is None or event.cause is None:
        return "-", "-"
    return event.cause.value, event.phase.value if event.phase else "-"


def test_every_file_line_is_labelled() -> None:
    for path in sorted((DATA / "logs").glob("*.log")):
        numbers = {r.number for r in ROWS if r.file == path.name}
        assert numbers == set(range(1, len(path.read_text().splitlines()) + 1)), path.name


def test_the_corpus_has_hundreds_of_failure_lines_from_several_mtas() -> None:
    failures = [r for r in ROWS if r.cause != "-"]
    assert len(failures) >= 200
    assert {r.file.split("-")[0] for r in failures} >= {"postfix", "exim", "sendmail"}


def test_agreement_on_labelled_failure_lines(capsys: pytest.CaptureFixture[str]) -> None:
    failures = [r for r in ROWS if r.cause != "-"]
    misses = [(r, _got(r)) for r in failures if _got(r) != (r.cause, r.phase)]
    rate = 1 - len(misses) / len(failures)
    with capsys.disabled():
        print(f"\nreal-log agreement: {len(failures) - len(misses)}/{len(failures)} = {rate:.1%}")
        for r, got in misses:
            print(f"  MISS {r.file}:{r.number} want {r.cause}/{r.phase} got {got[0]}/{got[1]}")
            print(f"       {r.line[:160]}")
    assert rate >= TARGET, [f"{r.file}:{r.number}" for r, _ in misses]


def test_no_healthy_or_unrelated_line_is_named_as_a_fault() -> None:
    false_alarms = [
        (r.file, r.number, _got(r)) for r in ROWS if r.cause == "-" and _got(r)[0] != "-"
    ]
    assert false_alarms == []
