"""`python -m smtpdoctor` runs the command line."""

from smtpdoctor.cli.main import main

raise SystemExit(main())
