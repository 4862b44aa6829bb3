"""Export speed: per-order PDFs per second on one core, against the 100/s bar (issue 13).

    python bench/export_speed.py [--orders N] [--bundle]

Each PDF ends with its appendix of raw carrier responses (as `write_bundle` renders it); the
same orders are also timed without the appendix, side by side.

Renders N invented orders (the mix of `tests/evidence_fixtures.many_orders`: delivered
multi-leg RU, delivered US, failed, returned, pending) to per-order PDFs after a short warm-up
(the font is parsed once per process), and prints PDFs/s (wall clock, and per CPU second,
which a busy shared machine does not distort), the average PDF size and the ratio to the
bar. With --bundle it also times a whole `write_bundle` (PDF + PNG + raw logs + summary +
manifest) of the same orders. Timings only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.evidence_fixtures import RawStore, make_info, many_orders
from tracking.evidence import write_bundle
from tracking.evidence.fonts import get_font, get_mono_font
from tracking.evidence.image import render_order_png
from tracking.evidence.logs import LoggedResponse
from tracking.evidence.pdf import render_order_pdf
from tracking.evidence.qr import qr_matrix, qr_runs
from tracking.read.views import OrderEvidence

BAR = 100.0
MAX_BYTES = 10 * 1024 * 1024


def _fresh_qr() -> int:
    """Forget the QR codes already encoded: the fixtures repeat tracking numbers, real orders
    do not (a bundle encodes each order's link once, for its PDF and its PNG)."""
    qr_matrix.cache_clear()
    qr_runs.cache_clear()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500, help="orders to render (default 500)")
    parser.add_argument("--bundle", action="store_true", help="also time a whole write_bundle")
    args = parser.parse_args()

    store = RawStore()
    info = make_info()
    orders = list(many_orders(store, args.orders))
    started = time.perf_counter()
    font = get_font()
    print(f"font parsed in {time.perf_counter() - started:.2f} s ({font.path.name})")
    mono = get_mono_font()

    def responses(order: OrderEvidence) -> list[LoggedResponse]:
        seen: dict[str, LoggedResponse] = {}
        for x in sorted(order.exchanges, key=lambda x: (x.fetched_at, x.url)):
            seen.setdefault(x.sha256, LoggedResponse(x, store(x.sha256)))
        return list(seen.values())

    for order in orders[:20]:  # warm-up: glyph caches, imports
        render_order_pdf(
            order, info=info, font=font, max_bytes=MAX_BYTES, responses=responses(order), mono=mono
        )
        render_order_png(order, info=info, font=font)

    for label, appendix in (("without the log appendix", False), ("with the log appendix", True)):
        started = time.perf_counter()
        cpu = time.process_time()
        sizes = [
            _fresh_qr()
            + sum(
                len(p)
                for p in render_order_pdf(
                    order,
                    info=info,
                    font=font,
                    max_bytes=MAX_BYTES,
                    responses=responses(order) if appendix else (),
                    mono=mono if appendix else None,
                )
            )
            for order in orders
        ]
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        rate = len(orders) / elapsed
        cpu_rate = len(orders) / cpu
        print(
            f"per-order PDFs {label}: {len(orders)} in {elapsed:.2f} s = {rate:.1f} PDFs/s "
            f"wall, {cpu_rate:.1f} PDFs/s per CPU second (bar {BAR:.0f}/s: {rate / BAR:.2f}x "
            f"wall, {cpu_rate / BAR:.2f}x CPU); average {sum(sizes) / len(sizes) / 1024:.1f} KB, "
            f"largest {max(sizes) / 1024:.1f} KB"
        )

    started = time.perf_counter()
    png_sizes = [len(render_order_png(order, info=info, font=font)) for order in orders]
    elapsed = time.perf_counter() - started
    print(
        f"per-order PNGs: {len(orders) / elapsed:.1f} PNGs/s; "
        f"average {sum(png_sizes) / len(png_sizes) / 1024:.1f} KB"
    )

    if args.bundle:
        with tempfile.TemporaryDirectory() as temp:
            started = time.perf_counter()
            result = write_bundle(
                Path(temp) / "bundle", info=info, orders=iter(orders), raw_body=store
            )
            elapsed = time.perf_counter() - started
        print(
            f"write_bundle: {result.orders} orders, {result.files} files, "
            f"{result.bytes / 1024 / 1024:.1f} MB in {elapsed:.2f} s "
            f"= {result.orders / elapsed:.1f} orders/s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
