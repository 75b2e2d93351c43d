"""The route decision: best healthy relay, fail-back after the hold time, all down."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from smtpdoctor.failover.breaker import Breaker, BreakerState
from smtpdoctor.failover.route import Action, decide

PREF = ("primary", "backup", "third")
HOLD = 60.0


def closed(since: float = 0.0) -> Breaker:
    return Breaker(BreakerState.CLOSED, since=since)


def opened() -> Breaker:
    return Breaker(BreakerState.OPEN, since=0.0, backoff_s=30, retry_at=1e9)


def half() -> Breaker:
    return Breaker(BreakerState.HALF_OPEN, successes=1, since=0.0)


def test_stays_on_a_healthy_preferred_relay() -> None:
    d = decide(
        PREF, {"primary": closed(), "backup": closed(), "third": closed()}, "primary", 10, HOLD
    )
    assert (d.action, d.route, d.changes) == (Action.KEEP, "primary", False)


def test_moves_away_from_an_open_relay_at_once() -> None:
    b = {"primary": opened(), "backup": closed(95.0), "third": closed()}
    d = decide(PREF, b, "primary", 100.0, HOLD)
    # the third relay has been healthy for the hold time, the backup only 5 s: prefer settled
    assert (d.action, d.route) == (Action.SWITCH, "third")
    assert "primary is open" in d.reason


def test_takes_a_fresh_relay_when_no_relay_is_settled() -> None:
    b = {"primary": opened(), "backup": closed(95.0), "third": closed(99.0)}
    d = decide(PREF, b, "primary", 100.0, HOLD)
    assert (d.action, d.route) == (Action.SWITCH, "backup")


def test_half_open_is_not_healthy() -> None:
    b = {"primary": half(), "backup": closed(), "third": opened()}
    assert decide(PREF, b, "primary", 100.0, HOLD).route == "backup"


def test_all_down_changes_nothing_and_says_so() -> None:
    b = {"primary": opened(), "backup": half(), "third": opened()}
    d = decide(PREF, b, "backup", 100.0, HOLD)
    assert (d.action, d.route, d.changes) == (Action.ALL_DOWN, "backup", False)
    assert "every relay is down" in d.reason
    assert "primary open, backup half_open, third open" in d.reason


def test_failback_only_after_hold_time() -> None:
    b = {"primary": closed(100.0), "backup": closed(0.0), "third": closed()}
    early = decide(PREF, b, "backup", 159.0, HOLD)
    assert (early.action, early.route) == (Action.KEEP, "backup")
    assert "fail-back in 1 s" in early.reason
    late = decide(PREF, b, "backup", 160.0, HOLD)
    assert (late.action, late.route, late.changes) == (Action.FAILBACK, "primary", True)


def test_unknown_current_route_is_replaced_by_the_best() -> None:
    b = {"primary": closed(), "backup": closed(), "third": closed()}
    d = decide(PREF, b, "[203.0.113.9]:25", 1000.0, HOLD)
    assert (d.action, d.route) == (Action.SWITCH, "primary")
    assert decide(PREF, b, None, 1000.0, HOLD).action is Action.SWITCH


states = st.sampled_from([BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN])


@given(
    st.tuples(states, states, states),
    st.tuples(st.floats(0, 200), st.floats(0, 200), st.floats(0, 200)),
    st.sampled_from([*PREF, None]),
)
def test_decision_properties(
    kinds: tuple[BreakerState, ...], sinces: tuple[float, ...], current: str | None
) -> None:
    now = 200.0
    b = {r: Breaker(k, since=s) for r, k, s in zip(PREF, kinds, sinces, strict=True)}
    d = decide(PREF, b, current, now, HOLD)
    healthy = [r for r in PREF if b[r].state is BreakerState.CLOSED]
    if not healthy:
        assert d.action is Action.ALL_DOWN and d.route == current
        return
    assert d.route in healthy  # never routes to an unhealthy relay while one is healthy
    if current in healthy:
        # a healthy current route is only ever left for a more preferred relay after the hold
        if d.route != current:
            assert d.action is Action.FAILBACK
            assert PREF.index(d.route) < PREF.index(current)
            assert now - b[d.route].since >= HOLD
    else:
        assert d.action is Action.SWITCH
