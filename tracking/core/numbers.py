"""Tracking numbers: the one normalizer, the UPU S10 check digit, and carrier recognition.

`normalize_number` is the only place a tracking number is cleaned: ingest stores what it
returns, `detect` ranks carriers on it, and every parser matches a carrier's answer to the
requested numbers through it (`carriers.kit.Requested`). Cleaned three ways, a number read
from a file and the same number in a carrier's answer could fail to meet.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from tracking.core.countries import country_name

__all__ = [
    "Candidate",
    "Detection",
    "NumberFormats",
    "S10Check",
    "detect",
    "normalize_number",
    "s10_check_digit",
    "s10_number",
]

_S10 = re.compile(r"([A-Z]{2})(\d{8})(\d)([A-Z]{2})")
_LITERAL = re.compile(r"\\.|\[[^\]]*\]|\{[^}]*\}|[().*+?|^$]")
_SERVICES = {
    "C": "parcel",
    "E": "EMS",
    "L": "tracked letter / small packet",
    "R": "registered",
    "U": "untracked letter",
    "V": "insured",
    "H": "e-commerce parcel",
}
_SEPARATORS: Final = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2212_")
"""Dashes (ASCII, Unicode hyphens, en/em dashes, minus) and underscores people group with."""


def normalize_number(text: str) -> str:
    """A tracking number as stored and compared: upper case, without separators.

    Drops surrounding and inner whitespace of any kind (spaces, tabs, no-break and
    ideographic spaces, line breaks), dashes and underscores, and Excel's leading `'`
    ("keep as text"); folds full-width letters and digits (a Chinese ERP's `ＬＰ００…`) with
    NFKC. It never rejects: whether the result is a plausible number is the caller's call.
    """
    if text.isascii() and text.isalnum():
        return text.upper()  # the usual number: what the steps below would make of it
    number = text.strip()
    if number.startswith("'"):
        number = number[1:]
    if not number.isascii():
        number = unicodedata.normalize("NFKC", number)
    return "".join(number.split()).translate(_SEPARATORS).upper()


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit for an 8-digit serial (weights 8 6 4 2 3 5 9 7, mod 11)."""
    weights = (8, 6, 4, 2, 3, 5, 9, 7)
    c = 11 - sum(int(d) * w for d, w in zip(serial, weights, strict=True)) % 11
    return {10: 0, 11: 5}.get(c, c)


def s10_number(prefix: str, serial: int, country: str) -> str:
    """A valid UPU S10 number: 2 letters, 8 digits, check digit, 2-letter country."""
    digits = f"{serial % 100_000_000:08d}"
    return f"{prefix}{digits}{s10_check_digit(digits)}{country}"


class NumberFormats(Protocol):
    """What `detect` needs of a carrier: its name and its number shapes (a `CarrierInfo`)."""

    @property
    def name(self) -> str: ...

    @property
    def number_patterns(self) -> tuple[re.Pattern[str], ...]: ...


@dataclass(frozen=True, slots=True)
class S10Check:
    """What the UPU S10 structure says about a number."""

    service: str
    country: str
    check_digit_ok: bool
    expected_digit: int


@dataclass(frozen=True, slots=True)
class Candidate:
    """A carrier that may own the number, with a score in 0..1 and why."""

    carrier: str
    name: str
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Detection:
    """Ranked candidates for one tracking number (best first), and warnings."""

    number: str
    candidates: tuple[Candidate, ...]
    s10: S10Check | None
    warnings: tuple[str, ...]

    @property
    def best(self) -> str | None:
        return self.candidates[0].carrier if self.candidates else None


def _specificity(pattern: str) -> int:
    """How many literal characters a pattern pins (LP\\d{14}: 2; \\d{10,30}: 0)."""
    return len(_LITERAL.sub("", pattern))


def _s10(number: str) -> S10Check | None:
    match = _S10.fullmatch(number)
    if match is None:
        return None
    prefix, serial, digit, country = match.groups()
    expected = s10_check_digit(serial)
    return S10Check(
        service=_SERVICES.get(prefix[0], "other"),
        country=country,
        check_digit_ok=int(digit) == expected,
        expected_digit=expected,
    )


def detect(number: str, carriers: Mapping[str, NumberFormats]) -> Detection:
    """Rank the registered carriers whose number patterns match `number`.

    A failed S10 check digit is a warning, never a rejection: carriers do issue such numbers.
    """
    normalized = normalize_number(number)
    s10 = _s10(normalized)
    warnings: list[str] = []
    if s10 is not None and not s10.check_digit_ok:
        warnings.append(
            f"UPU S10 check digit is {normalized[10]}, expected {s10.expected_digit}: "
            "the number may be mistyped or invented"
        )
    candidates: list[Candidate] = []
    for code, info in carriers.items():
        matched = [p for p in info.number_patterns if p.fullmatch(normalized)]
        if not matched:
            continue
        literals = max(_specificity(p.pattern) for p in matched)
        score = min(1.0, 0.5 + 0.1 * literals)
        reasons = [f"matches {info.name} pattern {matched[0].pattern}"]
        if s10 is not None and s10.check_digit_ok:
            issuer = country_name(s10.country) or s10.country
            reasons.append(f"valid UPU S10 ({s10.service}, issued in {issuer})")
        elif s10 is not None:
            score *= 0.8
        candidates.append(Candidate(code, info.name, round(score, 2), tuple(reasons)))
    candidates.sort(key=lambda c: -c.score)
    if not candidates:
        warnings.append("no registered carrier recognizes this number format")
    return Detection(normalized, tuple(candidates), s10, tuple(warnings))
