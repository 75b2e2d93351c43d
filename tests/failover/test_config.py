"""failover.toml: what loads, and every mistake as one line FILE:LINE, exit 2, nothing changed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from smtpdoctor.exitcodes import UsageError
from smtpdoctor.failover.config import load_config, parse_config
from smtpdoctor.phases import Phase

GOOD = """\
mta = "postfix"
interval = 5
state_dir = "/tmp/sd-state"

[breaker]
failures_to_open = 4
hold = 300

[postfix]
config_dir = "/etc/postfix"

[modules.smarthost]
ports = [587]
starttls = "require"
timeouts = { connect = 3, greeting = 10 }
user = "relayuser"
password_file = "/etc/smtpdoctor/relay.pass"

[[relays]]
name = "primary"
target = "relay1.example.net"
module = "smarthost"

[[relays]]
target = "[192.0.2.20]:2525"
timeouts = { connect = 1 }
"""


def test_a_good_config_loads_with_module_knobs_and_overrides() -> None:
    cfg = parse_config(GOOD, Path("f.toml"))
    assert (cfg.mta, cfg.interval_s, cfg.breaker.failures_to_open, cfg.breaker.hold_s) == (
        "postfix",
        5.0,
        4,
        300.0,
    )
    primary, second = cfg.relays
    assert (primary.name, primary.route) == ("primary", "[relay1.example.net]:587")
    assert primary.knobs.timeouts == {Phase.CONNECT: 3.0, Phase.GREETING: 10.0}
    assert primary.knobs.user == "relayuser"
    assert (second.name, second.route) == ("[192.0.2.20]:2525", "[192.0.2.20]:2525")
    assert second.knobs.timeouts == {Phase.CONNECT: 1.0}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("interval = 5", "interval = 5 5", "f.toml:2: not valid TOML"),
        ("interval = 5", "interval = 0", "f.toml:2: interval must be seconds between 1 and 3600"),
        ('mta = "postfix"', 'mta = "sendmail"', "f.toml:1: mta must be one of postfix, exim"),
        ("hold = 300", "hold = -1", "f.toml:5: hold must not be negative"),
        ("hold = 300", "hold = true", "f.toml:7: hold: a number"),
        ("hold = 300", "flap = 1", "f.toml:7: unknown breaker setting 'flap'"),
        ("ports = [587]", "ports = [70000]", "f.toml:13: ports: a list of port numbers"),
        ('starttls = "require"', 'starttls = "yes"', "f.toml:14: starttls: one of auto"),
        ("connect = 3,", "conect = 3,", "f.toml:15: timeouts: unknown phase 'conect'"),
        ('module = "smarthost"', 'module = "other"', "f.toml:22: module 'other' is not defined"),
        ("connect = 1 }", "connect = -1 }", "f.toml:26: timeouts: connect: seconds between"),
        (
            'target = "[192.0.2.20]:2525"',
            'target = "@example.net"',
            "f.toml:25: target '@example.net': a relay is a host, not an @domain",
        ),
        ('name = "primary"', 'name = "[192.0.2.20]:2525"', "f.toml:24: relay name"),
        ('user = "relayuser"', 'usr = "relayuser"', "f.toml:16: usr: unknown setting"),
    ],
)
def test_mistakes_name_file_and_line(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(UsageError) as info:
        parse_config(GOOD.replace(old, new, 1), Path("f.toml"))
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_no_relays() -> None:
    with pytest.raises(UsageError, match=r"^f.toml:1: no \[\[relays\]\]"):
        parse_config('mta = "postfix"\n', Path("f.toml"))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the config"):
        load_config(tmp_path / "missing.toml")


@pytest.mark.postfix
def test_cli_config_error_is_one_line_exit_2_and_changes_nothing(tmp_path: Path) -> None:
    from tests.support.postfix import postfix_instance

    with postfix_instance(tmp_path) as pf:
        main_cf = pf.config_dir / "main.cf"
        before = main_cf.read_bytes()
        state = tmp_path / "state"
        config = tmp_path / "failover.toml"
        config.write_text(
            f'state_dir = "{state}"\n[postfix]\nconfig_dir = "{pf.config_dir}"\n'
            '[[relays]]\ntarget = "[192.0.2.10]:25"\ntimeouts = { connect = "soon" }\n'
        )
        proc = subprocess.run(
            [sys.executable, "-m", "smtpdoctor", "failover", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2
        assert proc.stderr.count("\n") == 1
        assert proc.stderr.startswith(
            f"smtpdoctor: error: {config}:6: timeouts: connect: seconds between 0 and 86400"
        )
        assert "Traceback" not in proc.stderr
        assert main_cf.read_bytes() == before
        assert not state.exists()
        assert sorted(p.name for p in pf.config_dir.iterdir()) == ["main.cf", "master.cf"]


def test_missing_password_file_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "failover.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[[relays]]\ntarget = "[192.0.2.10]:587"\n'
        f'user = "u"\npassword_file = "{tmp_path / "nope"}"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "smtpdoctor", "failover", "--config", str(config), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("smtpdoctor: error: cannot read password_file")
    assert proc.stderr.count("\n") == 1


def test_the_documented_example_loads() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs/failover.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    cfg = parse_config(example, Path("failover.toml"))
    assert [(r.name, r.route) for r in cfg.relays] == [
        ("primary", "[relay1.example.net]:587"),
        ("backup", "[relay2.example.net]:587"),
    ]
    assert cfg.relays[0].knobs.password_file == Path("/etc/smtpdoctor/relay.pass")
