#!/usr/bin/env bash
# Exim's Debian packages conflict with Postfix, so the tests unpack Exim's binary into
# /opt/exim4 instead of installing it; it runs with the tests' own configuration (-C).
# Needs root and apt. Idempotent.
set -euo pipefail
if [ -x /opt/exim4/usr/sbin/exim4 ] && ! ldd /opt/exim4/usr/sbin/exim4 | grep -q "not found"; then
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # apt-get download runs as the _apt user
cd "$work"
apt-get download exim4-daemon-light exim4-base >/dev/null
mkdir -p /opt/exim4
for deb in exim4-daemon-light_*.deb exim4-base_*.deb; do
    dpkg -x "$deb" /opt/exim4
done
# Its libraries (libidn12 is the one Postfix does not bring) come with install.sh.
if ldd /opt/exim4/usr/sbin/exim4 | grep -q "not found"; then
    echo "install-exim: exim4 still misses libraries:" >&2
    ldd /opt/exim4/usr/sbin/exim4 | grep "not found" >&2
    exit 1
fi
id Debian-exim >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin Debian-exim
