"""The bundle manifest (`manifest.json`, schema version `MANIFEST_VERSION`) and `SHA256SUMS`.

`manifest.json` is UTF-8 JSON laid out one array item per line, so a bundle of many orders
stays diffable and is written as a stream. Its JSON Schema is committed next to this module
(`manifest.schema.json`). Layout of the top-level object, in this order:

    schema_version, tool {name, version}, created_at, reference_id, seller,
    window {start, end}, policy, filters, summary, citation, orders [...], exchanges [...],
    files [...]

`summary` counts the cited orders (those `upload/` documents); `citation` records the rule
that picked them (verdicts, named orders, `include`, `exclude`) and how many were left out.

`files` lists every file of the bundle except `manifest.json`, `SHA256SUMS` and
`manifest.sig`, sorted by path, each with its sha256, size and media type. `SHA256SUMS`
lists every file except itself and `manifest.sig`, in `sha256sum -c` format.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from tracking.evidence.labels import event_ref
from tracking.read.views import (
    BundleInfo,
    EventView,
    ExchangeView,
    OrderEvidence,
    all_exchanges,
    as_parcel,
)

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "MEDIA_TYPES",
    "SCHEMA_PATH",
    "SIGNATURE_NAME",
    "SUMS_NAME",
    "TOOL_NAME",
    "FileEntry",
    "dumps",
    "exchange_entry",
    "iso",
    "join_order_entry",
    "media_type",
    "order_entry",
    "order_entry_parts",
    "raw_extension",
    "sums_text",
    "write_manifest",
]

MANIFEST_VERSION = "1"
MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
SIGNATURE_NAME = "manifest.sig"
TOOL_NAME = "track-evidence"
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")

MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "json": "application/json",
    "xml": "application/xml",
    "html": "text/html",
    "txt": "text/plain",
    "csv": "text/csv",
    "bin": "application/octet-stream",
}

FileEntry = dict[str, Any]
"""`{"path", "sha256", "size", "media_type"}`."""


def raw_extension(content_type: str) -> str:
    """File extension of a raw carrier body: json, xml, html, txt or bin."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("application/json", "text/json") or kind.endswith("+json"):
        return "json"
    if kind in ("application/xml", "text/xml") or kind.endswith("+xml"):
        return "xml"
    if kind in ("text/html", "application/xhtml+xml"):
        return "html"
    if kind.startswith("text/"):
        return "txt"
    return "bin"


