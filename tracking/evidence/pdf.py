"""The evidence PDFs: one per order, and the bundle's summary (cover, figures, failures, index).

Both are drawn with `tracking.evidence.layout` and split into numbered parts when a file would
exceed the upload limit (`tracking.evidence.writer.write_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.labels import bi
from tracking.evidence.layout import (
    ACCENT,
    AMBER,
    CONTENT_W,
    GREEN,
    INK,
    MARGIN_L,
    MUTED,
    RED,
    WHITE,
    Cell,
    Column,
    Layout,
    Span,
    line_height,
    wrap,
)
from tracking.evidence.logs import LoggedResponse, draw_order_appendix, masked_url, status_words
from tracking.evidence.qr import qr_runs
from tracking.evidence.wording import link_label, status_cell
from tracking.evidence.writer import DocMeta, write_parts
from tracking.read.views import BundleInfo, EventView, OrderEvidence, as_parcel, order_numbers

__all__ = ["doc_meta", "qr", "render_order_pdf"]

DEFAULT_STORE = "default"
"""The store of an orders file that names none (`ingest.open_orders`): not printed."""

CHECK = "\N{HEAVY CHECK MARK}"
CROSS = "\N{HEAVY BALLOT X}"

VERDICT_COLORS = {"pass": GREEN, "fail": RED, "pending": AMBER}
STATUS_COLORS = {"explicit": GREEN, "inferred": AMBER, "missing": RED}
SEVERITY_COLORS = {"error": RED, "warning": AMBER, "info": MUTED}

_NOTE_EN = (
    "This document renders tracking data fetched from the carriers' own systems. Every timeline "
    "row cites the sha256 digest of the raw carrier response it comes from; each of those "
    "responses is reproduced as received in the appendix at the end of this document. It is a "
    "rendering of carrier data, not a screenshot of a carrier website."
)
_NOTE_ZH = (
    "本文件呈现从承运商系统获取的物流数据。物流轨迹的每一行都注明其所依据的承运商原始响应的 "
    "sha256 摘要；这些原始响应按接收内容完整附在本文件末尾的附录中。"
    "本文件是承运商数据的渲染件，并非承运商网站截图。"
)


def _footer(info: BundleInfo) -> str:
    return (
        f"Rendering of carrier data by track-evidence {info.tool_version}".rstrip()
        + f", generated {lb.fmt_utc(info.created_at)} — not a carrier website. "
        "承运商数据渲染件，非承运商网站截图。"
    )


def doc_meta(info: BundleInfo, *, title: str, subject: str, right: str) -> DocMeta:
    """The metadata, running header and footer (seller's name exactly as given) of a document."""
    return DocMeta(
        title=title,
        subject=subject,
        author=info.seller,
        keywords=f"Evidence Reference ID {info.reference_id}",
        creator=f"track-evidence {info.tool_version}".strip(),
        created_at=info.created_at,
        header_left=f"Evidence Reference ID / 证据参考编号: {info.reference_id}",
        header_right=right,
        footer_note=_footer(info),
        seller=f"Seller / 卖家: {info.seller}",
    )


# -- shared pieces --------------------------------------------------------------------------


def _badge(doc: Layout, verdict: str, *, x_right: float, y: float) -> None:
    en, zh = lb.VERDICT_LABELS.get(verdict, (verdict.upper(), ""))
    text = f"{en} · {zh}" if zh else en
    size = 10
    width = doc.width(text, size) + 8
    height = line_height(size) + 3
    doc.fill(x_right - width, y, width, height, VERDICT_COLORS.get(verdict, MUTED))
    doc.put(x_right - width + 4, y + 1.5, text, size=size, color=WHITE, bold=True)


def qr(doc: Layout, url: str, *, x: float, y: float, size: float) -> None:
    """The QR code of `url` as filled squares (quiet zone included in `size`)."""
    modules, runs = qr_runs(url)
    doc.fill(x, y, size, size, WHITE)
    doc.ops.append(("G", INK, x, y, size / modules, runs))


def _short(digest: str) -> str:
    return digest[:12]


def _ext(content_type: str) -> str:
    from tracking.evidence.manifest import raw_extension

    return raw_extension(content_type)


# -- per-order PDF --------------------------------------------------------------------------


def render_order_pdf(
    order: OrderEvidence,
    *,
    info: BundleInfo,
    font: EvidenceFont,
    max_bytes: int,
    responses: Sequence[LoggedResponse] = (),
    mono: EvidenceFont | None = None,
) -> list[bytes]:
    """The per-order evidence PDF (one item, or numbered parts past `max_bytes`).

    With `responses` (and the monospaced `mono` font) the PDF ends with the appendix of the
    raw carrier responses the order cites.
    """
    meta = doc_meta(
        info,
        title=f"Tracking evidence — order {order.order_id}",
        subject=f"Order {order.order_id}, tracking {order.tracking_number} ({order.carrier_name})",
        right=f"Order / 订单 {order.order_id}"[:80],
    )
    doc = Layout(font)
    _order_body(doc, order, info)
    if responses and mono is not None:
        draw_order_appendix(doc, mono, responses, numbers=order_numbers(order))
    return write_parts(
        doc.pages,
        font=font,
        meta=meta,
        max_bytes=max_bytes,
        what=f"order {order.order_id}",
        mono=mono,
    )


def _order_body(doc: Layout, order: OrderEvidence, info: BundleInfo) -> None:
    parcels = order.parcels
    numbers = ", ".join(p.tracking_number for p in parcels) or order.tracking_number
    # title block
    doc.put(MARGIN_L, doc.y, "TRACKING EVIDENCE / 物流证据", size=8, color=ACCENT, bold=True)
    doc.y += line_height(8) + 1
    doc.paragraph(f"Order {order.order_id}", size=15, color=INK, bold=True, after=0.5)
    doc.paragraph(
        f"Tracking numbers / 运单号 ({len(parcels)} parcels / 个包裹): {numbers}"
        if parcels
        else f"Tracking number / 运单号: {order.tracking_number}",
        size=12,
        color=INK,
        bold=True,
        after=0.5,
    )
    doc.paragraph(
        f"Evidence Reference ID / 证据参考编号: {info.reference_id}",
        size=9.5,
        color=ACCENT,
        bold=True,
        after=0.5,
    )
    doc.paragraph(f"Seller / 卖家: {info.seller}", size=8.5, after=1.2)
    doc.paragraph(_NOTE_EN, size=7, color=MUTED, after=0.3)
    doc.paragraph(_NOTE_ZH, size=7, color=MUTED, after=0.5)

    # order & shipment
    doc.heading("Order and shipment", "订单与运单")
    destination = lb.country(order.destination_country)
    place = " ".join(p for p in (order.destination_city, order.destination_postal_code) if p)
    if place:
        destination = f"{destination} · {place}"
    carriers = []
    for leg in order.legs or ():
        carriers.append(f"{leg.carrier_name} ({leg.carrier})")
    store = [] if order.tenant == DEFAULT_STORE else [("Store", "店铺", order.tenant)]
    doc.key_values(
        [
            ("Order ID", "订单号", Span(order.order_id, 8.5, INK, True)),
            *store,  # the store named in the export; none when the file named none
            ("Marketplace", "平台", order.marketplace),
            ("Order date", "下单时间", lb.fmt_utc(order.order_date)),
            ("Destination", "目的地", destination),
            ("Order value", "订单金额", lb.fmt_money(order.order_value, order.currency)),
            (
                "Carrier(s)",
                "承运商",
                " → ".join(carriers) or f"{order.carrier_name} ({order.carrier})",
            ),
            (
                ("Tracking numbers", "运单号", Span(numbers, 8.5, INK, True))
                if parcels
                else ("Tracking number", "运单号", Span(order.tracking_number, 8.5, INK, True))
            ),
            ("Carrier events show", "承运商事件显示", _shown(order)),
        ]
    )
    if not parcels:
        _parcel_sections(doc, order, numbers=order_numbers(order))
        return
    doc.paragraph(
        f"This order was shipped in {len(parcels)} parcels; each has its own section below "
        "(number, carrier, milestones, timeline, raw responses). The milestones above are "
        "those every parcel shows.",
        size=7.5,
        after=0.2,
    )
    doc.paragraph(
        f"该订单分 {len(parcels)} 个包裹发出，下面每个包裹各有一节（运单号、承运商、物流节点、"
        "物流轨迹、原始响应）。上面的节点结论是所有包裹共同显示的节点。",
        size=7.5,
        color=MUTED,
    )
    for i, parcel in enumerate(parcels, start=1):
        one = as_parcel(order, parcel)
        tag = (f" · parcel {i} of {len(parcels)}", f" · 包裹 {i}/{len(parcels)}")
        doc.heading(
            f"Parcel {i} of {len(parcels)}: {parcel.tracking_number}",
            f"包裹 {i}/{len(parcels)}",
            keep=40,
        )
        doc.key_values(
            [
                ("Tracking number", "运单号", Span(parcel.tracking_number, 8.5, INK, True)),
                ("Carrier", "承运商", f"{parcel.carrier_name} ({parcel.carrier})"),
                ("Carrier events show", "承运商事件显示", _shown(one)),
            ]
        )
        _parcel_sections(doc, one, numbers=order_numbers(order), tag=tag)


def _parcel_sections(
    doc: Layout,
    order: OrderEvidence,
    *,
    numbers: Sequence[str],
    tag: tuple[str, str] = ("", ""),
) -> None:
    """Legs, milestones, timeline, raw responses and public links of one parcel (`order` as
    shipped in that parcel alone); `tag` names the parcel in the headings of a split order.
    A batched request shows of its numbers only `numbers` (the whole order's)."""
    events = order.events
    if order.legs:
        doc.space(1)
        doc.table(
            [
                Column("Leg", "段", 10),
                Column("Role", "角色", 25),
                Column("Carrier", "承运商", 40),
                Column("Tracking number", "运单号", 40),
                Column("Carrier's last status", "承运商最新状态", 49),
                Column("Final", "终态", 18),
            ],
            [
                (
                    str(i),
                    bi(lb.ROLE_LABELS.get(leg.role, (leg.role, ""))),
                    [Span(leg.carrier_name), Span(leg.carrier, 6.5, MUTED)],
                    Span(leg.tracking_number, 7.5, INK, True),
                    status_cell(leg.carrier, leg.status),
                    "yes / 是" if leg.final else "no / 否",
                )
                for i, leg in enumerate(order.legs, start=1)
            ],
        )

    # milestones
    doc.heading("Milestones" + tag[0], "物流节点" + tag[1])
    rows: list[Sequence[Cell]] = []
    for milestone in order.milestones:
        en, zh = lb.MILESTONE_LABELS.get(milestone.stage, (milestone.stage, ""))
        status = milestone.status
        color = STATUS_COLORS.get(status, INK)
        event = milestone.event
        ref = lb.event_ref(events, event)
        event_cell: list[Span] = []
        if event is not None:
            event_cell.append(Span(f"#{ref}" if ref else "—", 7.5, INK, True))
            event_cell.append(Span(event.code or "", 6.5, MUTED))
        if milestone.note:
            event_cell.append(Span(milestone.note, 6.5, AMBER))
        rows.append(
            (
                [Span(en, 7.5, INK, True), Span(zh, 7, MUTED)],
                Span(CHECK if status != "missing" else CROSS, 11, color),
                [
                    Span(lb.STATUS_LABELS.get(status, (status, ""))[0], 7.5, color, True),
                    Span(lb.STATUS_LABELS.get(status, ("", ""))[1], 7, color),
                ],
                _local_cell(event.occurred_at, event.local_offset, event.time_source)
                if event
                else "—",
                _utc_cell(event.occurred_at) if event else "—",
                [Span(event.location or "—"), Span(lb.country(event.country), 6.5, MUTED)]
                if event
                else "—",
                event_cell or "—",
            )
        )
    doc.table(
        [
            Column("Milestone", "节点", 40),
            Column("", "", 9, "C"),
            Column("Status", "状态", 19),
            Column("Local time", "当地时间", 26),
            Column("UTC", "协调世界时", 24),
            Column("Place", "地点", 36),
            Column("Event", "事件", 28),
        ],
        rows,
        zebra=False,
    )

    # timeline
    doc.heading("Timeline" + tag[0], "物流轨迹" + tag[1])
    if not events:
        doc.paragraph("No carrier events. / 无承运商事件。", size=8, color=RED)
    else:
        doc.item_table(
            events,
            [
                (
                    Column("Local time", "当地时间", 24),
                    lambda e: _local_cell(e.occurred_at, e.local_offset, e.time_source),
                ),
                (Column("UTC", "协调世界时", 21), lambda e: _utc_cell(e.occurred_at)),
                (Column("Stage", "阶段", 27), _stage_cell),
                (
                    Column("Carrier's text (original)", "承运商原文", 50),
                    lambda e: Span(e.description or "—", 7.5),
                ),
                (
                    Column("Place", "地点", 26),
                    lambda e: [Span(e.location or "—", 7.5), Span(e.country or "", 6.5, MUTED)],
                ),
                (
                    Column("Leg · raw", "运单 · 原始响应", 27),
                    lambda e: [
                        Span(e.tracking_number, 6.5),
                        Span("raw " + _short(e.exchange_sha256), 6, MUTED),
                    ],
                ),
            ],
            number=Column("#", "", 7),
        )

    # raw responses
    doc.heading("Raw carrier responses" + tag[0], "承运商原始响应" + tag[1])
    if not order.exchanges:
        doc.paragraph("No raw responses. / 无原始响应。", size=8, color=MUTED)
    else:
        exchanges = sorted(order.exchanges, key=lambda x: (x.fetched_at, x.url, x.sha256))
        doc.table(
            [
                Column("Fetched (UTC)", "获取时间", 24),
                Column("Carrier", "承运商", 20),
                Column("Request", "请求", 60),
                Column("HTTP", "状态", 11, "R"),
                Column("Size", "大小", 14, "R"),
                Column("sha256 (appendix)", "摘要（见附录）", 53),
            ],
            [
                (
                    _utc_cell(x.fetched_at, seconds=True),
                    x.carrier,
                    [Span(x.method, 7, INK, True), Span(masked_url(x.url, numbers), 6.5)],
                    [Span(str(x.status), 7, INK, True), Span(_status_phrase(x.status), 6, MUTED)],
                    lb.fmt_size(x.size),
                    Span(x.sha256, 6.5),
                )
                for x in exchanges
            ],
        )

    # public tracking
    urls: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for leg in order.legs or ():
        if leg.public_url and leg.public_url not in seen:
            seen.add(leg.public_url)
            urls.append((leg.carrier_name, leg.tracking_number, leg.public_url))
    if order.public_url and order.public_url not in seen:
        urls.append((order.carrier_name, order.tracking_number, order.public_url))
    if urls:
        doc.heading("Check it online" + tag[0], "在线查询" + tag[1], keep=30)
        size = 26.0
        for name, number, url in urls:
            doc.ensure(size + 2)
            y = doc.y
            qr(doc, url, x=MARGIN_L, y=y, size=size)
            x = MARGIN_L + size + 4
            width = CONTENT_W - size - 4
            what_en, what_zh = link_label(name, url)
            doc.put(x, y + 1, f"{number} · {what_en}", size=9, color=INK, bold=True)
            yy = y + 1 + line_height(9) + 0.5
            for text in wrap(doc.font, url, width, 7.5)[:4]:
                doc.put(x, yy, text, size=7.5, color=ACCENT)
                yy += line_height(7.5)
            doc.put(
                x,
                yy + 0.5,
                f"Scan the code or open the link to see this parcel on {what_en}.",
                size=7,
                color=MUTED,
            )
            doc.put(
                x,
                yy + 0.5 + line_height(7),
                f"扫描二维码或打开链接，在{what_zh}查看此包裹。",
                size=7,
                color=MUTED,
            )
            doc.y = y + size + 3


def _evidence_ref(ref: str) -> str:
    kind, _, value = ref.partition(":")
    if kind == "exchange" and value:
        return "raw " + _short(value)
    return ref


def _stage_cell(event: EventView) -> Cell:
    """An event's stage in both languages, in its colour, and the carrier's code for it."""
    en, zh = lb.stage_label(event.stage)
    return [
        Span(en, 7.5, _stage_color(event.stage), True),
        Span(zh, 7, MUTED),
        Span(event.code, 6, MUTED),
    ]


def _stage_color(stage: str) -> tuple[int, int, int]:
    if stage in ("departed_origin", "arrived_destination", "delivered"):
        return GREEN
    if stage in ("exception", "returning", "returned", "delivery_failed"):
        return RED
    return INK


def _local_cell(moment: object, offset: int | None, source: str) -> list[Span]:
    from datetime import datetime

    assert isinstance(moment, datetime)
    text = lb.fmt_local(moment, offset)
    day_time, _, zone = text.rpartition(" ")
    spans = [Span(day_time, 7.5), Span(zone, 6.5, MUTED)]
    if source not in ("explicit", ""):
        spans.append(
            Span(
                lb.TIME_SOURCE_LABELS.get(source, (source, ""))[0],
                6,
                AMBER if source == "unknown" else MUTED,
            )
        )
    return spans


def _utc_cell(moment: object, *, seconds: bool = False) -> list[Span]:
    from datetime import datetime

    assert isinstance(moment, datetime)
    text = lb.fmt_utc(moment, seconds=seconds)
    day, _, clock = text.partition(" ")
    return [Span(day, 7.5), Span(clock, 7.5, MUTED)]


def _status_phrase(status: int) -> str:
    words = status_words(status)
    return words.rsplit(" (HTTP", 1)[0] if "(" in words else ""


def _shown(order: OrderEvidence) -> str:
    """What the carrier events show of the three milestones, in plain words."""
    shown = [m for m in order.milestones if m.status != "missing"]
    missing = [m for m in order.milestones if m.status == "missing"]
    if not missing:
        return (
            "all three milestones (departed origin country, arrived in destination country, "
            "delivered) / 三个物流节点齐全"
        )
    names = ", ".join(lb.stage_label(m.stage)[0].lower() for m in shown) or "none of the milestones"
    absent = ", ".join(lb.stage_label(m.stage)[0].lower() for m in missing)
    return f"{names}; no event shows: {absent}"
