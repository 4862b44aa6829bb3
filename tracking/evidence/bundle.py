"""`write_bundle`: the evidence bundle of an appeal, for two audiences (design §11).

Layout (a folder, or the same tree as a zip file):

    upload/00-summary.pdf          for the reviewer: what the bundle documents, how to check it,
                                   index (00-summary-part1.pdf, … when over the file limit)
    upload/orders/<stem>.pdf       one per cited order, ending with its raw carrier responses
    upload/orders/<stem>.png       the delivery-status image of each cited, delivered order
    upload/carrier-api-logs-NN.pdf every cited raw response (of a batch, the cited parcels'
                                   entries), indexed by digest and order
    precheck/precheck.pdf, .csv    for the seller, never uploaded: every order of the window,
                                   verdicts, findings, what to do, the orders not to cite
    raw/<sha256>.<ext>             every raw carrier response the upload cites, byte for byte
    manifest.json                  see `tracking.evidence.manifest`
    SHA256SUMS                     `sha256sum -c` format, every file but itself and the signature
    manifest.sig                   with a signing key: see `tracking.evidence.signing`

`upload/` holds only the cited orders (`tracking.evidence.citing.Citation`: by default those
that pass); no other order id appears in it. Orders are streamed: each cited order's files are
rendered and written as it arrives, and only a small row per order stays in memory for the
summary and the precheck. File stems are decided on the set of cited order ids at the end
(`tracking.evidence.names`), then files are renamed. Everything is written into a temporary
sibling of `out` and renamed into place at the very end, so a failure never leaves a
half-written bundle. The same inputs give a byte-identical bundle.
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
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tracking.core.domain import as_utc
from tracking.core.exceptions import InputError, StorageError
from tracking.evidence import manifest as mf
from tracking.evidence.citing import Citation
from tracking.evidence.fonts import EvidenceFont, get_font, get_mono_font
from tracking.evidence.image import render_order_png, split_png
from tracking.evidence.labels import fail_reasons
from tracking.evidence.logs import LoggedResponse
from tracking.evidence.names import assign_stems, sanitize
from tracking.evidence.pdf import doc_meta, render_order_pdf
from tracking.evidence.precheck import (
    PRECHECK_CSV,
    PRECHECK_PDF,
    precheck_csv,
    render_precheck_pdf,
)
from tracking.evidence.seal import BundleResult, Written, seal
from tracking.evidence.signing import public_key_hex
from tracking.evidence.summary import (
    OrderRow,
    SummaryData,
    VolumeEntry,
    manifest_figures,
    order_row,
    portfolio_of,
    render_summary_pdf,
)
from tracking.evidence.volumes import render_log_volumes
from tracking.read.portfolio import Portfolio
from tracking.read.views import (
    BundleInfo,
    ExchangeView,
    OrderEvidence,
    all_exchanges,
    as_parcel,
    order_numbers,
    parcels_of,
)

__all__ = ["DEFAULT_MAX_FILE_BYTES", "BundleResult", "write_bundle"]

DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024


@dataclass(slots=True)
class _Pending:
    """One order's rendered files, waiting for their final names."""

    key: tuple[str, str]
    row: OrderRow
    pdf: list[tuple[Path, str, int]]
    png: list[tuple[str, list[tuple[Path, str, int]]]]  # (name suffix, parts) per image
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


def _row(order: OrderEvidence, *, cited: bool) -> OrderRow:
    english, chinese = fail_reasons(order) if order.verdict != "pass" else ([], [])
    warnings = [f for f in order.findings if f.severity == "warning"]
    codes = [f.code for f in order.findings if f.severity == "error"]
    codes += [f.code for f in warnings]
    if any(m.status == "missing" for m in order.milestones):
        codes.append("milestone.missing")
    return order_row(
        order,
        tracking_number=", ".join(p.tracking_number for p in parcels_of(order)),
        reasons_en=tuple(english),
        reasons_zh=tuple(chinese),
        warnings_en=tuple(f.message for f in warnings),
        warnings_zh=tuple(f.message_zh for f in warnings if f.message_zh),
        codes=tuple(dict.fromkeys(codes)),
        shipped_at=order.events[0].occurred_at if order.events else None,
        cited=cited,
    )


