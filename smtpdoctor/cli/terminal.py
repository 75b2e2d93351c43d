"""How terminal output looks: colour only when wanted, wrapped to the real width.

NO_COLOR (https://no-color.org: set and not empty) and --no-color turn off every style,
bold included, and the progress spinner; on a terminal, text wraps at its real width
between words; into a pipe or a file nothing is wrapped (lines stay whole for grep).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def use_color(args: argparse.Namespace) -> bool:
    """False when --no-color is given or NO_COLOR is set (to anything but the empty string)."""
    return not getattr(args, "no_color", False) and not os.environ.get("NO_COLOR")


def terminal_console(color: bool) -> Console:
    """A console on stdout: styles only with colour, wrapping only on a terminal."""
    # here, not at the top: commands that write plain text or JSON never load rich
    from rich.console import Console

    console = Console(
        color_system="auto" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    console.soft_wrap = not console.is_terminal
    return console


def terminal_width(default: int = 120) -> int | None:
    """The width of the terminal stdout writes to; None when it is not a terminal."""
    if not sys.stdout.isatty():
        return None
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns or default
    except OSError:
        return default


def fit(text: str, width: int | None = None) -> str:
    """Plain report text wrapped between words to the terminal's width (unchanged off one).

    A wrapped line continues under its own indentation plus two spaces; a word longer
    than the line (a path, a command) stays whole rather than being cut.
    """
    width = width if width is not None else terminal_width()
    if width is None:
        return text
    import textwrap  # here: only a terminal narrower than a line needs it

    out = []
    for line in text.split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(
            textwrap.fill(
                line.strip(),
                width,
                initial_indent=indent,
                subsequent_indent=indent + "  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(out)
