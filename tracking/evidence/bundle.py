"""`write_bundle`: the upload-ready evidence bundle of an appeal (design §11).

Layout (a folder, or the same tree as a zip file):

    upload/00-summary.pdf          cover, portfolio figures, failing orders, index
                                   (00-summary-part1.pdf, … when over the file limit)
    upload/orders/<stem>.pdf       one per order (<stem>-part1.pdf, … when over the limit)
    upload/orders/<stem>.png       the delivery-status image of each order
    raw/<sha256>.<ext>             every raw carrier response the documents cite
    manifest.json                  see `tracking.evidence.manifest`
    SHA256SUMS                     `sha256sum -c` format, every file but itself and the signature
    manifest.sig                   with a signing key: see `tracking.evidence.signing`

Orders are streamed: each order's files are rendered and written as it arrives, and only a
small row per order stays in memory for the summary. File stems are decided on the whole
set of order ids at the end (`tracking.evidence.names`), then files are renamed. Everything
is written into a temporary sibling of `out` and renamed into place at the very end, so a
failure never leaves a half-written bundle. The same inputs give a byte-identical bundle.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tracking.countries import country_name
from tracking.domain import as_utc
from tracking.evidence import manifest as mf
from tracking.evidence.archive import write_zip
from tracking.evidence.fonts import EvidenceFont, get_font
from tracking.evidence.image import render_order_png, split_png
from tracking.evidence.labels import fail_reasons
from tracking.evidence.names import assign_stems
from tracking.evidence.pdf import (
    CarrierFigure,
    OrderRow,
    SummaryData,
    render_order_pdf,
    render_summary_pdf,
)
from tracking.evidence.signing import sign_manifest
from tracking.exceptions import InputError, StorageError
from tracking.views import BundleInfo, OrderEvidence

__all__ = ["DEFAULT_MAX_FILE_BYTES", "BundleResult", "write_bundle"]

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What `write_bundle` wrote: the bundle path, its file count and size, the manifest digest."""

    path: Path
    files: int
    orders: int
    bytes: int
    manifest_sha256: str
    signed: bool


@dataclass(slots=True)
class _Written:
    path: str  # bundle-relative, final
    sha256: str
    size: int


@dataclass(slots=True)
class _Pending:
    """One order's rendered files, waiting for their final names."""

    key: tuple[str, str]
    row: OrderRow
    pdf: list[tuple[Path, str, int]]
    png: list[tuple[Path, str, int]]
    fragment: tuple[int, int]  # offset and length in the fragments file


def _tool_version() -> str:
    try:
        return importlib.metadata.version("track-evidence")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return ""


def _write(path: Path, data: bytes) -> tuple[str, int]:
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), len(data)


def _check_out(out: Path, *, as_zip: bool) -> None:
    if not out.exists() and not out.is_symlink():
        return
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        return
    kind = "a non-empty folder" if out.is_dir() else "a file"
    raise InputError(f"{out} already exists and is {kind}; choose a new path for the bundle")


def _row(order: OrderEvidence) -> OrderRow:
    statuses = {m.stage: m.status for m in order.milestones}
    english, chinese = fail_reasons(order)
    return OrderRow(
        tenant=order.tenant,
        order_id=order.order_id,
        verdict=order.verdict,
        carrier=order.carrier,
        carrier_name=order.carrier_name,
        tracking_number=order.tracking_number,
        destination_country=order.destination_country,
        milestones=(
            statuses.get("departed_origin", "missing"),
            statuses.get("arrived_destination", "missing"),
            statuses.get("delivered", "missing"),
        ),
        reasons_en=tuple(english),
        reasons_zh=tuple(chinese),
    )


