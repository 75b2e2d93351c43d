#!/usr/bin/env bash
# Installs everything the tests need, then runs the linters, the type checker and the
# whole test suite (root: the network-namespace and Postfix tests too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/ruff check smtpdoctor tests bench
.venv/bin/ruff format --check smtpdoctor tests bench
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
