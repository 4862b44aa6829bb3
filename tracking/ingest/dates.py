"""Dates and times as exports write them -> UTC instants."""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Final

from tracking.ingest.values import _Bad, _show, _unanimous

_DATE_HELP: Final = "use 2024-03-01, 2024/3/1 12:00, 14 Oct 2024 or an Excel serial"

# Month names and abbreviations as exports write them: English, Russian (both the nominative
# "май" and the genitive "мая" of "14 мая 2026"), Spanish and Portuguese (Mercado Libre).
_MONTH_NAMES: Final = {
    1: "jan january ene enero janeiro янв январь января",
    2: "feb february fev febrero fevereiro фев февр февраль февраля",
    3: "mar march marzo março marco мар март марта",
    4: "apr april abr abril апр апрель апреля",
    5: "may mayo mai maio май мая",
    6: "jun june junio junho июн июнь июня",
    7: "jul july julio julho июл июль июля",
    8: "aug august ago agosto авг август августа",
    9: "sep sept september set septiembre setiembre setembro сен сент сентябрь сентября",
    10: "oct october out octubre outubro окт октябрь октября",
    11: "nov november noviembre novembro ноя нояб ноябрь ноября",
    12: "dec december dic dez diciembre dezembro дек декабрь декабря",
}
_MONTH_WORDS: Final = {w: n for n, words in _MONTH_NAMES.items() for w in words.split()}
_HAS_LETTER: Final = re.compile(r"[^\W\d_]")
_CLOCK: Final = (
    r"(?:[,\s]+(?:às\s+|a\s+las\s+|в\s+|at\s+)?(?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?"
    r"(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?)?"
)
_DAY_MONTH: Final = re.compile(
    r"(?P<day>\d{1,2})[\s.-]*(?:de\s+)?(?P<month>[^\W\d_]+\.?)[\s.,-]*(?:de\s+)?(?P<year>\d{4})"
    r"(?:\s*г\.?)?" + _CLOCK
)
_MONTH_DAY: Final = re.compile(
    r"(?P<month>[^\W\d_]+\.?)\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})" + _CLOCK
)
_MONTHS: Final = tuple(calendar.month_name[1:])
_NUMERIC_DATE: Final = re.compile(
    r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})"
    r"(?:(?:\s+|T)(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?"
)
_CHINESE_DATE: Final = re.compile(
    r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?"
    r"\s*(?:(上午|下午|晚上)?\s*(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*分?(?:\s*:?\s*(\d{1,2})\s*秒?)?)?"
)
_EXCEL_EPOCH: Final = datetime(1899, 12, 30, tzinfo=UTC)  # 1900 date system, past its leap bug
_EXCEL_MIN: Final = 32_874  # 1990-01-01
_EXCEL_MAX: Final = 73_051  # 2100-01-01
_EPOCH_MIN: Final = 946_684_800  # 2000-01-01 in Unix seconds
_EPOCH_MAX: Final = 4_102_444_800  # 2100-01-01
_EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
_UTC_EPOCH: Final = _EARLIEST
_HOURS: Final = tuple(timedelta(hours=n) for n in range(24))
_MINUTES: Final = tuple(timedelta(minutes=n) for n in range(60))
_SECONDS: Final = tuple(timedelta(seconds=n) for n in range(60))
_DAY_CACHE: Final = 4096
_NAIVE_EPOCH: Final = _EARLIEST.replace(tzinfo=None)


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    if minutes >= 24 * 60:
        raise ValueError("offset out of range")
    return timezone(timedelta(minutes=sign * minutes))


def _day_month_order(first: int, second: int) -> bool | None:
    """True for day-first, False for month-first, None when both readings are possible."""
    if first > 12 >= second:
        return True
    if second > 12 >= first:
        return False
    return None


