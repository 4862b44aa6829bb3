"""The orders table (filters, search, keyset paging, counts) and one order's evidence.

The table reads `tracking.store.order_pages` (newest first, by keyset: every page costs the
same at 100,000 orders). One order's evidence is assembled by `tracking.read.assemble`, the
read model the bundle renders; raw carrier responses are served by the API's rule
(`tracking.api.crud.exchange_body`: only exchanges made for this tenant's own numbers).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from tracking import __version__
from tracking.api.crud import exchange_body
from tracking.console.web import ConsoleError, Page, PageDep, render
from tracking.evidence.fonts import get_font
from tracking.evidence.image import render_order_png
from tracking.evidence.precheck import action, advice
from tracking.evidence.summary import order_row
from tracking.judge.findings import CATALOGUE, spec
from tracking.read.assemble import order_evidence
from tracking.read.views import BundleInfo, OrderEvidence, parcels_of
from tracking.store.order_pages import (
    OrderFilter,
    PageKey,
    order_data,
    order_page,
    verdict_counts,
)

__all__ = ["router"]

router = APIRouter()

PAGE_SIZE = 50
VERDICTS = ("pass", "fail", "pending", "none")
WINDOWS = (30, 60, 90, 180, 365)
MILESTONES = ("departed_origin", "arrived_destination", "delivered")
_HEX = frozenset("0123456789abcdef")


def _encode_key(key: PageKey) -> str:
    text = f"{key[0].astimezone(UTC).isoformat()}|{key[1]}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_key(value: str) -> PageKey | None:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        when, pk = text.split("|")
        moment = datetime.fromisoformat(when)
        number = int(pk)
    except (ValueError, UnicodeDecodeError):
        return None
    if moment.tzinfo is None or not 0 < number < 2**63:
        return None
    return moment, number


def _filters(page: Page) -> tuple[OrderFilter, dict[str, str]]:
    """The filter of the query string (unknown values are dropped, never widened)."""
    q = page.request.query_params
    chosen: dict[str, str] = {}

    def pick(name: str, allowed: Any = None, size: int = 64) -> str | None:
        value = q.get(name, "").strip()[:size]
        if not value or (allowed is not None and value not in allowed):
            return None
        chosen[name] = value
        return value

    verdict = pick("verdict", VERDICTS)
    carrier = pick("carrier", size=32)
    destination = pick("destination", size=2)
    finding = pick("finding", CATALOGUE)
    search = pick("q", size=512)
    days = pick("window", {str(w) for w in WINDOWS})
    window = None
    if days is not None:
        now = datetime.now(UTC)
        window = (now - timedelta(days=int(days)), now)
    return (
        OrderFilter(
            verdict=verdict,
            carrier=carrier,
            destination=destination.upper() if destination else None,
            finding=finding,
            window=window,
            search=search,
        ),
        chosen,
    )


def _milestone_marks(raw: str | None) -> list[str]:
    if raw is None:
        return []
    data = json.loads(raw)
    return [str((data.get(stage) or {}).get("status", "missing")) for stage in MILESTONES]


def _finding_titles(raw: str | None, lang: str) -> list[tuple[str, str]]:
    """(code, short title in `lang`) of each finding code of an order, errors first."""
    if not raw:
        return []
    found = {str(f["code"]): str(f.get("severity", "")) for f in json.loads(raw)}
    ranked = sorted(found, key=lambda c: (found[c] != "error", c))
    return [(c, spec(c).title_zh if lang == "zh" else spec(c).title) for c in ranked]


@router.get("/orders")
async def orders_page(page: PageDep) -> Response:
    """The orders table."""
    where, chosen = _filters(page)
    after = _decode_key(page.request.query_params.get("after", ""))
    engine, tenant = page.context.engine, page.tenant

    def load() -> dict[str, Any]:
        counts = verdict_counts(engine, tenant=tenant, where=where)
        matching = counts.get(where.verdict, 0) if where.verdict else sum(counts.values())
        lines, next_key = order_page(
            engine, tenant=tenant, where=where, after=after, limit=PAGE_SIZE, matching=matching
        )
        return {
            "lines": [
                {
                    "line": line,
                    "marks": _milestone_marks(line.milestones),
                    "findings": _finding_titles(line.findings, page.lang),
                }
                for line in lines
            ],
            "next_key": _encode_key(next_key) if next_key is not None else None,
            "counts": counts,
            "total": sum(counts.values()),
            "carriers": sorted(page.context.carriers),
        }

    values = await run_in_threadpool(load)
    return render(
        page,
        "orders.html",
        chosen=chosen,
        chosen_pairs=sorted(chosen.items()),
        base_pairs=sorted((k, v) for k, v in chosen.items() if k != "verdict"),
        verdicts=VERDICTS,
        windows=WINDOWS,
        findings=sorted(CATALOGUE.values(), key=lambda s: s.code),
        paged=after is not None,
        **values,
    )


def _load_evidence(page: Page, order_id: str) -> tuple[Any, OrderEvidence | None]:
    found = order_data(page.context.engine, tenant=page.tenant, order_id=order_id)
    if found is None:
        raise ConsoleError(404, page.t("order.not_found"))
    data, verdict, further = found
    if verdict is None:
        return data, None
    return data, order_evidence(
        data, verdict=verdict, carriers=page.context.carriers, parcels=further
    )


def _what_to_do(evidence: OrderEvidence) -> tuple[str, str]:
    errors = [f for f in evidence.findings if f.severity == "error"]
    warnings = [f for f in evidence.findings if f.severity == "warning"]
    row = order_row(
        evidence,
        reasons_en=tuple(f.message for f in errors),
        reasons_zh=tuple(f.message_zh for f in errors),
        warnings_en=tuple(f.message for f in warnings),
        warnings_zh=tuple(f.message_zh for f in warnings),
        codes=tuple(f.code for f in [*errors, *warnings]),
        cited=evidence.verdict == "pass",
    )
    return action(row)


@router.get("/order")
async def order_page_view(page: PageDep) -> Response:
    """One order's evidence: milestones, legs, timeline, findings, raw responses, image."""
    order_id = page.request.query_params.get("id", "")[:512]
    if not order_id:
        raise ConsoleError(404, page.t("order.not_found"))
    data, evidence = await run_in_threadpool(_load_evidence, page, order_id)
    findings = []
    if evidence is not None:
        for f in evidence.findings:
            catalogued = spec(f.code)
            findings.append(
                {
                    "finding": f,
                    "title": catalogued.title,
                    "title_zh": catalogued.title_zh,
                    "advice": advice(f.code),
                }
            )
    return render(
        page,
        "order.html",
        order=data.order,
        data=data,
        evidence=evidence,
        parcels=parcels_of(evidence) if evidence is not None else (),
        findings=findings,
        todo=_what_to_do(evidence) if evidence is not None else None,
    )