def _portfolio(info: BundleInfo, rows: Iterable[OrderRow]) -> Portfolio:
    return portfolio_of(rows, window=(info.window_start, info.window_end))


def _delivered(order: OrderEvidence) -> bool:
    return any(m.stage == "delivered" and m.status != "missing" for m in order.milestones)


def _images(
    order: OrderEvidence, *, info: BundleInfo, font: EvidenceFont, max_bytes: int
) -> list[tuple[str, list[bytes]]]:
    """The delivery-status image of each delivered parcel: (file name suffix, PNG parts).

    An order in one parcel gets `<stem>.png`; a split order one image per delivered parcel,
    `<stem>-parcel<i>-<tracking number>.png`, so two never share a name.
    """
    if not order.parcels:
        if not _delivered(order):
            return []
        return [("", split_png(render_order_png(order, info=info, font=font), max_bytes))]
    out = []
    total = len(order.parcels)
    for i, parcel in enumerate(order.parcels, start=1):
        one = as_parcel(order, parcel)
        if _delivered(one):
            image = render_order_png(one, info=info, font=font, parcel=(i, total))
            suffix = f"-parcel{i}-{sanitize(parcel.tracking_number)}"
            out.append((suffix, split_png(image, max_bytes)))
    return out


def _earliest(exchanges: Iterable[ExchangeView]) -> dict[str, ExchangeView]:
    """The earliest fetch of each body digest."""
    out: dict[str, ExchangeView] = {}
    for x in sorted(exchanges, key=lambda x: (x.fetched_at, x.url, x.sha256)):
        out.setdefault(x.sha256, x)
    return out


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
    citation: Citation | None = None,
    portfolio: Portfolio | None = None,
) -> BundleResult:
    """Write the evidence bundle of `orders` (every order of the window) to `out`.

    `out` (a folder, or a zip file with `as_zip`) must not exist, or be an empty folder.
    `orders` may be a generator; `raw_body(sha256)` returns a stored raw carrier body.
    `citation` picks the orders `upload/` documents (default: those that pass); each cited
    order gets a PDF ending with its raw carrier responses, and a delivered one also the
    delivery-status PNG; the precheck covers every order. Raises `InputError` for an unusable
    `out`, duplicate orders, an unknown included/excluded order, a creation time earlier than
    the data shown, or a `max_file_bytes` too small for one page; `StorageError` when a raw
    body does not match its digest. `portfolio` is the window's portfolio summary as the
    store has it (unjudged orders included) for the precheck's figures; without it they are
    counted over `orders`.
    """
    if max_file_bytes <= 0:
        raise InputError("max_file_bytes must be positive")
    _check_out(out, as_zip=as_zip)
    for moment in (info.created_at, info.window_start, info.window_end):
        as_utc(moment)
    info = replace(info, tool_version=info.tool_version or _tool_version())
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        result = _build(
            temp,
            out,
            info=info,
            orders=orders,
            raw_body=raw_body,
            as_zip=as_zip,
            signing_key=signing_key,
            max_bytes=max_file_bytes,
            citation=citation or Citation(),
            portfolio=portfolio,
        )
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return result


@dataclass(slots=True)
class _State:
    """What the streaming pass keeps: files written, raw bodies, exchanges, citing orders."""

    stage: Path
    written: list[Written]
    raw_paths: dict[str, str]
    exchanges: dict[tuple[Any, ...], str]
    fetches: dict[str, ExchangeView]
    cited_by: dict[str, set[str]]
    numbers: dict[str, set[str]]  # digest -> tracking numbers of the cited orders' parcels
    latest: Any = None  # the latest fetch time of the data shown


