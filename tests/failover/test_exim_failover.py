"""`smtpdoctor failover` steering a real Exim through a route list file (manualroute)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from smtpdoctor.failover.exim import EximSteering, route_file_text
from smtpdoctor.failover.postfix import SteeringError
from tests.support.exim import EximInstance, exim_instance
from tests.support.failover_lab import FailoverLab, failover_lab, wait_for_text

pytestmark = [pytest.mark.netns, pytest.mark.exim, pytest.mark.slow]

PRIMARY = "[192.0.2.10]:25"
BACKUP = "[192.0.2.20]:25"

ROUTER = """\
begin routers
smarthost:
  driver = manualroute
  domains = dest.test
  route_data = ${{readfile{{{route_file}}}{{}}}}
  transport = remote_smtp
  self = send
begin transports
remote_smtp:
  driver = smtp
  hosts_avoid_tls = *
begin retry
* * F,1h,10m
"""


def test_route_file_text() -> None:
    assert route_file_text(BACKUP, (PRIMARY,)) == '"<; [192.0.2.20]:25 ; [192.0.2.10]:25"\n'
    with pytest.raises(SteeringError):
        route_file_text("relay.example.net:25", ())


@pytest.fixture
def lab_exim(tmp_path: Path) -> Iterator[tuple[FailoverLab, EximInstance, Path]]:
    with (
        failover_lab(tmp_path, with_postfix=False) as lab,
        exim_instance({"dest.test": "127.0.0.1::9"}, netns=lab.netns) as exim,
    ):
        route_file = exim.root / "route"
        route_file.write_text(route_file_text(PRIMARY, (BACKUP,)))
        text = exim.config_path.read_text()
        head = text[: text.index("begin routers")]
        exim.config_path.write_text(head + ROUTER.format(route_file=route_file))
        yield lab, exim, route_file


def _config(lab: FailoverLab, exim: EximInstance, route_file: Path) -> Path:
    text = lab.config(hold=3).read_text()
    text = text.replace('mta = "postfix"', 'mta = "exim"')
    head, _, rest = text.partition("[postfix]")
    rest = rest.split("[modules.relay]", 1)[1]
    exim_table = (
        f'[exim]\nroute_file = "{route_file}"\nlog = "{exim.main_log}"\n'
        f'binary = "{exim.exe}"\nconfig = "{exim.config_path}"\n'
        'check_address = "route-check@dest.test"\n'
    )
    return lab.write_config(head + exim_table + "[modules.relay]" + rest)


def test_exim_is_steered_by_the_route_file_and_fails_back(
    lab_exim: tuple[FailoverLab, EximInstance, Path],
) -> None:
    lab, exim, route_file = lab_exim
    steering = EximSteering(route_file, str(exim.exe), exim.config_path, "x@dest.test")
    assert steering.current() == (PRIMARY, BACKUP)
    exim.send("sender@lab.test", ["first@dest.test"])
    lab.wait_received("primary", {"first@dest.test"}, timeout=20)
    _, log = lab.start_daemon(_config(lab, exim, route_file))
    wait_for_text(log, "relay=backup outcome=success")
    lab.drop("primary")
    line = wait_for_text(log, "switch: exim route list", timeout=40)
    assert f"-> {BACKUP}, {PRIMARY}" in line
    assert steering.current() == (BACKUP, PRIMARY)
    assert (route_file.parent / "route.smtpdoctor-prev").read_text() == route_file_text(
        PRIMARY, (BACKUP,)
    )
    exim.send("sender@lab.test", ["second@dest.test"])  # no restart, no HUP: read per message
    lab.wait_received("backup", {"second@dest.test"}, timeout=20)
    lab.undrop()
    wait_for_text(log, "failback: exim route list", timeout=40)
    assert steering.current() == (PRIMARY, BACKUP)
    exim.send("sender@lab.test", ["third@dest.test"])
    lab.wait_received("primary", {"third@dest.test"}, timeout=20)


def test_a_route_exim_does_not_take_is_rolled_back(
    lab_exim: tuple[FailoverLab, EximInstance, Path],
) -> None:
    _, exim, route_file = lab_exim
    before = route_file.read_text()
    # the check address is not routed by the manualroute router: the change is refused
    steering = EximSteering(route_file, str(exim.exe), exim.config_path, "x@elsewhere.test")
    with pytest.raises(SteeringError, match="the old file is back"):
        steering.apply(BACKUP, (PRIMARY,))
    assert route_file.read_text() == before
