"""A real monitor process: /metrics passes promtool, /probe is blackbox-compatible, SIGHUP."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.check.helpers import BadFactory
from tests.monitor.conftest import MonitorProcess
from tests.support.servers import GoodSMTP

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian prometheus) absent")


def promtool_check_metrics(text: str) -> subprocess.CompletedProcess[str]:
    """promtool's linter over exposition text."""
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )


def config_for(*targets: tuple[str, str], interval: str = "1s", extra: str = "") -> str:
    lines = [f'interval = "{interval}"', extra]
    for name, target in targets:
        lines += ["[[targets]]", f'target = "{target}"', f'name = "{name}"']
    lines += [
        "[modules.default]",
        'starttls = "never"',
        "timeouts = { greeting = 0.5 }",
        "[modules.quick]",
        'starttls = "never"',
    ]
    return "\n".join(lines) + "\n"


def wait_for(mp: MonitorProcess, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        _, body = mp.get("/metrics")
        if text in body:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in /metrics:\n{body}")


@needs_promtool
def test_metrics_name_the_cause_and_pass_promtool(
    monitor: Callable[[str], MonitorProcess], bad: BadFactory, good: GoodSMTP, closed_port: int
) -> None:
    silent = bad("no-greeting")
    mp = monitor(
        config_for(
            ("good", good.target), ("silent", silent.target), ("closed", f"127.0.0.1:{closed_port}")
        )
    )
    body = wait_for(mp, 'smtpdoctor_target_up{target="silent"}')
    body = wait_for(mp, 'smtpdoctor_target_up{target="good"}')
    body = wait_for(mp, 'smtpdoctor_target_up{target="closed"}')
    assert 'smtpdoctor_target_up{target="good"} 1.0' in body
    assert 'smtpdoctor_target_up{target="silent"} 0.0' in body
    assert (
        'smtpdoctor_target_cause_info{cause="greeting_timeout",phase="greeting",'
        'severity="error",target="silent"} 1.0'
    ) in body
    assert (
        'smtpdoctor_target_cause_info{cause="connect_refused",phase="connect",'
        'severity="error",target="closed"} 1.0'
    ) in body
    assert (
        'smtpdoctor_target_phase_duration_seconds_bucket{le="600.0",phase="ehlo",target="good"}'
        in body
    )
    assert 'smtpdoctor_probes_total{target="good",verdict="ok"}' in body
    assert "process_resident_memory_bytes" in body
    checked = promtool_check_metrics(body)
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_probe_endpoint_is_blackbox_compatible(
    monitor: Callable[[str], MonitorProcess], bad: BadFactory, good: GoodSMTP
) -> None:
    silent = bad("no-greeting")
    mp = monitor(config_for())
    status, body = mp.get(f"/probe?target={good.target}&module=quick")
    assert status == 200
    assert "probe_success 1.0" in body
    assert 'probe_smtp_phase_duration_seconds{phase="rcpt"}' in body
    assert "probe_smtp_status_code 221.0" in body  # QUIT's reply was the last
    assert "probe_ip_protocol 4.0" in body
    assert "smtpdoctor_target" not in body  # a fresh registry: none of /metrics' series
    checked = promtool_check_metrics(body)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the scrape timeout header bounds the probe: a silent server costs 2 s - 0.5 s
    started = time.monotonic()
    status, body = mp.get(
        f"/probe?target={silent.target}&module=quick",
        headers={"X-Prometheus-Scrape-Timeout-Seconds": "2"},
    )
    elapsed = time.monotonic() - started
    assert status == 200
    assert elapsed < 2.0
    assert "probe_success 0.0" in body
    assert (
        'probe_smtp_cause_info{cause="greeting_timeout",phase="greeting",severity="error"} 1.0'
        in body
    )
    assert 'probe_smtp_phase_duration_seconds{phase="rcpt"}' not in body  # nothing from before

    assert mp.get("/probe?target=no_such_host!&module=quick")[0] == 400
    assert mp.get(f"/probe?target={good.target}&module=nope")[0] == 400
    assert mp.get("/probe")[0] == 400


def test_sighup_reloads_targets_and_keeps_a_good_config_on_errors(
    monitor: Callable[[str], MonitorProcess], good: GoodSMTP, closed_port: int
) -> None:
    mp = monitor(config_for(("first", good.target)))
    wait_for(mp, 'smtpdoctor_target_up{target="first"} 1.0')
    mp.config.write_text(config_for(("second", f"127.0.0.1:{closed_port}")))
    mp.reload()
    body = wait_for(mp, 'smtpdoctor_target_up{target="second"} 0.0')
    assert 'target="first"' not in body  # a removed target's series are gone
    mp.config.write_text("interval = \n")
    mp.reload()
    body = wait_for(mp, "smtpdoctor_monitor_config_last_reload_successful 0.0")
    assert 'smtpdoctor_target_up{target="second"}' in body  # still probing the old config


SAMPLES = Path(__file__).parent.parent / "logs" / "samples"


@needs_promtool
def test_the_mail_log_is_followed_into_bounded_counters(
    monitor: Callable[[str], MonitorProcess], tmp_path: Path
) -> None:
    # Postfix lines in rsyslog's RFC 3339 format (tests/logs/samples/README.md: sources)
    log = tmp_path / "mail.log"
    log.write_text("")
    mp = monitor(config_for(extra=f'mail_log = "{log}"'))
    wait_for(mp, "smtpdoctor_log_follow_up 1.0")
    with log.open("a") as out:
        out.write((SAMPLES / "postfix-rfc3339.log").read_text())
    body = wait_for(mp, f'smtpdoctor_log_lines_total{{source="{log}"}} 9.0')
    events = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line.startswith("smtpdoctor_log_events_total")
    }
    assert events == {
        f'smtpdoctor_log_events_total{{cause="{c}",direction="{d}",mta="postfix",phase="{p}"}}': 1.0
        for c, d, p in [
            ("command_timeout", "inbound", "rcpt"),
            ("command_timeout", "outbound", "ehlo"),
            ("data_timeout", "inbound", "body"),
            ("dns_timeout", "outbound", "resolve"),
            ("greeting_timeout", "inbound", "greeting"),
            ("host_unreachable", "outbound", "connect"),
            ("recipient_unknown", "outbound", "rcpt"),  # 550 5.1.1 User unknown
            ("server_busy", "outbound", "greeting"),
            ("tls_failed", "outbound", "starttls"),
        ]
    }
    checked = promtool_check_metrics(body)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_web_config_serves_tls_and_basic_auth(
    monitor: Callable[[str], MonitorProcess], tmp_path: Path
) -> None:
    import base64
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    import bcrypt

    from tests.support.certs import make_certs

    certs = make_certs(tmp_path)
    identity = certs.identities["valid"]
    hashed = bcrypt.hashpw(b"s3cret scrape", bcrypt.gensalt(rounds=4)).decode()
    web = tmp_path / "web.yml"
    web.write_text(
        f"tls_server_config:\n  cert_file: {identity.cert_pem}\n  key_file: {identity.key_pem}\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    mp = monitor(config_for(extra=f'web_config = "{web}"'))
    assert mp.url.startswith("https://127.0.0.1:")
    context = ssl.create_default_context(cafile=str(certs.ca_pem))

    def get(user: str | None, password: str = "") -> int:
        headers = {}
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        request = urllib.request.Request(
            mp.url.replace("127.0.0.1", "localhost") + "/metrics", headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:
                assert b"smtpdoctor_monitor_targets" in response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            assert exc.headers["WWW-Authenticate"] == 'Basic realm="smtpdoctor"'
            return int(exc.code)

    assert get(None) == 401
    assert get("prometheus", "wrong") == 401
    assert get("nobody", "s3cret scrape") == 401
    assert get("prometheus", "s3cret scrape") == 200
    assert get("prometheus", "s3cret scrape") == 200  # the cached path
    with pytest.raises(http.client.RemoteDisconnected):  # plain HTTP gets no HTTP answer
        urllib.request.urlopen(mp.url.replace("https", "http") + "/metrics", timeout=5)


def test_a_broken_web_config_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.monitor.conftest import smtpdoctor

    web = tmp_path / "web.yml"
    web.write_text("basic_auth_users:\n  prometheus: plaintext\n")
    config = tmp_path / "m.toml"
    config.write_text(f'web_config = "{web}"\n')
    done = smtpdoctor("monitor", "--config", str(config), "--listen", "127.0.0.1:0")
    assert done.returncode == 2
    assert done.stderr == (
        f"smtpdoctor: error: {web}: basic_auth_users.prometheus: expected a bcrypt hash\n"
    )
