"""The catalogue as a small manual, for the terminal."""

from __future__ import annotations

import textwrap

from smtpdoctor.catalogue import CATALOGUE, SHOWS_AS_SOURCES, CauseInfo

_WIDTH = 88
_SOURCE_LABELS = {
    "check": "smtpdoctor check",
    "postfix": "Postfix log",
    "exim": "Exim main log",
    "sendmail": "Sendmail log",
    "opensmtpd": "OpenSMTPD log",
    "queue": "mail queue (mailq)",
}


def _para(text: str, first: str = "  ", rest: str = "  ") -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )


def render_index() -> str:
    """Every cause code with its title, one per line."""
    width = max(len(code.value) for code in CATALOGUE)
    lines = ["Causes smtpdoctor names (`smtpdoctor explain CODE` for one in full):", ""]
    lines += [f"  {info.code.value:<{width}}  {info.title}" for info in CATALOGUE.values()]
    return "\n".join(lines) + "\n"


def render_entry(info: CauseInfo) -> str:
    """One cause in full: what it is, how it shows, how to prove it, how to fix it."""
    lines = [f"{info.code.value}: {info.title}", "", "What it is", *_para(info.explanation), ""]
    lines += ["How it shows", *_para(info.evidence), *_shows_as(info), ""]
    if info.how_to_prove:
        lines.append("How to prove it")
        lines += [f"  $ {command}" for command in info.how_to_prove]
        lines.append("")
    if info.fixes:
        lines.append("How to fix it")
        for fix in info.fixes:
            lines += _para(fix, "  - ", "    ")
        lines.append("")
    return "\n".join(lines)


def _shows_as(info: CauseInfo) -> list[str]:
    """The examples grouped by source, in SHOWS_AS_SOURCES order; texts are never
    wrapped, so they can be copied into grep."""
    lines: list[str] = []
    for source in SHOWS_AS_SOURCES:
        texts = [s.text for s in info.shows_as if s.source == source]
        if texts:
            lines += ["", f"  {_SOURCE_LABELS[source]}:"]
            lines += [f"    {text}" for text in texts]
    return lines