class _DateReader:
    """Parses one date column; remembers which format the column uses to try it first."""

    __slots__ = (
        "_days",
        "_last",
        "_naive_start",
        "day_first",
        "field",
        "formats",
        "offset",
        "tz",
        "zone",
    )

    def __init__(
        self,
        field: str,
        tz: tzinfo,
        day_first: bool | None,
        formats: tuple[str, ...] = (),
    ) -> None:
        self.field = field
        self.tz = tz
        # A fixed offset is subtracted (fast); a zone with summer time converts each instant.
        self.zone: tzinfo | None = None if isinstance(tz, timezone) else tz
        self.offset: timedelta = (tz.utcoffset(None) if self.zone is None else None) or timedelta(0)
        self._naive_start = _NAIVE_EPOCH + self.offset  # 2000-01-01 00:00 UTC, wall time
        self.formats = formats  # an export profile's strptime formats, tried first
        self._days: dict[str, datetime] = {}  # "2024/3/1" -> start of that local day (UTC)
        self.day_first = day_first
        self._last: Callable[[_DateReader, str], datetime | None] | None = None

    def parse(self, text: str, latest: datetime) -> datetime:
        """The UTC instant `text` names; raises `_Bad` with a reason."""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        moment: datetime | None = None
        last = self._last
        problem: _Bad | None = None
        if last is not None:
            try:
                moment = last(self, text)
            except _Bad as bad:
                problem = bad
        if moment is None:
            for strategy in _DATE_STRATEGIES:
                if strategy is last:
                    continue
                try:
                    moment = strategy(self, text)
                except _Bad as bad:
                    problem = problem or bad
                    continue
                if moment is not None:
                    self._last = strategy
                    break
            else:
                raise problem or self._invalid(text)
        return self._within(moment, text, latest)

    def read(self, text: str, cell: datetime | date | None, latest: datetime) -> datetime:
        """The UTC instant of one value: its workbook's typed date cell if it has one, else
        its text; raises `_Bad` with a reason."""
        return self.parse(text, latest) if cell is None else self.cell(cell, latest)

    def cell(self, value: datetime | date, latest: datetime) -> datetime:
        """A workbook's typed date cell (a naive wall time in this column's zone, as the
        workbook stores it) -> the UTC instant: what `parse(date_text(value))` returns,
        without writing and re-reading the text (written only for a message)."""
        if isinstance(value, datetime):
            wall = value
        else:
            wall = datetime(value.year, value.month, value.day)  # noqa: DTZ001 - wall time
        try:
            if wall.tzinfo is not None:
                moment = wall.astimezone(UTC)
            elif self.zone is not None:
                moment = wall.replace(tzinfo=self.zone).astimezone(UTC)
            else:
                moment = _UTC_EPOCH + (wall - self._naive_start)
        except OverflowError:  # year 1 or 9999 shifted out of range
            raise self._invalid(date_text(value)) from None
        if _EARLIEST <= moment <= latest:
            return moment
        return self._within(moment, date_text(value), latest)

    def _within(self, moment: datetime, text: str, latest: datetime) -> datetime:
        if moment < _EARLIEST:
            raise _Bad(f"{self.field} {_show(text)} is before 2000; that cannot be right")
        if moment > latest:
            raise _Bad(
                f"{self.field} {_show(text)} is in the future"
                f" ({moment:%Y-%m-%d %H:%M} UTC); check the date and the date format"
            )
        return moment

    def _wall(self, y: int, mo: int, d: int, h: int, mi: int, s: int, us: int) -> datetime:
        # Built as if UTC, then shifted: `replace`/`astimezone` cost microseconds each.
        return self._shift(datetime(y, mo, d, h, mi, s, us, tzinfo=UTC))

    def _shift(self, wall: datetime) -> datetime:
        """A wall-clock time (labelled UTC) in this column's zone -> the UTC instant."""
        if self.zone is None:
            return wall - self.offset
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def _invalid(self, text: str) -> _Bad:
        return _Bad(f"{self.field} {_show(text)} is not a date ({_DATE_HELP})")

    def iso(self, text: str) -> datetime | None:
        if not (text[4:5] == "-" or (len(text) == 8 and text.isdigit())):
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        try:
            if moment.tzinfo is None:
                if self.zone is not None:
                    return moment.replace(tzinfo=self.zone).astimezone(UTC)
                return _UTC_EPOCH + (moment - _NAIVE_EPOCH - self.offset)
            return moment.astimezone(UTC)
        except OverflowError:  # year 1 or 9999 shifted out of range
            raise self._invalid(text) from None

    def numeric(self, text: str) -> datetime | None:
        # Fast path for the usual "2024/3/1 12:00[:30]" once its day has been seen: the
        # day's start is cached, the clock time is added from small tables.
        day_text, space, clock = text.partition(" ")
        start = self._days.get(day_text) if self.zone is None else None
        if start is not None:
            if not space:
                return start
            if len(clock) in (4, 5, 7, 8) and clock[-3] == ":":
                hh, _, rest = clock.partition(":")
                mm, _, ss = rest.partition(":")
                if hh.isdigit() and len(mm) == 2 and mm.isdigit() and (not ss or ss.isdigit()):
                    hour, minute, second = int(hh), int(mm), int(ss or 0)
                    if hour < 24 and minute < 60 and second < 60 and len(ss) in (0, 2):
                        return start + _HOURS[hour] + _MINUTES[minute] + _SECONDS[second]
        match = _NUMERIC_DATE.fullmatch(text)
        if match is None:
            return None
        moment, start = self._numeric(text, match)
        if start is not None and match.end(4) == len(day_text):
            if len(self._days) >= _DAY_CACHE:
                self._days.clear()
            self._days[day_text] = start
        return moment

    def _numeric(self, text: str, match: re.Match[str]) -> tuple[datetime, datetime | None]:
        """(the instant, the start of its local day when no offset was written)."""
        a, sep, b, c, hh, mm, ss, frac, ampm, off = match.groups()
        if len(a) == 4 and len(c) <= 2:
            year, month, day = int(a), int(b), int(c)
        elif len(a) <= 2 and (len(c) == 4 or (len(c) == 2 and sep == ".")):
            # two-digit years only in dd.mm.yy: "24-03-01" might be year first
            year = int(c) + (2000 if len(c) == 2 else 0)
            first, second = int(a), int(b)
            if sep == ".":
                day, month = first, second  # dd.mm.yyyy: nobody writes mm.dd.yyyy
            else:
                order = _day_month_order(first, second)
                if order is None and first != second:
                    if self.day_first is None:
                        raise self._ambiguous(text, first, second, year)
                    order = self.day_first
                elif order is not None and self.day_first is not None and order != self.day_first:
                    style = "day/month/year" if self.day_first else "month/day/year"
                    raise _Bad(
                        f"{self.field} {_show(text)} does not fit this file's {style} order;"
                        " write dates year first, e.g. 2024-03-01"
                    )
                day, month = (first, second) if order in (True, None) else (second, first)
        else:
            raise self._invalid(text)
        hour = int(hh) if hh else 0
        if ampm:
            if not 1 <= hour <= 12:
                raise self._invalid(text)
            hour = hour % 12 + (12 if ampm in "Pp" else 0)
        minute = int(mm) if mm else 0
        second = int(ss) if ss else 0
        us = int(frac[:6].ljust(6, "0")) if frac else 0
        if hour > 23 or minute > 59 or second > 59:
            raise self._invalid(text)
        try:
            if off:
                moment = datetime(year, month, day, hour, minute, second, us, tzinfo=_offset(off))
                return moment.astimezone(UTC), None
            if self.zone is not None:
                wall = datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)
                return self._shift(wall), None
            start = datetime(year, month, day, tzinfo=UTC) - self.offset
            return start + timedelta(0, second, us, 0, minute, hour), start
        except (ValueError, OverflowError):
            raise self._invalid(text) from None

    def _ambiguous(self, text: str, first: int, second: int, year: int) -> _Bad:
        if not (1 <= first <= 12 and 1 <= second <= 12):
            return self._invalid(text)
        one = f"{first} {_MONTHS[second - 1]} {year}"
        other = f"{second} {_MONTHS[first - 1]} {year}"
        return _Bad(
            f"{self.field} {_show(text)} is ambiguous: it could be {one} or {other};"
            " write dates year first, e.g. 2024-03-01"
        )

    def chinese(self, text: str) -> datetime | None:
        if "年" not in text:
            return None
        match = _CHINESE_DATE.fullmatch(text)
        if match is None:
            return None
        y, mo, d, half, hh, mi, ss = match.groups()
        hour = int(hh) if hh else 0
        if half in ("下午", "晚上") and hour < 12:
            hour += 12
        try:
            return self._wall(int(y), int(mo), int(d), hour, int(mi or 0), int(ss or 0), 0)
        except (ValueError, OverflowError):
            raise self._invalid(text) from None

    def serial(self, text: str) -> datetime | None:
        if not text[:1].isdigit() or not text.replace(".", "", 1).isdigit():
            return None
        if "." not in text and len(text) in (10, 13):  # Unix seconds or milliseconds
            seconds = int(text) / (1000 if len(text) == 13 else 1)
            if _EPOCH_MIN <= seconds <= _EPOCH_MAX:
                return datetime.fromtimestamp(seconds, tz=UTC)
        number = float(text)
        if not _EXCEL_MIN <= number <= _EXCEL_MAX:
            raise _Bad(
                f"{self.field} {_show(text)} is a number but not an Excel date serial"
                f" between 1990 and 2100 ({_DATE_HELP})"
            )
        wall = _EXCEL_EPOCH + timedelta(seconds=round(number * 86_400))
        return self._shift(wall)

    def profile(self, text: str) -> datetime | None:
        """The export profile's own formats (e.g. Lazada's "%d %b %Y %H:%M")."""
        for fmt in self.formats:
            try:
                wall = datetime.strptime(text, fmt)  # noqa: DTZ007 - a naive wall time, shifted
            except ValueError:
                continue
            if wall.tzinfo is not None:
                return wall.astimezone(UTC)
            return self._shift(wall.replace(tzinfo=UTC))
        return None

    def month_name(self, text: str) -> datetime | None:
        """ "14 Oct 2026 09:12", "14 окт. 2026", "14 de octubre de 2026", "Oct 14, 2026"."""
        if not _HAS_LETTER.search(text):
            return None
        match = _DAY_MONTH.fullmatch(text) or _MONTH_DAY.fullmatch(text)
        if match is None:
            return None
        parts = match.groupdict()
        month = _MONTH_WORDS.get(parts["month"].casefold().rstrip("."))
        if month is None:
            return None
        hour = int(parts["hh"] or 0)
        if parts["ampm"]:
            if not 1 <= hour <= 12:
                raise self._invalid(text)
            hour = hour % 12 + (12 if parts["ampm"][0] in "Pp" else 0)
        try:
            return self._wall(
                int(parts["year"]),
                month,
                int(parts["day"]),
                hour,
                int(parts["mm"] or 0),
                int(parts["ss"] or 0),
                0,
            )
        except (ValueError, OverflowError):
            raise self._invalid(text) from None


_DATE_STRATEGIES: Final[tuple[Callable[[_DateReader, str], datetime | None], ...]] = (
    _DateReader.profile,
    _DateReader.iso,
    _DateReader.numeric,
    _DateReader.serial,
    _DateReader.chinese,
    _DateReader.month_name,
)


def date_text(value: datetime | date) -> str:
    """A workbook's date cell as text: ISO, as `excel.cell_text` writes it."""
    return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()


def _learn_day_first(values: Iterable[str]) -> bool | None:
    """Day/month order shown by unambiguous slash/dash dates (13/03/2024); None if unknown."""
    return _unanimous(values, _NUMERIC_DATE, _day_first_in)


def _day_first_in(match: re.Match[str]) -> bool | None:
    """Whether one date (its `_NUMERIC_DATE` match) puts the day first; None if it does not show."""
    a, sep, b, c = match.group(1, 2, 3, 4)
    if sep == "." or len(a) > 2 or len(c) != 4 or int(a) > 31 or int(b) > 31:
        return None
    return _day_month_order(int(a), int(b))
