"""17TRACK event times: `time_utc` is the instant, `time_iso` gives the local offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from tracking.core.countries import CHINA_OFFSET, CHINA_TZ
from tracking.core.domain import TimeSource
from tracking.core.exceptions import BadPayloadError

__all__ = ["Timed", "event_time", "read_time"]

_MAX_OFFSET_MINUTES = 14 * 60


class Timed(Protocol):
    """Anything with 17TRACK's two time fields (an event, a milestone)."""

    @property
    def time_iso(self) -> str | None: ...

    @property
    def time_utc(self) -> str | None: ...


def event_time(
    raw: Timed, *, country: str | None, what: str | None
) -> tuple[datetime, int | None, TimeSource]:
    """The instant, the local offset (minutes east of UTC) and how the offset is known.

    - `time_utc` is the instant; a `time_utc` without a zone is read as UTC (its name says so).
    - `time_iso` with an offset gives the local offset (`explicit`); without `time_utc` it
      is also the instant.
    - `time_iso` without an offset next to a `time_utc`: the offset is their difference
      (`inferred`), when it is a whole quarter-hour within +-14 h.
    - Neither zoned: the naive `time_iso` is UTC+8 when the event is in China (`inferred`),
      else it is read as UTC with the offset unknown (`unknown`): an unknown offset is shown
      as such rather than guessed from the country.
    """
    local = read_time(raw.time_iso, what)
    utc = read_time(raw.time_utc, what)
    if utc is not None and utc.tzinfo is None:
        utc = utc.replace(tzinfo=UTC)
    if local is not None and local.tzinfo is not None:
        delta = local.utcoffset() or timedelta(0)
        return utc or local, int(delta.total_seconds() // 60), TimeSource.EXPLICIT
    if utc is not None:
        if local is not None:
            minutes = round((local - utc.replace(tzinfo=None)).total_seconds() / 60)
            if minutes % 15 == 0 and abs(minutes) <= _MAX_OFFSET_MINUTES:
                return utc, minutes, TimeSource.INFERRED
        return utc, None, TimeSource.UNKNOWN
    if local is not None:
        if country == "CN":
            return local.replace(tzinfo=CHINA_TZ), CHINA_OFFSET, TimeSource.INFERRED
        return local.replace(tzinfo=UTC), None, TimeSource.UNKNOWN
    raise BadPayloadError(
        f"17track: event {what!r} has neither `time_iso` nor `time_utc`",
        carrier="17track",
    )


def read_time(text: str | None, what: str | None) -> datetime | None:
    if not text or not text.strip():
        return None
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadPayloadError(
            f"17track: unreadable event time {text!r} ({what!r})", carrier="17track"
        ) from None
