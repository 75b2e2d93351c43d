"""The catalogue as a small manual, for the terminal."""

from __future__ import annotations

import textwrap

from smtpdoctor.catalogue import CATALOGUE, CauseInfo

_WIDTH = 88


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
    lines += ["How it shows", *_para(info.evidence), ""]
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
