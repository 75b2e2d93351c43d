#!/usr/bin/env bash
# Installs everything the tests need, then runs the linters, the type checker and the
# whole test suite (root: the network-namespace and Postfix tests too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test
.venv/bin/ruff check smtpdoctor tests bench
.venv/bin/ruff format --check smtpdoctor tests bench
.venv/bin/mypy
# The suite mostly waits (timeouts, network faults, real MTAs): four workers on two cores
# take it from about 14 minutes to under 5. Every test isolates its own servers,
# namespaces and Postfix instances, so they run side by side. loadgroup: the tests of the
# compiled build (one wheel build they share) run on one worker, the rest as they come.
.venv/bin/python -m pytest -q -n "${SMTPDOCTOR_TEST_WORKERS:-4}" --dist loadgroup "$@"
