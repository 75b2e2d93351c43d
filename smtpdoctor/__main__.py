"""`python -m smtpdoctor` runs the command line."""

from smtpdoctor.cli.main import entry

raise SystemExit(entry())