def _responses(
    order: OrderEvidence, state: _State, raw_body: Callable[[str], bytes]
) -> list[LoggedResponse]:
    """The order's raw responses (checked against their digests, stored once in raw/)."""
    out = []
    exchanges = all_exchanges(order)
    numbers = order_numbers(order)
    for digest, exchange in sorted(_earliest(exchanges).items(), key=lambda kv: kv[1].fetched_at):
        if digest not in state.raw_paths:
            body = raw_body(digest)
            if hashlib.sha256(body).hexdigest() != digest:
                raise StorageError(f"stored raw body {digest} does not match its sha256")
            rel = f"raw/{digest}.{mf.raw_extension(exchange.content_type)}"
            _write(state.stage / rel, body)
            state.raw_paths[digest] = rel
            state.written.append(Written(rel, digest, len(body)))
        else:
            body = (state.stage / state.raw_paths[digest]).read_bytes()
        out.append(LoggedResponse(exchange, body))
        state.cited_by[digest].add(order.order_id)
        state.numbers[digest].update(numbers)
        known = state.fetches.get(digest)
        if known is None or (exchange.fetched_at, exchange.url) < (known.fetched_at, known.url):
            state.fetches[digest] = exchange
    for exchange in exchanges:
        entry = mf.exchange_entry(exchange, state.raw_paths[exchange.sha256])
        state.exchanges.setdefault(tuple(entry.values()), mf.dumps(entry))
        if state.latest is None or exchange.fetched_at > state.latest:
            state.latest = exchange.fetched_at
    return out


