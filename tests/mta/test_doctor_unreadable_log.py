"""doctor never counts a log it cannot read as a log without failures."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from smtpdoctor.doctor.run import read_logs

# nginx's default "combined" access log format (nginx.org/en/docs/http/ngx_http_log_module.html)
NGINX = (
    '203.0.113.7 - - [27/Nov/2026:10:00:01 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.5.0"\n' * 20
)
POSTFIX = (
    "Nov 27 10:00:01 mx postfix/smtp[123]: connect to mx.example.com[192.0.2.10]:25: "
    "Connection timed out\n"
)


def test_an_nginx_log_is_not_analysed_and_says_why(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(NGINX)
    summary, why = read_logs([log], timedelta(days=3650))
    assert summary is None
    assert why == f"logs: could not read {log}: 0 of 20 lines parsed, 0 from an MTA"


def test_a_postfix_log_is_analysed(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text(POSTFIX)
    summary, why = read_logs([log], timedelta(days=3650))
    assert why is None
    assert summary is not None
    assert [(g.cause.value, g.relay) for g in summary.groups] == [
        ("connect_timeout", "mx.example.com[192.0.2.10]:25")
    ]
