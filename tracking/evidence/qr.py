"""QR codes of the public tracking links, encoded once per link and process.

The order PDF and the delivered image of the same order show the same link, and encoding a
QR code (segno, pure Python) costs about a millisecond, so the matrix and the PDF drawing
operators are cached per URL. The PDF operators are in module units, placed by one `cm`
transformation: "c r w 1.02 re" per run of dark modules (rows overlap by 2 % of a module,
so viewers draw no hairline between them).
"""

from __future__ import annotations

import functools

import segno

__all__ = ["qr_matrix", "qr_runs"]

QUIET = 4  # modules of white border on each side (ISO/IEC 18004)


@functools.lru_cache(maxsize=4096)
def qr_matrix(url: str) -> tuple[tuple[int, ...], ...]:
    """The module matrix of `url` (1 = dark), error correction M, a fixed mask."""
    return tuple(tuple(row) for row in segno.make(url, error="m", micro=False, mask=2).matrix)


@functools.lru_cache(maxsize=4096)
def qr_runs(url: str) -> tuple[int, str]:
    """(modules per side including the quiet zone, the PDF `re` operators of the dark runs)."""
    matrix = qr_matrix(url)
    parts: list[str] = []
    for r, row in enumerate(matrix):
        col = 0
        n = len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                parts.append(f"{start + QUIET} {r + QUIET} {col - start} 1.02 re")
            else:
                col += 1
    return len(matrix) + 2 * QUIET, " ".join(parts)
