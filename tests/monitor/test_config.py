"""The TOML config: what it accepts, and one located line for everything it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpdoctor.monitor.config import ConfigError, parse_config
from tests.monitor.conftest import smtpdoctor

GOOD = """\
interval = "30s"
concurrency = 8

[[targets]]
target = "relay.example.net:587"
name = "relay"
module = "submission"

[[targets]]
target = "@example.org"

[modules.submission]
ports = [587]
starttls = "require"
timeouts = { connect = 5, rcpt = "20s" }
budget = "20s"
user = "monitor"
password_file = "/etc/smtpdoctor/relay.pass"
from = "monitor@example.net"
to = ["sink@example.net"]

[hooks]
command = ["/usr/local/bin/notify"]
min_interval = "10m"
"""


def test_a_full_config_is_read() -> None:
    config = parse_config(GOOD, "m.toml")
    assert config.interval_s == 30
    assert config.concurrency == 8
    assert [(t.name, t.module) for t in config.targets] == [
        ("relay", "submission"),
        ("@example.org", "default"),
    ]
    sub = config.modules["submission"]
    assert sub.ports == (587,)
    assert sub.starttls == "require"
    assert dict(sub.timeouts) == {"connect": 5.0, "rcpt": 20.0}
    assert sub.password_file == Path("/etc/smtpdoctor/relay.pass")
    assert config.hooks.command == ("/usr/local/bin/notify",)
    assert config.hooks.min_interval_s == 600
    # the module's budget applies; a target without one gets 80 % of the interval
    assert config.budget_for(config.targets[0]) == 20
    assert config.budget_for(config.targets[1]) == 24


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (
            ('target = "@example.org"', 'target = "@example.org"\nport = 25'),
            11,
            "unknown key 'port'",
        ),
        (('module = "submission"', 'module = "nope"'), 7, "module 'nope' is not defined"),
        (('starttls = "require"', 'starttls = "always"'), 14, "not one of auto, require, never"),
        (('rcpt = "20s"', 'rcpt = "soon"'), 15, "expected seconds or a duration"),
        (("timeouts = {", "timeouts = { mail_from = 3,"), 15, "unknown phase 'mail_from'"),
        (('interval = "30s"', 'interval = "0s"'), 1, "outside 1..86400 s"),
        (('target = "relay.example.net:587"', 'target = "relay.example.net:99999"'), 5, "port"),
        (('name = "relay"', 'name = "@example.org"'), 9, "two targets are named"),
        (('password_file = "/etc/smtpdoctor/relay.pass"\n', ""), 17, "user needs password_file"),
        (('command = ["/usr/local/bin/notify"]', 'command = "notify"'), 23, "a list (argv)"),
        (('[[targets]]\ntarget = "@', "[[targets]]\ntarget = @"), 10, "Invalid value"),
        # a misspelt array of tables is found where its first table starts
        (('[[targets]]\ntarget = "@', '[[target]]\ntarget = "@'), 9, "unknown key 'target'"),
    ],
)
def test_every_refusal_names_the_file_and_line(
    edit: tuple[str, str], line: int, message: str
) -> None:
    old, new = edit
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "/etc/smtpdoctor/monitor.toml")
    first = str(caught.value)
    assert first.startswith(f"/etc/smtpdoctor/monitor.toml:{line}: "), first
    assert message in first
    assert "\n" not in first


def test_the_command_line_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('interval = 60\n[[targets]]\ntarget = "relay.example.net"\nmodule = "x"\n')
    done = smtpdoctor("monitor", "--config", str(config), "--listen", "127.0.0.1:0")
    assert done.returncode == 2
    assert done.stderr == (
        f"smtpdoctor: error: {config}:4: module 'x' is not defined in [modules]\n"
    )


def test_a_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    done = smtpdoctor("monitor", "--config", str(tmp_path / "none.toml"))
    assert done.returncode == 2
    assert "none.toml: cannot read: No such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
