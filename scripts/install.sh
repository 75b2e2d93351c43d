#!/usr/bin/env bash
# Installs smtpdoctor into ./.venv (and, as root on Debian, the system packages the tests
# and benchmarks use). Usage: bash scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "smtpdoctor needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
    exit 2
fi

if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian splits venv out of python3: install it when we can, say so when we cannot.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    else
        echo "Python's venv module is missing: run 'apt-get install python3-venv' as root" >&2
        exit 2
    fi
fi

if [ "$want_test" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Debian packages the tests drive for real: Postfix (configured by the tests, never
    # started as the system MTA), dnsmasq for the lab's DNS, nftables and iproute2 for the
    # network faults, and the tools the benchmarks compare against.
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        postfix dnsmasq-base nftables iproute2 procps \
        swaks libnet-dns-perl monitoring-plugins-basic pflogsumm libidn12 time \
        prometheus >/dev/null
    bash scripts/install-exim.sh
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    .venv/bin/python -m pip install -q .
fi
echo "installed: $(.venv/bin/smtpdoctor --version)" >&2
