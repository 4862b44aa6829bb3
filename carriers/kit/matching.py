"""Requested-number matching: which number the caller asked for does an answer speak of?

Carriers echo numbers as they like (lower case, spaced, dashed); the result must be keyed by
the number as requested, so that the pipeline finds it. Both sides go through the one
normalizer, `tracking.core.numbers.normalize_number`, which ingest stored the number with.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracking.core.numbers import normalize_number

__all__ = ["Requested", "same_number"]


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two spellings are one tracking number (an empty one matches nothing)."""
    left, right = normalize_number(a or ""), normalize_number(b or "")
    return bool(left) and left == right


class Requested:
    """The numbers a request asked for, by their normalized form.

    **Parameters:**

    * **numbers** - the numbers as the caller spelled them.
    """

    __slots__ = ("_by_norm",)

    def __init__(self, numbers: Iterable[str]) -> None:
        self._by_norm = {normalize_number(n): n for n in numbers}

    def spelling(self, answered: str) -> str:
        """The requested spelling of an answered number; the answer's own when not asked."""
        return self._by_norm.get(normalize_number(answered), answered)

    def find(self, answered: str) -> str | None:
        """The requested spelling of an answered number, or None when it was not asked."""
        return self._by_norm.get(normalize_number(answered))

    def __contains__(self, answered: object) -> bool:
        return isinstance(answered, str) and normalize_number(answered) in self._by_norm

    def __len__(self) -> int:
        return len(self._by_norm)
