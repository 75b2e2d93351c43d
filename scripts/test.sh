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
# namespaces and Postfix instances, so they run side by side.
if [ "$#" -gt 0 ]; then
    exec .venv/bin/python -m pytest -q -n "${SMTPDOCTOR_TEST_WORKERS:-4}" --dist loadgroup "$@"
fi
# The compiled build's tests (mypyc and gcc on both cores for a minute) run after the
# rest, alone: beside them, the timing-bound tests (Postfix retrying a relay that came
# back, a monitor probe against a TLS stall) ran past their deadlines in CI.
.venv/bin/python -m pytest -q -n "${SMTPDOCTOR_TEST_WORKERS:-4}" \
    --ignore=tests/test_compiled_build.py
.venv/bin/python -m pytest -q tests/test_compiled_build.py