def _figures(
    rows: Iterable[OrderRow], key: Callable[[OrderRow], tuple[str, str]]
) -> tuple[CarrierFigure, ...]:
    groups: dict[tuple[str, str], list[OrderRow]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    figures = [
        CarrierFigure(
            key=code,
            label=label,
            orders=len(members),
            complete=sum(1 for r in members if r.complete),
            passed=sum(1 for r in members if r.verdict == "pass"),
            failed=sum(1 for r in members if r.verdict == "fail"),
            pending=sum(1 for r in members if r.verdict == "pending"),
        )
        for (code, label), members in groups.items()
    ]
    return tuple(sorted(figures, key=lambda f: (-f.orders, f.key)))


def _figure_json(figures: Iterable[CarrierFigure], name: str) -> list[dict[str, Any]]:
    return [
        {
            name: f.key,
            "name": f.label,
            "orders": f.orders,
            "all_milestones": f.complete,
            "pass": f.passed,
            "fail": f.failed,
            "pending": f.pending,
        }
        for f in figures
    ]


def _delivered(order: OrderEvidence) -> bool:
    return any(m.stage == "delivered" and m.status != "missing" for m in order.milestones)


def _render(
    order: OrderEvidence, info: BundleInfo, max_bytes: int
) -> tuple[list[bytes], list[bytes]]:
    """An order's PDF parts and, when its delivery is proven, its PNG parts."""
    font = get_font()
    pdfs = render_order_pdf(order, info=info, font=font, max_bytes=max_bytes)
    if not _delivered(order):
        return pdfs, []
    return pdfs, split_png(render_order_png(order, info=info, font=font), max_bytes)


def _rendered(
    orders: Iterable[OrderEvidence], info: BundleInfo, max_bytes: int
) -> Iterator[tuple[OrderEvidence, tuple[list[bytes], list[bytes]]]]:
    """(order, its rendered files), one order at a time (a generator stays a stream)."""
    for order in orders:
        yield order, _render(order, info, max_bytes)


def _part_names(stem: str, count: int, ext: str) -> list[str]:
    if count == 1:
        return [f"{stem}.{ext}"]
    return [f"{stem}-part{i}.{ext}" for i in range(1, count + 1)]


def write_bundle(
    out: Path,
    *,
    info: BundleInfo,
    orders: Iterable[OrderEvidence],
    raw_body: Callable[[str], bytes],
    as_zip: bool = False,
    signing_key: Ed25519PrivateKey | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> BundleResult:
    """Write the evidence bundle of `orders` to `out` (a folder, or a zip file with `as_zip`).

    `out` must not exist, or be an empty folder. `orders` may be a generator; `raw_body(sha256)`
    returns a stored raw carrier body. Every order gets a PDF; an order whose delivery is
    proven also gets the delivery-status PNG. Raises `InputError` for an unusable `out`,
    duplicate orders or a `max_file_bytes` too small for one page, `StorageError` when a raw
    body does not match its digest.
    """
    if max_file_bytes <= 0:
        raise InputError("max_file_bytes must be positive")
    _check_out(out, as_zip=as_zip)
    for moment in (info.created_at, info.window_start, info.window_end):
        as_utc(moment)
    info = replace(info, tool_version=info.tool_version or _tool_version())
    font = get_font()
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        result = _build(
            temp,
            out,
            info=info,
            orders=_rendered(orders, info, max_file_bytes),
            raw_body=raw_body,
            as_zip=as_zip,
            signing_key=signing_key,
            max_bytes=max_file_bytes,
            font=font,
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return result


def _build(
    temp: Path,
    out: Path,
    *,
    info: BundleInfo,
    orders: Iterable[tuple[OrderEvidence, tuple[list[bytes], list[bytes]]]],
    raw_body: Callable[[str], bytes],
    as_zip: bool,
    signing_key: Ed25519PrivateKey | None,
    max_bytes: int,
    font: EvidenceFont,
) -> BundleResult:
    stage = temp / "bundle"
    pending_dir = temp / "pending"
    (stage / "upload" / "orders").mkdir(parents=True)
    (stage / "raw").mkdir()
    pending_dir.mkdir()
    written: list[_Written] = []
    raw_paths: dict[str, str] = {}
    exchanges: dict[tuple[Any, ...], str] = {}
    pending: list[_Pending] = []
    keys: set[tuple[str, str]] = set()
    fragments_path = temp / "orders.jsonl"

    with fragments_path.open("w+", encoding="utf-8", newline="") as fragments:
        for seq, (order, (pdfs, pngs)) in enumerate(orders):
            key = (order.tenant, order.order_id)
            if key in keys:
                raise InputError(f"order {order.order_id!r} of {order.tenant!r} appears twice")
            keys.add(key)
            pdf_files = []
            for i, data in enumerate(pdfs):
                path = pending_dir / f"{seq}-{i}.pdf"
                pdf_files.append((path, *_write(path, data)))
            png_files = []
            for i, data in enumerate(pngs):
                path = pending_dir / f"{seq}-{i}.png"
                png_files.append((path, *_write(path, data)))
            for exchange in sorted(order.exchanges, key=lambda x: (x.sha256, x.fetched_at, x.url)):
                digest = exchange.sha256
                if digest not in raw_paths:
                    body = raw_body(digest)
                    if hashlib.sha256(body).hexdigest() != digest:
                        raise StorageError(f"stored raw body {digest} does not match its sha256")
                    rel = f"raw/{digest}.{mf.raw_extension(exchange.content_type)}"
                    _write(stage / rel, body)
                    raw_paths[digest] = rel
                    written.append(_Written(rel, digest, len(body)))
                entry = mf.exchange_entry(exchange, raw_paths[digest])
                exchanges.setdefault(tuple(entry.values()), mf.dumps(entry))
            head, body_json = mf.order_entry_parts(order)
            text = head + "\n" + body_json + "\n"
            offset = fragments.tell()
            fragments.write(text)
            pending.append(_Pending(key, _row(order), pdf_files, png_files, (offset, len(text))))

        stems = assign_stems(keys)
        rows: list[OrderRow] = []
        by_key: dict[tuple[str, str], _Pending] = {}
        for item in pending:
            stem = stems[item.key]
            order_files: list[str] = []
            for group, ext in ((item.pdf, "pdf"), (item.png, "png")):
                for (source, digest, size), name in zip(
                    group, _part_names(stem, len(group), ext), strict=True
                ):
                    rel = f"upload/orders/{name}"
                    os.replace(source, stage / rel)
                    written.append(_Written(rel, digest, size))
                    order_files.append(rel)
            item.row = replace(item.row, files=tuple(order_files))
            by_key[item.key] = item
        ordered = [by_key[key] for key in sorted(by_key)]
        rows = [item.row for item in ordered]

        summary = SummaryData(
            info=info,
            rows=tuple(rows),
            by_carrier=_figures(rows, lambda r: (r.carrier, r.carrier_name or r.carrier)),
            by_destination=_figures(
                rows,
                lambda r: (
                    r.destination_country,
                    country_name(r.destination_country) or r.destination_country or "—",
                ),
            ),
            raw_files=len(raw_paths),
        )
        summary_parts = render_summary_pdf(summary, font=font, max_bytes=max_bytes)
        for name, data in zip(
            _part_names("00-summary", len(summary_parts), "pdf"), summary_parts, strict=True
        ):
            rel = f"upload/{name}"
            written.append(_Written(rel, *_write(stage / rel, data)))

        written.sort(key=lambda w: w.path)
        files: list[mf.FileEntry] = [
            {
                "path": w.path,
                "sha256": w.sha256,
                "size": w.size,
                "media_type": mf.media_type(w.path),
            }
            for w in written
        ]
        complete = sum(1 for r in rows if r.complete)
        figures = {
            "orders": len(rows),
            "all_milestones": complete,
            "verdicts": {
                v: sum(1 for r in rows if r.verdict == v) for v in ("pass", "fail", "pending")
            },
            "by_carrier": _figure_json(summary.by_carrier, "carrier"),
            "by_destination": _figure_json(summary.by_destination, "country"),
        }

        def order_items() -> Iterable[str]:
            for item in ordered:
                offset, length = item.fragment
                fragments.seek(offset)
                head, body_json = fragments.read(length)[:-1].split("\n", 1)
                stem = stems[item.key]
                yield mf.join_order_entry(head, body_json, stem=stem, files=item.row.files)

        manifest_path = stage / mf.MANIFEST_NAME
        with manifest_path.open("w", encoding="utf-8", newline="\n") as handle:
            mf.write_manifest(
                handle,
                info=info,
                tool_version=info.tool_version,
                summary=figures,
                orders=order_items(),
                exchanges=(exchanges[k] for k in sorted(exchanges, key=_sort_key)),
                files=files,
            )
    manifest_bytes = manifest_path.read_bytes()
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    sums = mf.sums_text([(w.path, w.sha256) for w in written] + [(mf.MANIFEST_NAME, manifest_sha)])
    (stage / mf.SUMS_NAME).write_bytes(sums.encode("utf-8"))
    all_paths = [w.path for w in written] + [mf.MANIFEST_NAME, mf.SUMS_NAME]
    if signing_key is not None:
        (stage / mf.SIGNATURE_NAME).write_bytes(sign_manifest(manifest_bytes, signing_key))
        all_paths.append(mf.SIGNATURE_NAME)
    total = sum((stage / path).stat().st_size for path in all_paths)

    if as_zip:
        archive = temp / "bundle.zip"
        with archive.open("wb") as sink:
            write_zip(
                sink,
                [(path, _opener(stage / path)) for path in all_paths],
                created_at=info.created_at,
            )
        total = archive.stat().st_size
        if out.is_dir():
            out.rmdir()
        os.replace(archive, out)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(stage, out)
    return BundleResult(
        path=out,
        files=len(all_paths),
        orders=len(rows),
        bytes=total,
        manifest_sha256=manifest_sha,
        signed=signing_key is not None,
    )


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _sort_key(entry: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in entry)
