"""Values: the problem type, money, currency and tracking numbers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Final

import pycountry

from tracking.core.numbers import normalize_number
from tracking.ingest.model import _SHOW_CHARS


class _Bad(Exception):
    """A value that cannot be used; the message is the reason shown to the user."""


def _show(value: str) -> str:
    value = value.replace("\x00", "\\0")
    if len(value) > _SHOW_CHARS:
        value = value[: _SHOW_CHARS - 1] + "…"
    return f"'{value}'"


_CURRENCY_WORDS: Final[dict[str, str]] = {
    "$": "USD",
    "US$": "USD",
    "USD$": "USD",
    "€": "EUR",
    "¥": "CNY",
    "元": "CNY",
    "RMB": "CNY",
    "人民币": "CNY",
    "美元": "USD",
    "欧元": "EUR",
    "英镑": "GBP",
    "卢布": "RUB",
    "£": "GBP",
    "₽": "RUB",
    "РУБ": "RUB",
    "РУБ.": "RUB",
    "Р.": "RUB",
    "RUR": "RUB",
    "₩": "KRW",
    "R$": "BRL",
    "₹": "INR",
    "₺": "TRY",
    "ZŁ": "PLN",
}


@lru_cache(maxsize=256)
def _currency(text: str) -> str | None:
    """ISO 4217 code for a currency code, symbol or word; "" for empty; None if unknown."""
    word = unicodedata.normalize("NFKC", text).strip().upper()
    if not word:
        return ""
    if word in _CURRENCY_WORDS:
        return _CURRENCY_WORDS[word]
    if len(word) == 3 and word.isascii() and word.isalpha():
        hit = pycountry.currencies.get(alpha_3=word)
        if hit is not None:
            return str(hit.alpha_3)
    return None


_PLAIN_NUMBER: Final = re.compile(r"\d{1,15}(?:\.\d{1,8})?")
_MONEY: Final = re.compile(r"(\D*?)\s*(\d[\d.,\s'\u00a0\u202f]*)(\D*)")
_GROUP_SPACES: Final = str.maketrans("", "", " '\u00a0\u202f\u2009")


def _amount(core: str, decimal_comma: bool | None) -> Decimal | None:
    """The number in `core` ("1 234,50", "1,234.50", "12.5"); None when ambiguous."""
    s = core.translate(_GROUP_SPACES).rstrip(".,")
    if "." in s and "," in s:
        decimal_sep = "." if s.rfind(".") > s.rfind(",") else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, frac = s.rpartition(decimal_sep)
        if group_sep in frac or decimal_sep in whole:
            raise ValueError(core)
        groups = whole.split(group_sep)
        if any(len(g) != 3 for g in groups[1:]) or not 1 <= len(groups[0]) <= 3:
            raise ValueError(core)
        s = "".join(groups) + "." + frac
    elif "," in s or "." in s:
        sep = "," if "," in s else "."
        parts = s.split(sep)
        if len(parts) > 2:
            if any(len(p) != 3 for p in parts[1:]) or not 1 <= len(parts[0]) <= 3:
                raise ValueError(core)
            s = "".join(parts)
        elif len(parts[1]) != 3:
            s = parts[0] + "." + parts[1]
        elif sep == ",":
            if decimal_comma is None:
                return None
            s = parts[0] + ("." if decimal_comma else "") + parts[1]
        else:  # "1.234": a decimal point unless this file writes decimal commas
            s = parts[0] + ("" if decimal_comma else ".") + parts[1]
    if not _PLAIN_NUMBER.fullmatch(s):
        raise ValueError(core)
    return Decimal(s)


def _unanimous(
    values: Iterable[str], pattern: re.Pattern[str], answer: Callable[[re.Match[str]], bool | None]
) -> bool | None:
    """The answer every value that `pattern` matches gives, where it shows one (`answer` of
    the match, None where it does not show); None if the values disagree or none shows."""
    seen: set[bool] = set()
    for value in values:
        match = pattern.fullmatch(value.strip())
        shown = None if match is None else answer(match)
        if shown is not None:
            seen.add(shown)
    return seen.pop() if len(seen) == 1 else None


def _learn_decimal_comma(values: Iterable[str]) -> bool | None:
    """Whether a value column writes decimal commas (12,50), from unambiguous values."""
    return _unanimous(values, _MONEY, _decimal_comma_in)


def _decimal_comma_in(match: re.Match[str]) -> bool | None:
    """Whether one value (its `_MONEY` match) writes a decimal comma; None if it does not show."""
    s = match.group(2).translate(_GROUP_SPACES).rstrip(".,")
    dot, comma = s.rfind("."), s.rfind(",")
    if dot >= 0 and comma >= 0:
        return comma > dot
    if comma >= 0 and s.count(",") == 1 and len(s) - comma - 1 in (1, 2):
        return True
    if dot >= 0 and s.count(".") == 1 and len(s) - dot - 1 in (1, 2):
        return False
    return None


def _tracking(raw: str) -> str:
    """Normalized tracking number (`tracking.core.numbers.normalize_number`); raises `_Bad`."""
    number = normalize_number(raw)
    if number.isascii() and number.isalnum() and 5 <= len(number) <= 50:
        return number
    if not number:
        raise _Bad("tracking_number is empty")
    if re.fullmatch(r"\d(?:[.,]\d+)?E\+?\d+", number):
        raise _Bad(
            f"tracking_number {_show(raw)} was turned into a number by Excel (scientific"
            " notation) and its digits are lost; format the column as Text and export again"
        )
    if not (number.isascii() and number.isalnum()):
        raise _Bad(f"tracking_number {_show(raw)} may contain only letters and digits")
    raise _Bad(f"tracking_number {_show(raw)} has {len(number)} characters; expected 5 to 50")


_CELL_NUMBER: Final = re.compile(r"[A-Za-z0-9]{8,40}")
_CARRIER_WORD: Final = re.compile(r"[^\W\d_]{3,}")


def split_carrier_cell(raw: str) -> tuple[str, str]:
    """("carrier name", "number part") of a cell holding both, else ("", raw).

    AliExpress's `实际发货物流:运单号` column holds "AliExpress Standard Shipping:LP00123456789CN";
    some ERPs write "YunExpress YT2412345678901234". A space splits only when the last word looks
    like a tracking number (8-40 letters and digits, at least 4 digits) and what comes before
    holds a word of letters, so a number written in groups ("RR 123 456 789 CN") stays whole.
    """
    if ":" not in raw and "：" not in raw and " " not in raw:
        return "", raw  # the usual plain number
    text = raw.strip()
    for colon in (":", "："):
        if colon in text:
            name, _, number = text.rpartition(colon)
            if number.strip() and _CARRIER_WORD.search(name):
                return name.strip(), number.strip()
    name, space, last = text.rpartition(" ")
    if (
        space
        and _CELL_NUMBER.fullmatch(last)
        and sum(ch.isdigit() for ch in last) >= 4
        and _CARRIER_WORD.search(name)
    ):
        return name.strip(), last
    return "", raw