def media_type(path: str) -> str:
    """Media type of a bundle file from its extension."""
    return MEDIA_TYPES.get(path.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def iso(moment: datetime | None) -> str | None:
    """`2024-05-01T02:00:00Z` (UTC, seconds), None for None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def dumps(value: object) -> str:
    """Compact JSON of one manifest item, keys in the order built, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _event(number: int, event: EventView) -> dict[str, Any]:
    return {
        "n": number,
        "stage": event.stage,
        "code": event.code,
        "text": event.description,
        "at": iso(event.occurred_at),
        "offset": event.local_offset,
        "time_source": event.time_source,
        "place": event.location,
        "country": event.country,
        "carrier": event.carrier,
        "tracking_number": event.tracking_number,
        "exchange": event.exchange_sha256,
    }


def _milestones(order: OrderEvidence) -> dict[str, Any]:
    milestones: dict[str, Any] = {}
    for milestone in order.milestones:
        event = milestone.event
        milestones[milestone.stage] = {
            "status": milestone.status,
            "occurred_at": iso(event.occurred_at) if event else None,
            "event": event_ref(order.events, event),
            "note": milestone.note,
        }
    return milestones


def _legs(order: OrderEvidence) -> list[dict[str, Any]]:
    return [
        {
            "carrier": leg.carrier,
            "tracking_number": leg.tracking_number,
            "role": leg.role,
            "public_url": leg.public_url,
            "status": leg.status,
            "final": leg.final,
        }
        for leg in order.legs
    ]


def order_entry(order: OrderEvidence) -> dict[str, Any]:
    """The manifest item of one order, without its file names (`file_stem`, `files`).

    A split order also lists every parcel (`parcels`: number, carrier, its own verdict,
    milestones, legs, events and raw responses); its `exchanges` are every parcel's.
    """
    entry: dict[str, Any] = {
        "tenant": order.tenant,
        "order_id": order.order_id,
        "marketplace": order.marketplace,
        "order_date": iso(order.order_date),
        "destination_country": order.destination_country,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "verdict": order.verdict,
        "verdict_computed_at": iso(order.verdict_computed_at),
        "policy": order.policy,
        "milestones": _milestones(order),
        "findings": [
            {
                "code": f.code,
                "severity": f.severity,
                "message": f.message,
                "message_zh": f.message_zh,
                "evidence": list(f.evidence),
            }
            for f in order.findings
        ],
        "legs": _legs(order),
        "events": [_event(n, e) for n, e in enumerate(order.events, start=1)],
        "exchanges": sorted({x.sha256 for x in all_exchanges(order)}),
    }
    if order.parcels:
        entry["parcels"] = []
        for parcel in order.parcels:
            one = as_parcel(order, parcel)
            entry["parcels"].append(
                {
                    "tracking_number": parcel.tracking_number,
                    "carrier": parcel.carrier,
                    "verdict": parcel.verdict,
                    "milestones": _milestones(one),
                    "legs": _legs(one),
                    "events": [_event(n, e) for n, e in enumerate(one.events, start=1)],
                    "exchanges": sorted({x.sha256 for x in one.exchanges}),
                }
            )
    return entry


def order_entry_parts(order: OrderEvidence) -> tuple[str, str]:
    """`order_entry` serialized as two JSON objects: {order_id, tenant} and the rest."""
    entry = order_entry(order)
    head = {"order_id": entry.pop("order_id"), "tenant": entry.pop("tenant")}
    return dumps(head), dumps(entry)


def join_order_entry(head: str, body: str, *, stem: str, files: Sequence[str]) -> str:
    """One order's manifest item from `order_entry_parts` and its file names."""
    return f'{head[:-1]},"file_stem":{dumps(stem)},"files":{dumps(list(files))},{body[1:]}'


def exchange_entry(exchange: ExchangeView, path: str) -> dict[str, Any]:
    """The manifest item of one raw exchange (a fetch of a stored body)."""
    return {
        "sha256": exchange.sha256,
        "path": path,
        "carrier": exchange.carrier,
        "method": exchange.method,
        "url": exchange.url,
        "status": exchange.status,
        "fetched_at": iso(exchange.fetched_at),
        "content_type": exchange.content_type,
        "size": exchange.size,
    }


def _array(out: IO[str], name: str, items: Iterable[str], *, last: bool) -> None:
    out.write(f'"{name}":[')
    first = True
    for item in items:
        out.write("\n" if first else ",\n")
        out.write(item)
        first = False
    out.write("\n]" if not first else "]")
    out.write("\n" if last else ",\n")


def write_manifest(
    out: IO[str],
    *,
    info: BundleInfo,
    tool_version: str,
    summary: Mapping[str, Any],
    orders: Iterable[str],
    citation: Mapping[str, Any] | None = None,
    exchanges: Iterable[str],
    files: Sequence[FileEntry],
) -> None:
    """Write manifest.json: `orders` and `exchanges` are already-serialized items (`dumps`)."""
    head: list[tuple[str, object]] = [
        ("schema_version", MANIFEST_VERSION),
        ("tool", {"name": TOOL_NAME, "version": tool_version}),
        ("created_at", iso(info.created_at)),
        ("reference_id", info.reference_id),
        ("seller", info.seller),
        ("window", {"start": iso(info.window_start), "end": iso(info.window_end)}),
        ("policy", info.policy),
        ("filters", dict(sorted(info.filters.items()))),
        ("summary", summary),
    ]
    if citation is not None:
        head.append(("citation", citation))
    out.write("{\n")
    for key, value in head:
        out.write(f"{json.dumps(key)}:{dumps(value)},\n")
    _array(out, "orders", orders, last=False)
    _array(out, "exchanges", exchanges, last=False)
    _array(out, "files", (dumps(f) for f in files), last=True)
    out.write("}\n")


def sums_text(entries: Iterable[tuple[str, str]]) -> str:
    """`SHA256SUMS` content for (path, sha256) pairs, sorted by path."""
    return "".join(f"{digest}  {path}\n" for path, digest in sorted(entries))