@router.get("/order/image.png")
async def order_image(page: PageDep) -> Response:
    """The delivery-status image the bundle holds for this order (a rendering, labelled so)."""
    order_id = page.request.query_params.get("id", "")[:512]
    _, evidence = await run_in_threadpool(_load_evidence, page, order_id)
    if evidence is None:
        raise ConsoleError(404, page.t("order.no_image"))
    now = datetime.now(UTC)
    info = BundleInfo(
        reference_id=page.t("order.image_preview"),
        seller=page.tenant,
        window_start=evidence.order_date,
        window_end=now,
        created_at=now,
        policy=evidence.policy,
        tool_version=__version__,
    )
    png = await run_in_threadpool(lambda: render_order_png(evidence, info=info, font=get_font()))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


def _exchange(page: Page, sha256: str) -> tuple[bytes, str]:
    if len(sha256) != 64 or not set(sha256) <= _HEX:
        raise ConsoleError(404, page.t("raw.not_found"))
    found = exchange_body(page.context.engine, tenant=page.tenant, sha256=sha256)
    if found is None:
        raise ConsoleError(404, page.t("raw.not_found"))
    return found


def _pretty(body: bytes, content_type: str) -> str:
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip()[:1] in ("{", "["):
        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return text


@router.get("/raw/{sha256}")
async def raw_page(page: PageDep, sha256: str) -> Response:
    """A raw carrier response, pretty-printed, with its digest and a download link."""
    body, content_type = await run_in_threadpool(_exchange, page, sha256)
    return render(
        page,
        "raw.html",
        sha256=sha256,
        content_type=content_type,
        size=len(body),
        text=_pretty(body, content_type)[:2_000_000],
    )


@router.get("/raw/{sha256}/download")
async def raw_download(page: PageDep, sha256: str) -> Response:
    """The raw body exactly as the carrier sent it (its sha256 is the name)."""
    body, content_type = await run_in_threadpool(_exchange, page, sha256)
    return Response(
        body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{sha256}.raw"',
            "X-Content-SHA256": sha256,
            "X-Original-Content-Type": content_type[:200],
            "Cache-Control": "private, no-store",
        },
    )
