"""The evidence PDFs: one per order, and the bundle's summary (cover, figures, failures, index).

Both are drawn with `tracking.evidence.layout` and split into numbered parts when a file would
exceed the upload limit (`tracking.evidence.writer.write_parts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import segno

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
    MARGIN_R,
    MUTED,
    PAGE_W,
    RED,
    WHITE,
    Cell,
    Column,
    Layout,
    Span,
    line_height,
    wrap,
)
from tracking.evidence.writer import DocMeta, write_parts
from tracking.views import BundleInfo, OrderEvidence

__all__ = [
    "CarrierFigure",
    "OrderRow",
    "SummaryData",
    "render_order_pdf",
    "render_summary_pdf",
]

CHECK = "\N{HEAVY CHECK MARK}"
CROSS = "\N{HEAVY BALLOT X}"

VERDICT_COLORS = {"pass": GREEN, "fail": RED, "pending": AMBER}
STATUS_COLORS = {"explicit": GREEN, "inferred": AMBER, "missing": RED}
SEVERITY_COLORS = {"error": RED, "warning": AMBER, "info": MUTED}

_NOTE_EN = (
    "This document renders tracking data that track-evidence fetched from the carriers' own "
    "systems. Every row cites the sha256 digest of the raw carrier response it comes from; those "
    "responses are in raw/ of this bundle, and manifest.json and SHA256SUMS let anyone check that "
    "nothing was changed. It is a rendering of carrier data, not a screenshot of a carrier website."
)
_NOTE_ZH = (
    "本文件呈现 track-evidence 从承运商系统获取的物流数据。每一行都注明其所依据的承运商原始响应的 "
    "sha256 摘要；原始响应保存在本证据包的 raw/ 目录中，"
    "可用 manifest.json 与 SHA256SUMS 校验其未被修改。"
    "本文件是承运商数据的渲染件，并非承运商网站截图。"
)


def _footer(info: BundleInfo) -> str:
    return (
        f"Rendering of carrier data by track-evidence {info.tool_version}".rstrip()
        + f", generated {lb.fmt_utc(info.created_at)} — not a carrier website. "
        "承运商数据渲染件，非承运商网站截图。"
    )


def _meta(info: BundleInfo, *, title: str, subject: str, right: str) -> DocMeta:
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


def _qr(doc: Layout, url: str, *, x: float, y: float, size: float) -> None:
    """The QR code of `url` as filled squares (quiet zone included in `size`)."""
    code = segno.make(url, error="m", micro=False, mask=2)
    matrix = code.matrix
    step = size / (len(matrix) + 8)
    doc.fill(x, y, size, size, WHITE)
    boxes: list[tuple[float, float, float, float]] = []
    for row_index, row in enumerate(matrix):
        yy = y + (row_index + 4) * step
        col = 0
        n = len(row)
        while col < n:
            if row[col]:
                start = col
                while col < n and row[col]:
                    col += 1
                boxes.append((x + (start + 4) * step, yy, (col - start) * step, step + 0.02))
            else:
                col += 1
    doc.boxes(INK, boxes)


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
) -> list[bytes]:
    """The per-order evidence PDF (one item, or numbered parts past `max_bytes`)."""
    meta = _meta(
        info,
        title=f"Tracking evidence — order {order.order_id}",
        subject=f"Order {order.order_id}, tracking {order.tracking_number} ({order.carrier_name})",
        right=f"Order / 订单 {order.order_id}"[:80],
    )
    doc = Layout(font)
    _order_body(doc, order, info)
    return write_parts(
        doc.pages, font=font, meta=meta, max_bytes=max_bytes, what=f"order {order.order_id}"
    )


def _order_body(doc: Layout, order: OrderEvidence, info: BundleInfo) -> None:
    events = order.events
    # title block
    doc.put(MARGIN_L, doc.y, "TRACKING EVIDENCE / 物流证据", size=8, color=ACCENT, bold=True)
    _badge(doc, order.verdict, x_right=PAGE_W - MARGIN_R, y=doc.y)
    doc.y += line_height(8) + 1
    doc.paragraph(
        f"Order {order.order_id}", size=15, color=INK, bold=True, width=CONTENT_W - 45, after=0.5
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
    doc.key_values(
        [
            ("Order ID", "订单号", Span(order.order_id, 8.5, INK, True)),
            ("Store / tenant", "店铺", order.tenant),
            ("Marketplace", "平台", order.marketplace),
            ("Order date", "下单时间", lb.fmt_utc(order.order_date)),
            ("Destination", "目的地", destination),
            ("Order value", "订单金额", lb.fmt_money(order.order_value, order.currency)),
            (
                "Carrier(s)",
                "承运商",
                " → ".join(carriers) or f"{order.carrier_name} ({order.carrier})",
            ),
            ("Tracking number", "运单号", Span(order.tracking_number, 8.5, INK, True)),
            ("Policy", "审核规则", order.policy),
            (
                "Verdict",
                "结论",
                [
                    Span(
                        bi(lb.VERDICT_LABELS.get(order.verdict, (order.verdict, ""))),
                        8.5,
                        VERDICT_COLORS.get(order.verdict, INK),
                        True,
                    ),
                    Span(f"computed {lb.fmt_utc(order.verdict_computed_at)}", 7, MUTED),
                ],
            ),
        ]
    )
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
                    leg.status or "—",
                    "yes / 是" if leg.final else "no / 否",
                )
                for i, leg in enumerate(order.legs, start=1)
            ],
        )

    # milestones
    doc.heading("Milestones", "物流节点")
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

    # findings
    doc.heading("Findings", "发现的问题", keep=12)
    if not order.findings:
        doc.paragraph("No findings. / 未发现问题。", size=8, color=GREEN)
    else:
        doc.table(
            [
                Column("Severity", "级别", 20),
                Column("Code", "代码", 40),
                Column("Finding", "说明", 122),
            ],
            [
                (
                    [
                        Span(
                            lb.SEVERITY_LABELS.get(f.severity, (f.severity, ""))[0],
                            7.5,
                            SEVERITY_COLORS.get(f.severity, INK),
                            True,
                        ),
                        Span(
                            lb.SEVERITY_LABELS.get(f.severity, ("", ""))[1],
                            7,
                            SEVERITY_COLORS.get(f.severity, INK),
                        ),
                    ],
                    Span(f.code, 7, INK),
                    [
                        Span(f.message, 7.5),
                        *([Span(f.message_zh, 7.5, MUTED)] if f.message_zh else []),
                        *(
                            [
                                Span(
                                    "Evidence / 依据: "
                                    + ", ".join(_evidence_ref(e) for e in f.evidence),
                                    6.5,
                                    MUTED,
                                )
                            ]
                            if f.evidence
                            else []
                        ),
                    ],
                )
                for f in order.findings
            ],
        )

    # timeline
    doc.heading("Timeline", "物流轨迹")
    if not events:
        doc.paragraph("No carrier events. / 无承运商事件。", size=8, color=RED)
    else:
        doc.table(
            [
                Column("#", "", 7),
                Column("Local time", "当地时间", 24),
                Column("UTC", "协调世界时", 21),
                Column("Stage", "阶段", 27),
                Column("Carrier's text (original)", "承运商原文", 50),
                Column("Place", "地点", 26),
                Column("Leg · raw", "运单 · 原始响应", 27),
            ],
            (
                (
                    Span(str(n), 7, MUTED),
                    _local_cell(e.occurred_at, e.local_offset, e.time_source),
                    _utc_cell(e.occurred_at),
                    [
                        Span(lb.stage_label(e.stage)[0], 7.5, _stage_color(e.stage), True),
                        Span(lb.stage_label(e.stage)[1], 7, MUTED),
                        Span(e.code, 6, MUTED),
                    ],
                    Span(e.description or "—", 7.5),
                    [Span(e.location or "—", 7.5), Span(e.country or "", 6.5, MUTED)],
                    [
                        Span(e.tracking_number, 6.5),
                        Span("raw " + _short(e.exchange_sha256), 6, MUTED),
                    ],
                )
                for n, e in enumerate(events, start=1)
            ),
            size=7.5,
        )

    # raw responses
    doc.heading("Raw carrier responses", "承运商原始响应")
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
                Column("sha256 · file in bundle", "摘要 · 包内文件", 53),
            ],
            [
                (
                    _utc_cell(x.fetched_at, seconds=True),
                    x.carrier,
                    [Span(x.method, 7, INK, True), Span(x.url, 6.5)],
                    str(x.status),
                    lb.fmt_size(x.size),
                    [
                        Span(x.sha256, 6.5),
                        Span(f"raw/{x.sha256[:8]}….{_ext(x.content_type)}", 6.5, MUTED),
                    ],
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
        doc.heading("Check it on the carrier's website", "在承运商官网查询", keep=30)
        size = 26.0
        for name, number, url in urls:
            doc.ensure(size + 2)
            y = doc.y
            _qr(doc, url, x=MARGIN_L, y=y, size=size)
            x = MARGIN_L + size + 4
            width = CONTENT_W - size - 4
            doc.put(x, y + 1, f"{name} · {number}", size=9, color=INK, bold=True)
            yy = y + 1 + line_height(9) + 0.5
            for text in wrap(doc.font, url, width, 7.5)[:4]:
                doc.put(x, yy, text, size=7.5, color=ACCENT)
                yy += line_height(7.5)
            doc.put(
                x,
                yy + 0.5,
                "Scan the code or open the link to see this parcel on the carrier's own site.",
                size=7,
                color=MUTED,
            )
            doc.put(
                x,
                yy + 0.5 + line_height(7),
                "扫描二维码或打开链接，在承运商官网查看此包裹。",
                size=7,
                color=MUTED,
            )
            doc.y = y + size + 3


def _evidence_ref(ref: str) -> str:
    kind, _, value = ref.partition(":")
    if kind == "exchange" and value:
        return "raw " + _short(value)
    return ref


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


# -- summary --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderRow:
    """What the summary needs of one order (kept in memory for the whole export)."""

    tenant: str
    order_id: str
    verdict: str
    carrier: str
    carrier_name: str
    tracking_number: str
    destination_country: str
    milestones: tuple[str, str, str]  # status of each required milestone
    reasons_en: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    files: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(status != "missing" for status in self.milestones)


@dataclass(frozen=True, slots=True)
class CarrierFigure:
    """Portfolio figures of one group (a carrier or a destination country)."""

    key: str
    label: str
    orders: int
    complete: int
    passed: int
    failed: int
    pending: int


@dataclass(frozen=True, slots=True)
class SummaryData:
    """Everything the summary PDF shows."""

    info: BundleInfo
    rows: tuple[OrderRow, ...]  # sorted by (tenant, order id)
    by_carrier: tuple[CarrierFigure, ...]
    by_destination: tuple[CarrierFigure, ...]
    raw_files: int


def render_summary_pdf(data: SummaryData, *, font: EvidenceFont, max_bytes: int) -> list[bytes]:
    """The summary PDF (`00-summary.pdf`, or numbered parts past `max_bytes`)."""
    info = data.info
    meta = _meta(
        info,
        title=f"Logistics evidence summary — {info.reference_id}",
        subject=(
            f"Evidence bundle for {info.seller}, "
            f"{lb.fmt_utc(info.window_start)} to {lb.fmt_utc(info.window_end)}"
        ),
        right="Summary / 汇总",
    )
    doc = Layout(font)
    _summary_body(doc, data)
    return write_parts(doc.pages, font=font, meta=meta, max_bytes=max_bytes, what="summary")


def _figure_rows(figures: Sequence[CarrierFigure]) -> list[Sequence[Cell]]:
    rows: list[Sequence[Cell]] = []
    for f in figures:
        share = f"{100 * f.complete / f.orders:.1f} %" if f.orders else "—"
        rows.append(
            (
                [Span(f.label, 7.5, INK, True), Span(f.key, 6.5, MUTED)]
                if f.key != f.label
                else Span(f.label, 7.5, INK, True),
                str(f.orders),
                str(f.complete),
                share,
                Span(str(f.passed), 7.5, GREEN),
                Span(str(f.failed), 7.5, RED if f.failed else INK),
                Span(str(f.pending), 7.5, AMBER if f.pending else INK),
            )
        )
    return rows


_FIGURE_COLUMNS = (
    Column("Orders", "订单", 18, "R"),
    Column("All three milestones", "三个节点齐全", 30, "R"),
    Column("Share", "占比", 18, "R"),
    Column("Pass", "通过", 18, "R"),
    Column("Fail", "未通过", 18, "R"),
    Column("Pending", "待定", 18, "R"),
)


def _summary_body(doc: Layout, data: SummaryData) -> None:
    info = data.info
    rows = data.rows
    total = len(rows)
    complete = sum(1 for r in rows if r.complete)
    verdicts = {v: sum(1 for r in rows if r.verdict == v) for v in ("pass", "fail", "pending")}

    doc.put(
        MARGIN_L,
        doc.y,
        "LOGISTICS EVIDENCE SUMMARY / 物流证据汇总",
        size=9,
        color=ACCENT,
        bold=True,
    )
    doc.y += line_height(9) + 2
    doc.paragraph("Evidence Reference ID / 证据参考编号", size=8, color=MUTED, after=0.2)
    doc.paragraph(info.reference_id, size=18, color=INK, bold=True, after=2)
    carriers = sorted({(r.carrier, r.carrier_name) for r in rows})
    doc.key_values(
        [
            ("Seller / tenant", "卖家 / 店铺", Span(info.seller, 9, INK, True)),
            (
                "Window",
                "时间范围",
                f"{lb.fmt_utc(info.window_start)} — {lb.fmt_utc(info.window_end)}",
            ),
            ("Carriers", "承运商", "; ".join(f"{name} ({code})" for code, name in carriers) or "—"),
            ("Policy", "审核规则", info.policy),
            (
                "Filters",
                "筛选条件",
                "; ".join(f"{k} = {v}" for k, v in sorted(info.filters.items())) or "—",
            ),
            (
                "Generated",
                "生成时间",
                f"{lb.fmt_utc(info.created_at)} by track-evidence {info.tool_version}".strip(),
            ),
            (
                "Contents",
                "内容",
                f"{total} orders: a PDF each in upload/orders/, "
                "and a PNG of the delivery status for "
                f"each delivered order; {data.raw_files} raw carrier responses in raw/; "
                "manifest.json, SHA256SUMS (and manifest.sig when signed).",
            ),
        ],
        label_w=40,
    )

    # headline figures
    doc.y += 2
    left_w = 112.0
    sentence = wrap(
        doc.font,
        "orders in the window have all three milestones (departed origin country, arrived in "
        "destination country, delivered)",
        left_w,
        8,
    )
    sentence_zh = wrap(
        doc.font,
        f"窗口内 {total} 个订单中有 {complete} 个具备全部三个物流节点"
        "（离开始发国、到达目的国、妥投）",
        left_w,
        8,
    )
    box_h = 6 + line_height(20) + (len(sentence) + len(sentence_zh)) * line_height(8)
    doc.ensure(box_h + 2)
    y = doc.y
    doc.fill(MARGIN_L, y, CONTENT_W, box_h, (236, 242, 250))
    doc.put(MARGIN_L + 4, y + 3, f"{complete} of {total}", size=20, color=ACCENT, bold=True)
    yy = y + 3 + line_height(20)
    for text in sentence:
        doc.put(MARGIN_L + 4, yy, text, size=8, color=INK)
        yy += line_height(8)
    for text in sentence_zh:
        doc.put(MARGIN_L + 4, yy, text, size=8, color=MUTED)
        yy += line_height(8)
    x = MARGIN_L + left_w + 12
    for verdict in ("pass", "fail", "pending"):
        en, zh = lb.VERDICT_LABELS[verdict]
        doc.put(x, y + 4, str(verdicts[verdict]), size=16, color=VERDICT_COLORS[verdict], bold=True)
        doc.put(x, y + 4 + line_height(16), en, size=7, color=INK)
        doc.put(x, y + 4 + line_height(16) + line_height(7), zh, size=7, color=MUTED)
        x += 19
    doc.y = y + box_h + 2

    doc.heading("By carrier", "按承运商")
    doc.table([Column("Carrier", "承运商", 62), *_FIGURE_COLUMNS], _figure_rows(data.by_carrier))
    doc.heading("By destination country", "按目的国")
    doc.table(
        [Column("Destination", "目的国", 62), *_FIGURE_COLUMNS], _figure_rows(data.by_destination)
    )

    failing = [r for r in rows if r.verdict == "fail"]
    doc.heading("Orders that fail", "未通过的订单", keep=16)
    if not failing:
        doc.paragraph(
            "None: every order passes or is still pending. / 无：所有订单均已通过或仍待定。",
            color=GREEN,
        )
    else:
        doc.paragraph(
            f"{len(failing)} orders do not meet the policy; the reason is given in plain words. "
            f"/ {len(failing)} 个订单不符合规则，原因如下。",
            size=7.5,
            color=MUTED,
        )
        doc.table(
            [
                Column("Order ID", "订单号", 34),
                Column("Tracking number", "运单号", 32),
                Column("Carrier", "承运商", 24),
                Column("Dest.", "目的国", 12),
                Column("Reason", "原因", 80),
            ],
            (
                (
                    Span(r.order_id, 7.5, INK, True),
                    Span(r.tracking_number, 7),
                    Span(r.carrier_name or r.carrier, 7),
                    r.destination_country or "—",
                    [Span(t, 7.5) for t in r.reasons_en]
                    + [Span(t, 7, MUTED) for t in r.reasons_zh],
                )
                for r in failing
            ),
        )

    doc.heading("Index of order files", "订单文件索引", keep=16)
    doc.paragraph(
        "Milestones: D = departed origin country, A = arrived in destination country, "
        "V = delivered; ✔ proven (explicit or inferred), ✘ missing. "
        "/ 节点：D 离开始发国，A 到达目的国，V 妥投；✔ 已证明，✘ 缺失。",
        size=7,
        color=MUTED,
    )
    doc.table(
        [
            Column("#", "", 10, "R"),
            Column("Order ID", "订单号", 44),
            Column("Verdict", "结论", 27),
            Column("D A V", "节点", 16),
            Column("Files in upload/orders/", "文件", 85),
        ],
        (
            (
                Span(str(i), 7, MUTED),
                [Span(r.order_id, 7.5, INK, True)]
                + ([Span(r.tenant, 6.5, MUTED)] if r.tenant != rows[0].tenant else []),
                Span(
                    bi(lb.VERDICT_LABELS.get(r.verdict, (r.verdict, ""))),
                    7,
                    VERDICT_COLORS.get(r.verdict, INK),
                ),
                Span(" ".join(CHECK if s != "missing" else CROSS for s in r.milestones), 8, INK),
                [Span(path.removeprefix("upload/orders/"), 7) for path in r.files] or "—",
            )
            for i, r in enumerate(rows, start=1)
        ),
    )
    doc.heading("How to check this bundle", "如何校验本证据包", keep=14)
    doc.paragraph(
        "Each file's sha256 digest is listed in SHA256SUMS "
        "(check with `sha256sum -c SHA256SUMS`) and, "
        "with its size, in manifest.json; a signed bundle carries manifest.sig, an Ed25519 "
        "signature over the exact bytes of manifest.json. "
        "`track-evidence verify` checks all of it.",
        size=7.5,
    )
    doc.paragraph(
        "每个文件的 sha256 摘要列在 SHA256SUMS 中（可用 `sha256sum -c SHA256SUMS` 校验），"
        "并连同大小记录在 manifest.json 中；签名的证据包另附 manifest.sig"
        "（对 manifest.json 原始字节的 Ed25519 签名）。"
        "`track-evidence verify` 可一次校验全部内容。",
        size=7.5,
        color=MUTED,
    )