def _build(
    temp: Path,
    out: Path,
    *,
    info: BundleInfo,
    orders: Iterable[OrderEvidence],
    raw_body: Callable[[str], bytes],
    as_zip: bool,
    signing_key: Ed25519PrivateKey | None,
    max_bytes: int,
    citation: Citation,
    portfolio: Portfolio | None,
) -> BundleResult:
    font = get_font()
    mono = get_mono_font()
    stage = temp / "bundle"
    pending_dir = temp / "pending"
    (stage / "upload" / "orders").mkdir(parents=True)
    (stage / "raw").mkdir()
    (stage / "precheck").mkdir()
    pending_dir.mkdir()
    state = _State(stage, [], {}, {}, {}, defaultdict(set), defaultdict(set))
    written = state.written
    pending: list[_Pending] = []
    others: list[OrderRow] = []
    keys: set[tuple[str, str]] = set()
    fragments_path = temp / "orders.jsonl"

    with fragments_path.open("w+", encoding="utf-8", newline="") as fragments:
        for seq, order in enumerate(orders):
            key = (order.tenant, order.order_id)
            if key in keys:
                raise InputError(f"order {order.order_id!r} of {order.tenant!r} appears twice")
            keys.add(key)
            if not citation.cites(order):
                others.append(_row(order, cited=False))
                continue
            responses = _responses(order, state, raw_body)
            pdfs = render_order_pdf(
                order, info=info, font=font, max_bytes=max_bytes, responses=responses, mono=mono
            )
            pngs = _images(order, info=info, font=font, max_bytes=max_bytes)
            pdf_files = []
            for i, data in enumerate(pdfs):
                path = pending_dir / f"{seq}-{i}.pdf"
                pdf_files.append((path, *_write(path, data)))
            png_files = []
            for j, (suffix, parts) in enumerate(pngs):
                group = []
                for i, data in enumerate(parts):
                    path = pending_dir / f"{seq}-{j}-{i}.png"
                    group.append((path, *_write(path, data)))
                png_files.append((suffix, group))
            head, body_json = mf.order_entry_parts(order)
            text = head + "\n" + body_json + "\n"
            offset = fragments.tell()
            fragments.write(text)
            pending.append(
                _Pending(key, _row(order, cited=True), pdf_files, png_files, (offset, len(text)))
            )
        citation.check_known(order_id for _, order_id in keys)
        if state.latest is not None and as_utc(state.latest) > as_utc(info.created_at):
            raise InputError(
                f"the creation time {mf.iso(info.created_at)} is earlier than the data the bundle "
                f"shows (fetched up to {mf.iso(state.latest)}); give a later --created-at"
            )

        stems = assign_stems({item.key for item in pending})
        by_key: dict[tuple[str, str], _Pending] = {}
        for item in pending:
            stem = stems[item.key]
            order_files: list[str] = []
            groups_ = [(item.pdf, stem, "pdf")]
            groups_ += [(group, stem + suffix, "png") for suffix, group in item.png]
            for group, name_stem, ext in groups_:
                for (source, digest, size), name in zip(
                    group, _part_names(name_stem, len(group), ext), strict=True
                ):
                    rel = f"upload/orders/{name}"
                    os.replace(source, stage / rel)
                    written.append(Written(rel, digest, size))
                    order_files.append(rel)
            item.row = replace(item.row, files=tuple(order_files))
            by_key[item.key] = item
        ordered = [by_key[key] for key in sorted(by_key)]
        rows = [item.row for item in ordered]

        volumes = _write_volumes(state, info, font=font, mono=mono, max_bytes=max_bytes)
        summary = SummaryData(
            info=info,
            rows=tuple(rows),
            volumes=tuple(volumes),
            public_key_hex=public_key_hex(signing_key.public_key()) if signing_key else "",
        )
        summary_parts = render_summary_pdf(summary, font=font, max_bytes=max_bytes)
        for name, data in zip(
            _part_names("00-summary", len(summary_parts), "pdf"), summary_parts, strict=True
        ):
            rel = f"upload/{name}"
            written.append(Written(rel, *_write(stage / rel, data)))

        everyone = sorted([*rows, *others], key=lambda r: (r.tenant, r.order_id))
        precheck = render_precheck_pdf(
            info,
            everyone,
            font=font,
            citation=citation.describe(),
            portfolio=portfolio or _portfolio(info, everyone),
        )
        written.append(Written(PRECHECK_PDF, *_write(stage / PRECHECK_PDF, precheck)))
        sheet = precheck_csv(everyone)
        written.append(Written(PRECHECK_CSV, *_write(stage / PRECHECK_CSV, sheet)))

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
        figures = manifest_figures(_portfolio(info, rows))
        citation_json = {
            **citation.as_json(),
            "cited": len(rows),
            "not_cited": len(others),
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
                citation=citation_json,
                orders=order_items(),
                exchanges=(state.exchanges[k] for k in sorted(state.exchanges, key=_sort_key)),
                files=files,
            )
    return seal(
        stage,
        temp,
        out,
        info=info,
        written=written,
        rows=len(rows),
        as_zip=as_zip,
        signing_key=signing_key,
        manifest_path=manifest_path,
    )


def _write_volumes(
    state: _State, info: BundleInfo, *, font: EvidenceFont, mono: EvidenceFont, max_bytes: int
) -> Iterator[VolumeEntry]:
    """Write upload/carrier-api-logs-NN.pdf; the summary's index entry of each."""
    meta = doc_meta(
        info,
        title=f"Carrier API logs — {info.reference_id}",
        subject="Raw responses of the carriers' tracking systems, as received",
        right="Carrier API logs / 承运商接口日志",
    )

    def responses() -> Iterator[LoggedResponse]:
        for digest in sorted(state.fetches):
            body = (state.stage / state.raw_paths[digest]).read_bytes()
            yield LoggedResponse(
                state.fetches[digest],
                body,
                tuple(sorted(state.cited_by[digest])),
                tuple(sorted(state.numbers[digest])),
            )

    for volume in render_log_volumes(
        responses(), font=font, mono=mono, meta=meta, max_bytes=max_bytes
    ):
        rel = f"upload/{volume.name}"
        state.written.append(Written(rel, *_write(state.stage / rel, volume.data)))
        yield VolumeEntry(volume.name, len(volume.digests), volume.digests[0], volume.digests[-1])


def _sort_key(entry: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in entry)
