"""`upload/00-summary.pdf`: the cover a marketplace reviewer reads first.

It says what the bundle documents, and only that: how many orders, shipped between which
dates, by carrier and by destination, with what the carrier events show for them; how a
reviewer checks any page (the digest printed on it, the raw response in the appendix and the
log volumes, the carrier's public link, the signing key when signed); and the index of the
files. Every figure is a count over the documented orders; nothing is said about orders the
bundle does not contain, no verdict is awarded, nothing addresses the seller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracking.core.fields import from_fields
from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import ACCENT, INK, MARGIN_L, MUTED, Cell, Column, Layout, Span
from tracking.evidence.pdf import CHECK, CROSS, doc_meta
from tracking.evidence.writer import write_parts
from tracking.read.portfolio import (
    MILESTONE_STAGES,
    GroupFigure,
    Portfolio,
    PortfolioOrder,
    summarize,
)
from tracking.read.views import BundleInfo, OrderEvidence

__all__ = [
    "OrderRow",
    "SummaryData",
    "manifest_figures",
    "order_row",
    "portfolio_of",
    "render_summary_pdf",
]


@dataclass(frozen=True, slots=True)
class OrderRow:
    """What the summary and the precheck need of one order (kept in memory for the export)."""

    tenant: str
    order_id: str
    order_date: datetime
    verdict: str
    carrier: str
    carrier_name: str
    tracking_number: str
    destination_country: str
    milestones: tuple[str, str, str]  # status of each required milestone
    reasons_en: tuple[str, ...]
    reasons_zh: tuple[str, ...]
    warnings_en: tuple[str, ...] = ()
    warnings_zh: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()  # finding codes, errors first
    shipped_at: datetime | None = None  # first carrier event
    cited: bool = False
    files: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return all(status != "missing" for status in self.milestones)


def order_row(order: OrderEvidence, **values: Any) -> OrderRow:
    """The row of `order`: its fields of the same names, the status of each required milestone,
    and `values` for the rest."""
    statuses = {m.stage: m.status for m in order.milestones}
    milestones = tuple(statuses.get(stage, "missing") for stage in MILESTONE_STAGES)
    return from_fields(OrderRow, order, milestones=milestones, **values)


def portfolio_of(rows: Iterable[OrderRow], *, window: tuple[datetime, datetime]) -> Portfolio:
    """The portfolio summary of bundle rows (`tracking.read.portfolio.summarize`, as the report
    and the API count): figures only, the rows keep no finding severities."""
    orders = (from_fields(PortfolioOrder, row, status=row.verdict, policy=None) for row in rows)
    return summarize(orders, tenant=None, window=window)


@dataclass(frozen=True, slots=True)
class VolumeEntry:
    """One carrier API log volume, as the summary indexes it."""

    name: str
    responses: int
    first: str
    last: str


@dataclass(frozen=True, slots=True)
class SummaryData:
    """Everything the summary shows (`rows`: the documented orders only)."""

    info: BundleInfo
    rows: tuple[OrderRow, ...]
    volumes: tuple[VolumeEntry, ...] = ()
    public_key_hex: str = ""


def _n(count: int, noun: str) -> str:
    """`1 order`, `2 orders`, `3 destination countries`."""
    if count == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {plural}"


def _day(moment: datetime | None) -> str:
    return lb.fmt_utc(moment)[:10] if moment else "—"


def render_summary_pdf(data: SummaryData, *, font: EvidenceFont, max_bytes: int) -> list[bytes]:
    """The summary PDF (`00-summary.pdf`, or numbered parts past `max_bytes`)."""
    info = data.info
    meta = doc_meta(
        info,
        title=f"Logistics evidence summary — {info.reference_id}",
        subject=f"Tracking evidence of {len(data.rows)} orders, submitted by {info.seller}",
        right="Summary / 汇总",
    )
    doc = Layout(font)
    _body(doc, data)
    return write_parts(doc.pages, font=font, meta=meta, max_bytes=max_bytes, what="summary")


_SHOWN_COLUMNS = (
    Column("Orders", "订单", 16, "R"),
    Column("Departed origin country", "离开始发国", 30, "R"),
    Column("Arrived in destination country", "到达目的国", 34, "R"),
    Column("Delivered", "妥投", 22, "R"),
)


def _group_rows(items: Sequence[GroupFigure]) -> list[Sequence[Cell]]:
    return [
        (
            [Span(g.label, 7.5, INK, True), Span(g.key, 6.5, MUTED)]
            if g.key != g.label
            else Span(g.label, 7.5, INK, True),
            str(g.orders),
            str(g.shown[0]),
            str(g.shown[1]),
            str(g.shown[2]),
        )
        for g in items
    ]


def _body(doc: Layout, data: SummaryData) -> None:
    info = data.info
    rows = data.rows
    portfolio = portfolio_of(rows, window=(info.window_start, info.window_end))
    total = portfolio.orders
    complete = portfolio.all_milestones
    shipped = [r.shipped_at for r in rows if r.shipped_at is not None]
    first, last = _day(min(shipped, default=None)), _day(max(shipped, default=None))
    carriers = portfolio.by_carrier
    destinations = portfolio.by_destination

    doc.paragraph(
        "LOGISTICS EVIDENCE SUMMARY / 物流证据汇总", size=9, color=ACCENT, bold=True, after=1
    )
    doc.paragraph("Evidence Reference ID / 证据参考编号", size=8, color=MUTED, after=0.2)
    doc.paragraph(info.reference_id, size=18, color=INK, bold=True, after=2)
    doc.key_values(
        [
            ("Seller", "卖家", Span(info.seller, 9, INK, True)),
            (
                "Carriers",
                "承运商",
                "; ".join(f"{g.label} ({g.key})" for g in carriers) or "—",
            ),
            (
                "Generated",
                "生成时间",
                f"{lb.fmt_utc(info.created_at)} by track-evidence {info.tool_version}".strip(),
            ),
        ],
        label_w=40,
    )
    doc.heading("What this bundle documents", "本证据包的内容")
    if total:
        doc.paragraph(
            f"This bundle documents {_n(total, 'order')} shipped between {first} "
            f"and {last} (date of the first carrier event), carried by "
            f"{_n(len(carriers), 'carrier')} to {_n(len(destinations), 'destination country')}. "
            f"For {complete} of these {_n(total, 'order')} the carrier events show all three "
            "milestones: departed the origin country, arrived in the destination country, "
            "delivered.",
            size=9,
            after=0.6,
        )
        doc.paragraph(
            f"本证据包记录 {total} 个订单，首个承运商事件日期在 {first} "
            f"至 {last} 之间，由 {len(carriers)} 家承运商运往 "
            f"{len(destinations)} 个目的国。其中 {complete} 个订单的承运商事件显示全部三个节点："
            "离开始发国、到达目的国、妥投。",
            size=8.5,
            color=MUTED,
        )
    else:
        doc.paragraph("This bundle documents no orders. / 本证据包未包含订单。", size=9)
    doc.paragraph(
        "Each order has its own PDF in orders/ (a PNG of the delivery event for each delivered "
        "order), ending with the raw carrier responses it cites; carrier-api-logs-NN.pdf "
        "reproduce every cited response (of a batched response, the entries of the parcels "
        "this bundle documents).",
        size=7.5,
        color=MUTED,
    )
    doc.heading("By carrier", "按承运商")
    doc.table([Column("Carrier", "承运商", 80), *_SHOWN_COLUMNS], _group_rows(carriers))
    doc.heading("By destination country", "按目的国")
    doc.table([Column("Destination", "目的国", 80), *_SHOWN_COLUMNS], _group_rows(destinations))
    _how_to_check(doc, data)
    _volume_index(doc, data)
    _order_index(doc, rows)


def _how_to_check(doc: Layout, data: SummaryData) -> None:
    doc.heading("How to check a page", "如何核对", keep=30)
    steps = [
        (
            "Every timeline row of an order PDF names the carrier response it comes from by its "
            "sha256 digest. The appendix at the end of the same PDF reproduces that response as "
            "received: request, time fetched, HTTP status, headers and body.",
            "订单文件物流轨迹的每一行都以 sha256 摘要注明其来源的承运商响应；该文件末尾的附录"
            "按接收内容转载该响应（请求、获取时间、HTTP 状态、响应头和正文）。",
        ),
        (
            "The carrier API log volumes (carrier-api-logs-NN.pdf) hold every cited response, "
            "indexed by digest and by order, so a response shared by several orders can be "
            "read once. A response answering for a batch of parcels shows the entries of every "
            "parcel this bundle documents in full and says how many were withheld; the seller "
            "keeps every whole body as stored, under the digest printed.",
            "承运商接口日志卷（carrier-api-logs-NN.pdf）按摘要和订单索引，收录所有被引用的响应；"
            "批量响应列出本证据包所涉包裹的全部条目并注明未列出的条目数，卖家按所印摘要保存完整原始响应。",
        ),
        (
            "Each order PDF carries the tracking number and a QR code of a public tracking page "
            "(the carrier's own page, or 17TRACK's public page where stated), where the same "
            "events can be looked up independently.",
            "每个订单文件都附有运单号及公开查询页面的二维码（承运商官方页面，或注明的 17TRACK "
            "公共页面），可独立查询同样的物流事件。",
        ),
    ]
    if data.public_key_hex:
        steps.append(
            (
                "The seller's copy of this bundle is signed with Ed25519. Public key (hex): "
                f"{data.public_key_hex}. The seller can provide the signed manifest of digests "
                "on request; it lists the digest of every file and response named here.",
                "本证据包已用 Ed25519 签名，公钥（十六进制）如上；卖家可应要求提供签名的摘要清单，"
                "其中列出此处提到的每个文件与响应的摘要。",
            )
        )
    for number, (en, zh) in enumerate(steps, start=1):
        doc.paragraph(f"{number}. {en}", size=7.5, after=0.2)
        doc.paragraph(zh, size=7.5, color=MUTED, x=MARGIN_L + 3.5, width=178.5, after=0.8)


def _volume_index(doc: Layout, data: SummaryData) -> None:
    if not data.volumes:
        return
    doc.heading("Carrier API log volumes", "承运商接口日志卷", keep=14)
    doc.table(
        [
            Column("File", "文件", 40),
            Column("Responses", "响应数", 18, "R"),
            Column("Digests from … to", "摘要范围", 124),
        ],
        (
            (
                Span(v.name, 7.5, INK, True),
                str(v.responses),
                [Span(v.first, 6.5), Span(v.last, 6.5)],
            )
            for v in data.volumes
        ),
    )


def _order_index(doc: Layout, rows: Sequence[OrderRow]) -> None:
    doc.heading("Index of order files", "订单文件索引", keep=16)
    doc.paragraph(
        "Milestones shown by carrier events: D = departed origin country, A = arrived in "
        "destination country, V = delivered; ✔ shown, ✘ no event shows it. "
        "/ 承运商事件显示的节点：D 离开始发国，A 到达目的国，V 妥投；✔ 有事件，✘ 无事件。",
        size=7,
        color=MUTED,
    )
    first_tenant = rows[0].tenant if rows else ""
    doc.item_table(
        rows,
        [
            (
                Column("Order ID", "订单号", 38),
                lambda r: (
                    [Span(r.order_id, 7.5, INK, True)]
                    + ([Span(r.tenant, 6.5, MUTED)] if r.tenant != first_tenant else [])
                ),
            ),
            (Column("Tracking number", "运单号", 48), lambda r: Span(r.tracking_number, 7)),
            (Column("Dest.", "目的国", 12), lambda r: r.destination_country or "—"),
            (
                Column("D A V", "节点", 15),
                lambda r: Span(
                    " ".join(CHECK if s != "missing" else CROSS for s in r.milestones), 8, INK
                ),
            ),
            (
                Column("Files in orders/", "文件", 60),
                lambda r: [Span(path.rsplit("/", 1)[-1], 7) for path in r.files] or "—",
            ),
        ],
        number=Column("#", "", 9, "R"),
    )


def _group_json(items: Iterable[GroupFigure], name: str) -> list[dict[str, Any]]:
    return [{name: g.key, "name": g.label, **g.counts()} for g in items]


def manifest_figures(portfolio: Portfolio) -> dict[str, Any]:
    """The manifest's `summary`: the portfolio figures of the orders `upload/` documents."""
    return {
        "orders": portfolio.orders,
        "all_milestones": portfolio.all_milestones,
        "verdicts": dict(portfolio.verdicts),
        "by_carrier": _group_json(portfolio.by_carrier, "carrier"),
        "by_destination": _group_json(portfolio.by_destination, "country"),
    }
