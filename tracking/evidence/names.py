"""Safe, unique, portable file names for order ids.

An order id is whatever a marketplace or ERP exported: `../../x`, `CON`, `a/b`, `订单#1`, 300
characters, or two ids that differ only by case. Each becomes a file stem that is safe on
Windows, macOS and Linux (no separators, no reserved device names, no trailing dot or space,
no characters a file system rejects or rewrites, at most `MAX_STEM` characters), readable
(ASCII letters, digits, `-_.` and CJK ideographs are kept), and unique even on a
case-insensitive file system. A short hash of the id is appended whenever the stem is not the
id itself, or when it would clash with another id's stem, so the mapping never depends on the
order in which ids arrive: it is decided on the whole set at once (`assign_stems`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

__all__ = ["MAX_STEM", "assign_stems", "is_safe_stem", "sanitize"]

MAX_STEM = 80
"""Longest stem in characters (a CJK stem is at most 240 bytes of UTF-8)."""

_BASE_MAX = MAX_STEM - 11  # room for "-" and a hash of up to 10 hex digits
_HASH_LEN = 8

_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{i}" for i in (*range(10), "¹", "²", "³")}
    | {f"LPT{i}" for i in (*range(10), "¹", "²", "³")}
)
_UNSAFE_RUN = re.compile(r"_{2,}")


def _keep(char: str) -> bool:
    """Characters a stem may keep as they are."""
    if char.isascii():
        return char.isalnum() or char in "-_."
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
    )


def sanitize(order_id: str) -> str:
    """The readable part of a stem for `order_id` (not yet unique; may differ from the id)."""
    text = unicodedata.normalize("NFC", order_id)
    chars = [c if _keep(c) else "_" for c in text]
    stem = _UNSAFE_RUN.sub("_", "".join(chars))
    stem = stem.strip("._ -")
    if len(stem) > _BASE_MAX:
        stem = stem[:_BASE_MAX].rstrip("._ -")
    if not stem:
        stem = "order"
    root = stem.split(".", 1)[0].upper()
    if root in _RESERVED:
        stem = "_" + stem
    return stem


def _digest(key: str, length: int) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def is_safe_stem(stem: str) -> bool:
    """Whether `stem` is a portable file stem this module could have produced."""
    if not stem or len(stem) > MAX_STEM or stem != stem.strip(". -"):
        return False
    if not all(_keep(c) for c in stem):
        return False
    return stem.split(".", 1)[0].upper() not in _RESERVED


def assign_stems(keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Unique stems for (tenant, order id) pairs, decided on the whole set.

    A stem is the id itself when that is safe and no other id folds to the same stem;
    otherwise the sanitized id plus `-` and a hash of (tenant, id). Stems are unique under
    case folding, so the files never collide on Windows or macOS.
    """
    unique = sorted(set(keys))
    bases = {key: sanitize(key[1]) for key in unique}
    by_fold: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, base in bases.items():
        by_fold[base.casefold()].append(key)
    stems: dict[tuple[str, str], str] = {}
    for key in unique:
        base = bases[key]
        lossless = base == key[1]
        alone = len(by_fold[base.casefold()]) == 1
        if lossless and alone:
            stems[key] = base
        else:
            stems[key] = f"{base}-{_digest(key[0] + chr(0) + key[1], _HASH_LEN)}"
    # Two hashed stems clashing needs a sha256 prefix collision; lengthen until unique.
    taken: dict[str, tuple[str, str]] = {}
    for key in unique:
        stem = stems[key]
        length = _HASH_LEN
        while stem.casefold() in taken:
            length += 1
            stem = f"{bases[key]}-{_digest(key[0] + chr(0) + key[1] + chr(0) * length, length)}"
        taken[stem.casefold()] = key
        stems[key] = stem
    return stems
