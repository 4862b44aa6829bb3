"""Tracking-number recognition: ranked candidate carriers and the UPU S10 check digit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from carriers.base import CarrierInfo
from tracking.core.countries import country_name
from tracking.sandbox.world import s10_check_digit

__all__ = ["Candidate", "Detection", "S10Check", "detect", "normalize_number"]

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


def normalize_number(number: str) -> str:
    """Upper-case, without spaces or dashes (as carriers and marketplaces print them)."""
    return re.sub(r"[\s\-]", "", number).upper()


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


def detect(number: str, carriers: Mapping[str, CarrierInfo]) -> Detection:
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
