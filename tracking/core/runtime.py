"""Process-wide settings for long batch work (pull, refresh, workers)."""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]

_YOUNG_THRESHOLD = 20_000
"""Allocations between young-generation collections (CPython's default is 700)."""


def tune_gc() -> None:
    """Fewer, cheaper cyclic-garbage collections for a process that parses many answers.

    A pull allocates millions of short-lived objects (parsed payloads, events, rows), and
    with CPython's defaults the collector runs every 700 allocations and regularly walks
    every object the imports left behind. Those are frozen out of its sight, and the young
    generation is collected every 20,000 allocations instead (on the order of a megabyte).
    Reference counting still frees almost everything at once; only cycles wait longer.
    """
    gc.freeze()
    gc.set_threshold(_YOUNG_THRESHOLD, 20, 20)
