#!/usr/bin/env bash
# Placeholder until the Exim unpack lands: Exim's Debian packages conflict with Postfix,
# so the tests unpack its binary into .exim/ instead of installing it.
exit 0
