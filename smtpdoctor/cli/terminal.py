"""How terminal output looks: colour only when wanted, wrapped to the real width.

NO_COLOR (https://no-color.org: set and not empty) and --no-color turn off every style,
bold included, and the progress spinner; on a terminal, text wraps at its real width
between words; into a pipe or a file nothing is wrapped (lines stay whole for grep).
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console


def use_color(args: argparse.Namespace) -> bool:
    """False when --no-color is given or NO_COLOR is set (to anything but the empty string)."""
    return not getattr(args, "no_color", False) and not os.environ.get("NO_COLOR")


def terminal_console(color: bool) -> Console:
    """A console on stdout: styles only with colour, wrapping only on a terminal."""
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
