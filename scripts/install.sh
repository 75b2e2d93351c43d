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

# A C compiler, the C library headers and Python's: `pip install .` compiles the hot
# log-analysis modules with mypyc (setup.py). Without them the install is pure Python
# (same results, a slower `smtpdoctor logs`).
BUILD_PACKAGES="gcc libc6-dev python3-dev"
if [ "$want_test" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # Debian packages the tests drive for real: Postfix (configured by the tests, never
    # started as the system MTA), dnsmasq for the lab's DNS, nftables and iproute2 for the
    # network faults, the tools the benchmarks compare against, and for the monitor:
    # Prometheus (promtool), Alertmanager, blackbox_exporter, Chromium (status page), sqlite3;
    # the compiler for the compiled build's tests.
    export DEBIAN_FRONTEND=noninteractive
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $BUILD_PACKAGES \
        postfix dnsmasq-base nftables iproute2 procps \
        swaks libnet-dns-perl monitoring-plugins-basic pflogsumm libidn12 time \
        prometheus prometheus-alertmanager prometheus-blackbox-exporter chromium sqlite3 >/dev/null
    bash scripts/install-exim.sh
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $BUILD_PACKAGES >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$want_test" = 1 ]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    # Not editable: the log-analysis modules are compiled (mypyc) when a C compiler is
    # there; SMTPDOCTOR_PURE_PYTHON=1 forces the pure-Python build.
    .venv/bin/python -m pip install -q .
fi
echo "installed: $(.venv/bin/smtpdoctor --version)" >&2
