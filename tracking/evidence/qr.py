"""QR codes of the public tracking links, encoded once per link and process.

The order PDF and the delivered image of the same order show the same link, so the matrix
and the PDF drawing operators are cached per URL. The encoder is zxing-cpp's (C++, about
0.2 ms a code; segno's pure-Python one took over 1 ms, a fifth of an order PDF's time). The
PDF operators are in module units, placed by one `cm` transformation: "c r w 1.02 re" per run
of dark modules (rows overlap by 2 % of a module, so viewers draw no hairline between them).
"""

from __future__ import annotations

import functools
import re

import zxingcpp

__all__ = ["qr_matrix", "qr_runs"]

QUIET = 4  # modules of white border on each side (ISO/IEC 18004)
_DARK = bytes(1 if value < 128 else 0 for value in range(256))  # image pixel -> module
_RUN = re.compile(rb"\x01+")


@functools.lru_cache(maxsize=4096)
def qr_matrix(url: str) -> tuple[tuple[int, ...], ...]:
    """The module matrix of `url` (1 = dark), error correction M, no quiet zone."""
    barcode = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    side = image.shape[1]
    # one byte a module, row by row (its stubs do not declare the buffer protocol it has)
    modules = memoryview(image).tobytes().translate(_DARK)  # type: ignore[arg-type]
    return tuple(tuple(modules[at : at + side]) for at in range(0, len(modules), side))


@functools.lru_cache(maxsize=4096)
def qr_runs(url: str) -> tuple[int, str]:
    """(modules per side including the quiet zone, the PDF `re` operators of the dark runs)."""
    matrix = qr_matrix(url)
    parts = [
        f"{run.start() + QUIET} {r + QUIET} {run.end() - run.start()} 1.02 re"
        for r, row in enumerate(matrix)
        for run in _RUN.finditer(bytes(row))
    ]
    return len(matrix) + 2 * QUIET, " ".join(parts)
