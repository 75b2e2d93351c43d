"""The passive stall watch (pure)."""

from __future__ import annotations

from smtpdoctor.failover.stall import stalled

NOW = 1000.0


def test_held_mail_and_no_delivery_is_a_stall() -> None:
    ev = stalled([900.0, 950.0, 990.0], route_since=0.0, last_delivery=920.0, now=NOW, stall_s=60)
    assert ev is not None
    assert (ev.held, ev.oldest_s, ev.idle_s) == (1, 100.0, 80.0)
    assert ev.summary("primary") == (
        "1 message(s) held in the active queue for up to 100 s while no delivery "
        "through primary completed for 80 s"
    )


def test_a_relay_that_delivers_is_not_stalled_even_with_old_mail_held() -> None:
    assert stalled([900.0], route_since=0.0, last_delivery=990.0, now=NOW, stall_s=60) is None


def test_young_mail_is_not_a_stall() -> None:
    assert stalled([950.0], route_since=0.0, last_delivery=0.0, now=NOW, stall_s=60) is None


def test_mail_from_before_the_route_change_does_not_blame_the_new_relay() -> None:
    assert (
        stalled([800.0, 850.0], route_since=900.0, last_delivery=0.0, now=NOW, stall_s=60) is None
    )
    # idle is counted from the route change at the earliest
    ev = stalled([800.0, 910.0], route_since=900.0, last_delivery=0.0, now=NOW, stall_s=60)
    assert ev is not None and (ev.held, ev.idle_s) == (1, 100.0)


def test_whole_second_arrival_times_of_the_change_second_count() -> None:
    ev = stalled([900.0], route_since=900.6, last_delivery=0.0, now=NOW, stall_s=60)
    assert ev is not None and ev.held == 1


def test_zero_turns_it_off() -> None:
    assert stalled([0.0], route_since=0.0, last_delivery=0.0, now=NOW, stall_s=0) is None
