"""`smtpdoctor explain [CODE]`: the catalogue of causes as a small manual."""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Any

from smtpdoctor.catalogue import CATALOGUE, CauseCode, describe
from smtpdoctor.cli.terminal import fit
from smtpdoctor.exitcodes import ExitCode, UsageError
from smtpdoctor.report import explain_json, explain_text


def register(subparsers: Any) -> None:
    """Add the `explain` subcommand."""
    parser = subparsers.add_parser(
        "explain",
        help="what a cause code means, how it shows, how to prove and fix it",
        description="Without CODE: every cause code with its title. With CODE: the "
        "catalogue entry in full.",
    )
    parser.add_argument("code", nargs="?", help="a cause code, e.g. mtu_blackhole")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.set_defaults(handler=run)


def _lookup(text: str) -> CauseCode:
    key = text.strip().lower().replace("-", "_")
    try:
        return CauseCode(key)
    except ValueError:
        codes = [c.value for c in CATALOGUE]
        close = difflib.get_close_matches(key, codes, n=3)
        hint = (
            f"; did you mean {', '.join(close)}?" if close else "; `smtpdoctor explain` lists them"
        )
        raise UsageError(f"unknown cause code {text!r}{hint}") from None


def run(args: argparse.Namespace) -> int:
    """Print the index or one entry."""
    if args.code is None:
        entries = list(CATALOGUE.values())
        out = explain_json.render(entries) if args.json else explain_text.render_index()
    else:
        info = describe(_lookup(args.code))
        out = explain_json.render([info]) if args.json else explain_text.render_entry(info)
    out = out if args.json else fit(out)
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    return ExitCode.HEALTHY
