"""Log timestamps (classic syslog, RFC 3339, Exim) to aware datetimes, and --since parsing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from smtpdoctor.logs.syslog import MONTHS

_MONTH_NUM = {m: i + 1 for i, m in enumerate(MONTHS)}
_DAY = timedelta(days=1)


def _local_tz() -> tzinfo:
    tz = datetime.now().astimezone().tzinfo
    return tz if tz is not None else UTC


_LOCAL = _local_tz()


class StampParser:
    """Parses timestamps; classic syslog stamps have no year, so one is inferred.

    The year comes from a reference time: the modification time of the file being
    read (its last line was written about then), or now for stdin and journald. A
    date in the reference's year that would lie more than a day after the reference
    belongs to the year before: so in a file last written in February, "Dec 30" lines
    are from the previous December, whatever today's date is.
    """

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime.now(_LOCAL)
        self._cached = lru_cache(maxsize=4096)(self._parse)
        self._minutes: dict[str, datetime] = {}

    @property
    def reference(self) -> datetime:
        """The time years are inferred against."""
        return self._now

    def set_reference(self, reference: datetime) -> None:
        """Infer years against reference from now on (an aware or local datetime)."""
        ref = reference if reference.tzinfo is not None else reference.replace(tzinfo=_LOCAL)
        if ref != self._now:
            self._now = ref
            self._cached.cache_clear()
            self._minutes.clear()

    def parse(self, stamp: str) -> datetime | None:
        """An aware datetime for the stamp, or None when it cannot be read."""
        return self._cached(stamp)

    def _parse(self, stamp: str) -> datetime | None:
        try:
            if stamp[:3] in _MONTH_NUM:
                return self._syslog(stamp)
            if stamp[:4].isdigit():
                return _iso(stamp)
        except ValueError:
            return None
        return None

    def _syslog(self, stamp: str) -> datetime:
        # A busy log has many seconds per minute: the minute (with its inferred year) is
        # built once, each second is added to it.
        minute = self._minute(stamp[:12])
        rest = stamp[13:]
        if not rest:
            return minute
        sec = float(rest)
        if not 0 <= sec < 61:
            raise ValueError(f"bad seconds in {stamp!r}")
        return minute + timedelta(seconds=sec)

    def _minute(self, head: str) -> datetime:
        cached = self._minutes.get(head)
        if cached is not None:
            return cached
        month = _MONTH_NUM[head[:3]]
        base = datetime(self._now.year, month, int(head[4:6]), int(head[7:9]), int(head[10:12]),
                        tzinfo=_LOCAL)  # fmt: skip
        if base - self._now > _DAY:
            base = base.replace(year=base.year - 1)
        if len(self._minutes) >= 4096:
            self._minutes.clear()
        self._minutes[head] = base
        return base


def _iso(stamp: str) -> datetime:
    text = stamp.replace(" ", "T", 1) if stamp[10:11] == " " else stamp
    text = re.sub(r" ([+-]\d{4})$", r"\1", text)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=_LOCAL)


_AGO = re.compile(
    r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s+ago\s*$"
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """`--since` values: '2 days ago', '3h ago', 'today', 'yesterday', ISO dates and times.

    Raises ValueError with a one-line message for anything else.
    """
    now = now or datetime.now(_LOCAL)
    t = text.strip().lower()
    if t == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "yesterday":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    m = _AGO.match(t)
    if m:
        unit = m.group(2)
        seconds = _UNIT_SECONDS["m" if unit.startswith("mi") or unit == "m" else unit[0]]
        try:
            return now - timedelta(seconds=int(m.group(1)) * seconds)
        except OverflowError:
            raise ValueError(f"--since {text!r} reaches before the year 1") from None
    try:
        return _iso(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read --since {text!r}: use e.g. '2 days ago', '3 hours ago', "
            "'yesterday' or '2026-11-27 10:00'"
        ) from None
