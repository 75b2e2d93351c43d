"""Exim message logs and retry rules: the pure parsers, on lines as Exim 4.96 writes them."""

from __future__ import annotations

from smtpdoctor.mta.exim_queue import parse_msglog
from smtpdoctor.mta.exim_retry import audit_retry, parse_rule, retry_section


def test_retry_not_reached_keeps_the_reason_of_the_last_try() -> None:
    log = [
        "2026-11-27 23:56:24 Received from app@example.org U=root P=local S=315",
        "2026-11-27 23:56:24 H=relay.example [192.0.2.7] Connection timed out",
        "2026-11-27 23:56:24 a@example.net R=manual T=remote_smtp defer (110): "
        "Connection timed out",
        "2026-11-27 23:58:00 a@example.net R=manual T=remote_smtp defer (-53): "
        "retry time not reached for any host",
        "2026-11-27 23:59:00 b@example.net R=manual T=remote_smtp defer (-53): "
        "retry time not reached for any host",
    ]
    out = parse_msglog(log)
    assert out["a@example.net"] == (
        "defer (110): Connection timed out",
        "relay.example[192.0.2.7]",
    )
    assert out["b@example.net"][0].startswith("defer (-53)")


def test_retry_rules() -> None:
    config = [
        "begin transports",
        "x:",
        "  driver = smtp",
        "begin retry",
        "  * * F,2h,15m; G,16h,1h,1.5; F,4d,6h",
        "begin rewrite",
        "*@a b",
    ]
    lines = retry_section(config)
    assert lines == ["* * F,2h,15m; G,16h,1h,1.5; F,4d,6h"]
    assert audit_retry(lines) == []  # Exim's default is fine
    rule = parse_rule("* quota senders=a@b F,1h,5m")
    assert rule is not None and not rule.covers_timeouts and rule.cutoff_s == 3600
    assert audit_retry([]) and audit_retry([])[0].current == "no retry rules"
