"""The `smtpdoctor` command: dispatches to one module per subcommand."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from smtpdoctor import __version__, build_kind
from smtpdoctor.cli import errors
from smtpdoctor.exitcodes import CouldNotRun, ExitCode, UsageError

# Each module exposes `register(subparsers)`, which adds its parser and sets
# `handler` to a function `(argparse.Namespace) -> int`.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "smtpdoctor.cli.check",
    "smtpdoctor.cli.trace",
    "smtpdoctor.cli.logs",
    "smtpdoctor.cli.queue",
    "smtpdoctor.cli.config",
    "smtpdoctor.cli.doctor",
    "smtpdoctor.cli.explain",
    "smtpdoctor.cli.monitor",
    "smtpdoctor.cli.failover",
)


class _Version(argparse.Action):
    """--version: the version and the build ("compiled" or "pure Python"), found only
    when asked (it looks up a module's file)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest=dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show the version and the build (compiled or pure Python), and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        print(f"smtpdoctor {__version__} ({build_kind()})")
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line, never a wall of usage text."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _wanted_modules(argv: Sequence[str]) -> tuple[str, ...]:
    """Only the named subcommand's module, when one is named: every command starts faster
    when the others (and their imports: DNS, TLS, log parsers) are not loaded."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None and "--version" in argv:
        return ()
    for module_name in SUBCOMMAND_MODULES:
        if first is not None and module_name.rsplit(".", 1)[1] == first:
            return (module_name,)
    return SUBCOMMAND_MODULES


def build_parser(modules: Sequence[str] = SUBCOMMAND_MODULES) -> argparse.ArgumentParser:
    """The argument parser with the given (by default every available) subcommand."""
    parser = _Parser(
        prog="smtpdoctor",
        description="Finds out why SMTP mail times out: measures every phase, names the "
        "cause with evidence and gives the fix.",
    )
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that subcommand is not part of this build
            raise
        module.register(subparsers)
    return parser


# Set by a command whose run built a large state that nothing needs once its output is
# written (logs on a large file): the process entry point then exits without freeing it.
_skip_teardown = False


def skip_teardown() -> None:
    """Ask entry() to end the process at once after this command, its output flushed:
    freeing the tables of a 1,000,000-line log took 20 to 40 ms, 2 % of the run."""
    global _skip_teardown  # noqa: PLW0603  (one flag for the one process entry point)
    _skip_teardown = True


def entry() -> int:
    """The process entry point (the console script, `python -m smtpdoctor`): main(),
    then, if the command asked for it, os._exit once stdout and stderr are flushed (no
    atexit handler is registered on those paths). Tests call main(), never this."""
    code = main()
    if _skip_teardown:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            return code  # a closed pipe: the interpreter's own exit reports it
        os._exit(code)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_wanted_modules(argv))
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        return errors.report(ExitCode.USAGE_ERROR, str(exc), argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE_ERROR
    return _run_handler(handler, args, argv)


def _run_handler(
    handler: Callable[[argparse.Namespace], int], args: argparse.Namespace, argv: Sequence[str]
) -> int:
    """The subcommand's exit code; its errors as one line (and one JSON document with --json)."""
    as_json = bool(getattr(args, "json", False))
    try:
        return int(handler(args))
    except UsageError as exc:
        return errors.report(ExitCode.USAGE_ERROR, str(exc), argv, as_json=as_json)
    except CouldNotRun as exc:
        return errors.report(ExitCode.COULD_NOT_RUN, str(exc), argv, as_json=as_json)
    except KeyboardInterrupt:
        return errors.report(130, "stopped before the end", argv, as_json=as_json)
    except BrokenPipeError:
        return ExitCode.HEALTHY
