"""Upload rules at scale: a bundle of N orders (default 10,000) obeys what marketplaces accept.

    python bench/bundle_limits.py [--orders N] [--cite all|pass]

Writes a bundle of N invented orders (the mix of `tests/evidence_fixtures.many_orders`), every
order cited by default (the worst case for upload/), then checks upload/: only PDF, JPG and
PNG files (by their first bytes), each at most 10 MB, no order id of an uncited order, and
`verify` passes. Prints one JSON object: files, sizes, carrier API log volumes, timings.
Exits 1 when a rule is broken.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.evidence_fixtures import RawStore, make_info, many_orders
from tracking.evidence import verify_bundle, write_bundle
from tracking.evidence.citing import Citation

LIMIT = 10 * 1024 * 1024
MAGIC = {".pdf": b"%PDF-", ".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--cite", choices=("all", "pass"), default="all")
    args = parser.parse_args()
    store = RawStore()
    citation = Citation(verdicts=("pass", "fail", "pending")) if args.cite == "all" else Citation()
    cited: set[str] = set()
    left_out: set[str] = set()

    def orders():  # type: ignore[no-untyped-def]
        for order in many_orders(store, args.orders):
            (cited if citation.cites(order) else left_out).add(order.order_id)
            yield order

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as temp:
        out = Path(temp) / "bundle"
        started = time.perf_counter()
        cpu = time.process_time()
        result = write_bundle(
            out, info=make_info(), orders=orders(), raw_body=store, citation=citation
        )
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        uploads = sorted(p for p in (out / "upload").rglob("*") if p.is_file())
        sizes = [p.stat().st_size for p in uploads]
        for path in uploads:
            head = path.read_bytes()[:8]
            if path.suffix not in MAGIC or not head.startswith(MAGIC[path.suffix]):
                problems.append(f"{path.name}: not a PDF/JPG/PNG")
            if path.stat().st_size > LIMIT:
                problems.append(f"{path.name}: {path.stat().st_size} bytes")
            if path.stem.split("-part")[0] in left_out:
                problems.append(f"{path.name}: an order not cited")
        volumes = [p for p in uploads if p.name.startswith("carrier-api-logs-")]
        started = time.perf_counter()
        verified = verify_bundle(out)
        verify_s = time.perf_counter() - started
        if not verified.ok:
            problems.append(f"verify: {verified.problem}")
        print(
            json.dumps(
                {
                    "orders_in_window": args.orders,
                    "orders_cited": result.orders,
                    "upload_files": len(uploads),
                    "upload_bytes": sum(sizes),
                    "largest_upload_file": max(sizes),
                    "log_volumes": len(volumes),
                    "largest_log_volume": max((p.stat().st_size for p in volumes), default=0),
                    "summary_parts": sum(1 for p in uploads if p.name.startswith("00-summary")),
                    "write_s": round(elapsed, 1),
                    "write_cpu_s": round(cpu, 1),
                    "verify_s": round(verify_s, 1),
                    "problems": problems[:20],
                }
            )
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
