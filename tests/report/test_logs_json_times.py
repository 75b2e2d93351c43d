"""logs --json writes each time as datetime.isoformat() writes it, through a cache of
hours (report/logs_json._ts): the same text for every kind of datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdoctor.report.logs_json import _ts

_OFFSETS = st.one_of(
    st.none(),
    st.just(UTC),
    st.integers(min_value=-86399, max_value=86399).map(
        lambda s: timezone(timedelta(seconds=s))  # odd ones too: +05:45, +00:00:30
    ),
)


@settings(max_examples=500, deadline=None)
@given(
    st.datetimes(timezones=_OFFSETS),
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=59),
)
def test_a_time_is_written_as_isoformat_writes_it(when: datetime, minute: int, second: int) -> None:
    # Twice in one hour: the second time goes through the cache the first one filled.
    other = when.replace(minute=minute, second=second)
    assert (_ts(when), _ts(other)) == (when.isoformat(), other.isoformat())


def test_no_time_is_none() -> None:
    assert _ts(None) is None


def test_a_minute_of_one_offset_is_not_taken_for_the_same_minute_of_another() -> None:
    utc = datetime(2026, 11, 1, 10, 0, 5, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    assert [_ts(utc), _ts(paris)] == ["2026-11-01T10:00:05+00:00", "2026-11-01T11:00:05+01:00"]
