"""The circuit breaker: classification of every cause code, the transition table, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.failover.breaker import (
    NEUTRAL_CODES,
    RELAY_FAULT_CODES,
    Breaker,
    BreakerConfig,
    BreakerState,
    Outcome,
    classify,
)

CLOSED, OPEN, HALF = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN
OK, FAULT, NEUTRAL = Outcome.SUCCESS, Outcome.FAULT, Outcome.NEUTRAL
CFG = BreakerConfig(failures_to_open=3, successes_to_close=2, backoff_s=10, backoff_max_s=40)


def mid() -> float:
    return 0.5  # jitter factor exactly 1.0


# The codes issue 12 names as "this relay cannot take mail now".
ISSUE_FAULTS = {
    "connect_timeout",
    "connect_refused",
    "host_unreachable",
    "greeting_timeout",
    "tls_handshake_timeout",
    "server_busy",
    "command_timeout",
    "data_timeout",
    "connection_dropped",
    "dns_nxdomain",
    "dns_no_address",
    "dns_timeout",
    "dns_servfail",
    "auth_failed",
}
WARNINGS_ONLY = {
    CauseCode.DNS_SLOW,
    CauseCode.GREETING_SLOW,
    CauseCode.CONNECT_SLOW,
    CauseCode.REPLY_SLOW,
    CauseCode.TLS_CERT_EXPIRING,
    CauseCode.IPV6_BROKEN,
    CauseCode.MX_PARTIAL,
    CauseCode.LOCAL_ADDRESS,
}


def test_every_cause_code_has_a_decided_place() -> None:
    everything = set(CauseCode) - {CauseCode.OK}
    assert RELAY_FAULT_CODES.isdisjoint(NEUTRAL_CODES)
    assert everything == RELAY_FAULT_CODES | NEUTRAL_CODES | WARNINGS_ONLY


def test_the_issue_fault_codes_trip() -> None:
    assert {c.value for c in RELAY_FAULT_CODES} >= ISSUE_FAULTS


@pytest.mark.parametrize("code", sorted(CauseCode, key=str))
def test_classify_each_code_alone(code: CauseCode) -> None:
    assert classify(True, [code]) is OK
    if code in RELAY_FAULT_CODES:
        assert classify(False, [code]) is FAULT
    elif code in NEUTRAL_CODES:
        assert classify(False, [code]) is NEUTRAL
    else:
        assert classify(False, [code]) is FAULT  # failed without a neutral reason


@pytest.mark.parametrize(
    "codes",
    [
        [CauseCode.GREYLISTED],
        [CauseCode.REJECTED],
        [CauseCode.RATE_LIMITED],
        [CauseCode.RECIPIENT_UNKNOWN, CauseCode.GREETING_SLOW],
    ],
)
def test_recipient_side_causes_never_trip(codes: list[CauseCode]) -> None:
    b = Breaker(since=0)
    for i in range(50):
        b = b.observe(classify(False, codes), float(i), CFG, mid)
    assert b.state is CLOSED


def test_fault_wins_over_neutral() -> None:
    assert classify(False, [CauseCode.GREYLISTED, CauseCode.CONNECT_TIMEOUT]) is FAULT


# (state, failures, successes, outcome, now vs retry_at) -> (state, failures, successes)
TABLE = [
    (CLOSED, 0, 0, OK, None, CLOSED, 0, 0),
    (CLOSED, 2, 0, OK, None, CLOSED, 0, 0),
    (CLOSED, 0, 0, FAULT, None, CLOSED, 1, 0),
    (CLOSED, 1, 0, FAULT, None, CLOSED, 2, 0),
    (CLOSED, 2, 0, FAULT, None, OPEN, 0, 0),
    (CLOSED, 2, 0, NEUTRAL, None, CLOSED, 2, 0),
    (OPEN, 0, 0, OK, "early", OPEN, 0, 0),
    (OPEN, 0, 0, FAULT, "early", OPEN, 0, 0),
    (OPEN, 0, 0, OK, "due", HALF, 0, 1),
    (OPEN, 0, 0, FAULT, "due", OPEN, 0, 0),
    (OPEN, 0, 0, NEUTRAL, "due", OPEN, 0, 0),
    (HALF, 0, 1, OK, None, CLOSED, 0, 0),
    (HALF, 0, 1, FAULT, None, OPEN, 0, 0),
    (HALF, 0, 1, NEUTRAL, None, HALF, 0, 1),
]


@pytest.mark.parametrize(("state", "f", "s", "outcome", "when", "state2", "f2", "s2"), TABLE)
def test_transition_table(
    state: BreakerState,
    f: int,
    s: int,
    outcome: Outcome,
    when: str | None,
    state2: BreakerState,
    f2: int,
    s2: int,
) -> None:
    b = Breaker(state, f, s, since=100.0, backoff_s=10.0, retry_at=150.0)
    now = 140.0 if when == "early" else 150.0
    after = b.observe(outcome, now, CFG, mid)
    assert (after.state, after.failures, after.successes) == (state2, f2, s2)
    if state2 is not state:
        assert after.since == (100.0 if state is OPEN and state2 is OPEN else now)


def test_backoff_doubles_up_to_the_maximum_and_resets_after_half_open() -> None:
    b = Breaker(since=0)
    for t in range(3):
        b = b.observe(FAULT, float(t), CFG, mid)
    assert (b.state, b.backoff_s, b.retry_at) == (OPEN, 10.0, 12.0)
    waits = []
    for _ in range(4):
        now = b.retry_at
        b = b.observe(FAULT, now, CFG, mid)
        waits.append(b.backoff_s)
    assert waits == [20.0, 40.0, 40.0, 40.0]
    assert b.since == 2.0  # open since the first opening, not the last trial
    b = b.observe(OK, b.retry_at, CFG, mid)
    assert b.state is HALF
    b = b.observe(FAULT, 1000.0, CFG, mid)
    assert (b.state, b.backoff_s, b.retry_at) == (OPEN, 10.0, 1010.0)


def test_jitter_bounds() -> None:
    cfg = BreakerConfig(failures_to_open=1, backoff_s=100, backoff_max_s=100, jitter=0.2)
    low = Breaker().observe(FAULT, 0.0, cfg, lambda: 0.0)
    high = Breaker().observe(FAULT, 0.0, cfg, lambda: 0.999999)
    assert low.retry_at == pytest.approx(80.0)
    assert high.retry_at == pytest.approx(120.0, abs=1e-3)


def test_due_only_after_retry_at_while_open() -> None:
    b = Breaker(OPEN, since=0, backoff_s=10, retry_at=10)
    assert not b.due(9.99)
    assert b.due(10.0)
    assert Breaker(HALF).due(0.0)
    assert Breaker(CLOSED).due(0.0)


def test_config_rejects_nonsense() -> None:
    for bad in (
        {"failures_to_open": 0},
        {"successes_to_close": 0},
        {"backoff_s": 0},
        {"backoff_s": 10, "backoff_max_s": 5},
        {"jitter": 1.0},
        {"hold_s": -1},
    ):
        with pytest.raises(ValueError):
            BreakerConfig(**bad)  # type: ignore[arg-type]


outcomes = st.sampled_from([OK, FAULT, NEUTRAL])


@settings(max_examples=300)
@given(
    k=st.integers(1, 5),
    m=st.integers(1, 5),
    seq=st.lists(st.tuples(outcomes, st.floats(0, 50)), max_size=60),
    jitter=st.floats(0, 0.9),
    rnd=st.floats(0, 0.999),
)
def test_properties(
    k: int, m: int, seq: list[tuple[Outcome, float]], jitter: float, rnd: float
) -> None:
    cfg = BreakerConfig(k, m, backoff_s=5, backoff_max_s=60, jitter=jitter)
    b = Breaker()
    now = 0.0
    run_faults = 0
    for outcome, step in seq:
        now += step
        before = b
        b = b.observe(outcome, now, cfg, lambda: rnd)
        # counters stay below their thresholds
        assert 0 <= b.failures < k
        assert 0 <= b.successes < m
        # neutral outcomes never change anything
        if outcome is NEUTRAL:
            assert b == before
        # only a fault opens; only a success closes
        if b.state is OPEN and before.state is not OPEN:
            assert outcome is FAULT
        if b.state is CLOSED and before.state is not CLOSED:
            assert outcome is OK
        # closed opens only after K consecutive faults (neutral ones in between allowed)
        if before.state is CLOSED:
            run_faults = (
                run_faults + 1 if outcome is FAULT else (0 if outcome is OK else run_faults)
            )
            if b.state is OPEN:
                assert run_faults == k
                run_faults = 0
        if b.state is OPEN:
            assert cfg.backoff_s <= b.backoff_s <= cfg.backoff_max_s
            lo = b.backoff_s * (1 - jitter) - 1e-9
            hi = b.backoff_s * (1 + jitter) + 1e-9
            assert b.retry_at >= now or b == before
            if before != b:
                assert lo <= b.retry_at - now <= hi
        if before.state is OPEN and now < before.retry_at:
            assert b == before  # nothing happens before the trial is due
