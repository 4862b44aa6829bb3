"""`precheck/`: the seller's own report, never for upload.

`precheck.pdf` and `precheck.csv` cover every order in the window: its verdict under the
policy, its findings in English and Chinese, what to do about it, and whether `upload/` cites
it. The portfolio figures over the whole window (pass / fail / pending, by carrier and by
destination) live here, not on the reviewer's cover.

The spreadsheet is CSV, not XLSX: the project has no spreadsheet-writing dependency, and a CSV
written as UTF-8 with a byte-order mark opens with its Chinese text intact in Excel, WPS and
LibreOffice (Excel detects UTF-8 by the BOM); one row per order, one column per fact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import (
    ACCENT,
    AMBER,
    GREEN,
    INK,
    MUTED,
    RED,
    Cell,
    Column,
    Layout,
    Span,
)
from tracking.evidence.pdf import doc_meta
from tracking.evidence.summary import OrderRow
from tracking.evidence.writer import write_pdf
from tracking.read.portfolio import GroupFigure, Portfolio
from tracking.read.views import BundleInfo

__all__ = [
    "PRECHECK_CSV",
    "PRECHECK_PDF",
    "action",
    "advice",
    "precheck_csv",
    "render_precheck_pdf",
]

PRECHECK_PDF = "precheck/precheck.pdf"
PRECHECK_CSV = "precheck/precheck.csv"
NOT_FOR_UPLOAD = "FOR THE SELLER ONLY — NEVER UPLOAD THIS FILE / 仅供卖家自查——切勿上传"

_VERDICT_COLORS = {"pass": GREEN, "fail": RED, "pending": AMBER}

# What to do, by the first finding code (errors first) that has advice; by verdict otherwise.
_ACTIONS: dict[str, tuple[str, str]] = {
    "shipment.not_found": (
        "Do not cite. Check the number with your logistics provider; correct it in the order "
        "export and pull again.",
        "不要引用。向物流商核实单号，在订单导出文件中更正后重新拉取。",
    ),
    "shipment.given_up": (
        "Do not cite: the carrier never knew this number. Check it with your logistics provider.",
        "不要引用：承运商始终查无此单号。请向物流商核实。",
    ),
    "shipment.no_carrier": (
        "Do not cite. Set the carrier of this number in the order export and pull again.",
        "不要引用。在订单导出文件中填写该单号的承运商后重新拉取。",
    ),
    "shipment.returned": (
        "Do not cite: the parcel went back to the sender. Cite a reshipment's number instead.",
        "不要引用：包裹已退回。如有补发，请引用补发包裹的单号。",
    ),
    "shipment.exception": (
        "Do not cite: the carrier reports the parcel lost, held or destroyed.",
        "不要引用：承运商显示包裹丢失、扣留或销毁。",
    ),
    "number.shared": (
        "Do not cite: several orders use this number; a reviewer treats it as fake tracking. "
        "If one parcel held several orders, keep proof of that and say so in the appeal.",
        "不要引用：多个订单使用同一单号，审核员会视为虚假物流。若确为合并发货，请保留凭证并在申诉中说明。",
    ),
    "carrier.actual_differs": (
        "Do not cite until the declared carrier is corrected to the one that has the number.",
        "在将申报承运商更正为实际承运商之前，不要引用。",
    ),
    "destination.mismatch": (
        "Do not cite: the carrier shows another destination country than the order.",
        "不要引用：承运商显示的目的国与订单不符。",
    ),
    "destination.delivered_elsewhere": (
        "Do not cite: the carrier shows delivery in another country than the order.",
        "不要引用：承运商显示在其他国家妥投。",
    ),
    "timeline.before_order": (
        "Do not cite: the carrier scanned the parcel before the order was placed.",
        "不要引用：揽收时间早于下单时间。",
    ),
    "timeline.delivered_before_order": (
        "Do not cite: the carrier shows delivery before the order was placed.",
        "不要引用：妥投时间早于下单时间。",
    ),
    "milestone.missing": (
        "Do not cite yet: no carrier event shows a required milestone. Ask the carrier for the "
        "missing scan, then refresh.",
        "暂不引用：缺少必需的物流节点。可向承运商索取缺失的扫描记录，然后刷新。",
    ),
}
_BY_VERDICT: dict[str, tuple[str, str]] = {
    "pass": ("Cite it.", "可以引用。"),
    "pending": (
        "Not proven yet: refresh once the carrier shows delivery, then cite it.",
        "尚未证明：待承运商显示妥投后刷新，再引用。",
    ),
    "fail": ("Do not cite; see the findings.", "不要引用；请查看发现的问题。"),
}


def advice(code: str) -> tuple[str, str] | None:
    """What to do about one finding code, in English and Chinese; None when it has none."""
    return _ACTIONS.get(code)


def action(row: OrderRow) -> tuple[str, str]:
    """What the seller should do about one order, in English and Chinese."""
    if row.verdict == "pass":
        if not row.cited:
            return (
                "Passes, but left out of upload/ by --exclude.",
                "符合规则，但已按 --exclude 排除。",
            )
        if row.warnings_en:
            return (
                "Cited. It carries a warning a reviewer may notice: read it before you appeal.",
                "已引用。该订单有警告，审核员可能注意到，申诉前请阅读。",
            )
        return _BY_VERDICT["pass"]
    if row.cited:
        return (
            "Cited by --include although it does not pass: a reviewer sees the same gaps.",
            "虽未通过仍按 --include 引用：审核员会看到同样的问题。",
        )
    for code in row.codes:
        if code in _ACTIONS:
            return _ACTIONS[code]
    return _BY_VERDICT.get(row.verdict, _BY_VERDICT["fail"])


def _figure_rows(items: Sequence[GroupFigure]) -> list[Sequence[Cell]]:
    return [
        (
            Span(g.label, 7.5, INK, True),
            str(g.orders),
            str(g.all_milestones),
            f"{100 * g.all_milestones / g.orders:.1f} %" if g.orders else "—",
            Span(str(g.passed), 7.5, GREEN),
            Span(str(g.failed), 7.5, RED if g.failed else INK),
            Span(str(g.pending), 7.5, AMBER if g.pending else INK),
        )
        for g in items
    ]


_FIGURES = (
    Column("Orders", "订单", 16, "R"),
    Column("All three milestones", "三个节点齐全", 28, "R"),
    Column("Share", "占比", 18, "R"),
    Column("Pass", "通过", 16, "R"),
    Column("Fail", "未通过", 16, "R"),
    Column("Pending", "待定", 16, "R"),
)


def render_precheck_pdf(
    info: BundleInfo,
    rows: Sequence[OrderRow],
    *,
    font: EvidenceFont,
    citation: str,
    portfolio: Portfolio,
) -> bytes:
    """The precheck PDF of every judged order in the window (`rows`), with the window's
    portfolio figures (`tracking.read.portfolio`, as the report and the API show them)."""
    meta = doc_meta(
        info,
        title=f"Precheck for the seller — {info.reference_id} (do not upload)",
        subject=f"Precheck of {len(rows)} orders for {info.seller}",
        right="PRECHECK · DO NOT UPLOAD / 预检 · 勿上传",
    )
    doc = Layout(font)
    doc.paragraph(NOT_FOR_UPLOAD, size=11, color=RED, bold=True, after=1)
    doc.paragraph(
        "This report is for you, the seller. Upload only the files in upload/ of this bundle; "
        "this folder names the orders not to cite and why, which a reviewer must not see.",
        size=8,
    )
    doc.paragraph(
        "本报告供卖家自查。只上传本证据包 upload/ 文件夹中的文件；"
        "本文件夹列出不应引用的订单及原因，不要让审核员看到。",
        size=8,
        color=MUTED,
        after=2,
    )
    total = portfolio.orders
    verdicts = portfolio.verdicts
    complete = portfolio.all_milestones
    unjudged = (
        f"; not judged yet {portfolio.unjudged} (run pull or refresh)" if portfolio.unjudged else ""
    )
    cited = [r for r in rows if r.cited]
    doc.key_values(
        [
            ("Evidence Reference ID", "证据参考编号", Span(info.reference_id, 9, INK, True)),
            ("Seller", "卖家", info.seller),
            (
                "Window",
                "时间范围",
                f"{lb.fmt_utc(info.window_start)} — {lb.fmt_utc(info.window_end)}",
            ),
            ("Policy", "审核规则", info.policy),
            ("Orders in the window", "窗口内订单", str(total)),
            (
                "Verdicts",
                "结论",
                f"pass {verdicts['pass']} · fail {verdicts['fail']} · "
                f"pending {verdicts['pending']}{unjudged}; "
                f"all three milestones: {complete} of {total}",
            ),
            ("Cited in upload/", "upload/ 引用", f"{len(cited)} orders ({citation})"),
        ],
        label_w=42,
    )
    doc.heading("Portfolio by carrier", "按承运商")
    doc.table([Column("Carrier", "承运商", 72), *_FIGURES], _figure_rows(portfolio.by_carrier))
    doc.heading("Portfolio by destination country", "按目的国")
    doc.table(
        [Column("Destination", "目的国", 72), *_FIGURES],
        _figure_rows(portfolio.by_destination),
    )
    not_cited = [r for r in rows if not r.cited]
    doc.heading("Orders not to cite", "不应引用的订单", keep=16)
    if not not_cited:
        doc.paragraph("None. / 无。", size=8, color=GREEN)
    else:
        doc.paragraph(
            f"{len(not_cited)} orders are left out of upload/. Do not name them in the appeal. "
            f"/ {len(not_cited)} 个订单未放入 upload/，申诉中不要提及。",
            size=7.5,
            color=MUTED,
        )
        _table(doc, not_cited)
    warned = [r for r in cited if r.warnings_en or r.verdict != "pass"]
    if warned:
        doc.heading("Cited orders to read before you appeal", "申诉前需注意的已引用订单", keep=16)
        _table(doc, warned, warnings=True)
    doc.heading("Every order in the window", "窗口内全部订单", keep=16)
    doc.item_table(
        rows,
        [
            (Column("Order ID", "订单号", 38), lambda r: Span(r.order_id, 7.5, INK, True)),
            (Column("Tracking number", "运单号", 46), lambda r: Span(r.tracking_number, 7)),
            (Column("Carrier", "承运商", 28), lambda r: Span(r.carrier_name or r.carrier, 7)),
            (Column("Dest.", "目的国", 12), lambda r: r.destination_country or "—"),
            (Column("Verdict", "结论", 22), lambda r: _verdict_cell(r.verdict)),
            (Column("In upload/", "已引用", 14), lambda r: "yes / 是" if r.cited else "no / 否"),
            (Column("Files", "文件", 22), lambda r: str(len(r.files)) if r.files else "—"),
        ],
    )
    return write_pdf(doc.pages, font=font, meta=meta)


def _verdict_cell(verdict: str) -> Span:
    """The verdict in both languages, in its colour."""
    return Span(
        lb.bi(lb.VERDICT_LABELS.get(verdict, (verdict, ""))), 7, _VERDICT_COLORS.get(verdict, INK)
    )


def _table(doc: Layout, rows: Sequence[OrderRow], *, warnings: bool = False) -> None:
    def why(r: OrderRow) -> list[Span]:
        return [Span(t, 7) for t in (*r.reasons_en, *(r.warnings_en if warnings else ()))] + [
            Span(t, 6.5, MUTED) for t in (*r.reasons_zh, *(r.warnings_zh if warnings else ()))
        ]

    doc.item_table(
        rows,
        [
            (
                Column("Order ID", "订单号", 34),
                lambda r: [
                    Span(r.order_id, 7.5, INK, True),
                    Span(r.carrier_name or r.carrier, 6.5, MUTED),
                ],
            ),
            (Column("Tracking number", "运单号", 40), lambda r: Span(r.tracking_number, 7)),
            (Column("Verdict", "结论", 18), lambda r: _verdict_cell(r.verdict)),
            (Column("Why", "原因", 50), why),
            (
                Column("What to do", "怎么做", 40),
                lambda r: [Span(action(r)[0], 7, ACCENT), Span(action(r)[1], 6.5, MUTED)],
            ),
        ],
    )


_CSV_COLUMNS = (
    "tenant",
    "order_id",
    "order_date",
    "tracking_number",
    "carrier",
    "destination_country",
    "verdict",
    "cited_in_upload",
    "departed_origin",
    "arrived_destination",
    "delivered",
    "reasons_en",
    "reasons_zh",
    "warnings_en",
    "warnings_zh",
    "finding_codes",
    "what_to_do_en",
    "what_to_do_zh",
    "upload_files",
)


def _cell(value: str) -> str:
    """A value a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def precheck_csv(rows: Sequence[OrderRow]) -> bytes:
    """The precheck spreadsheet: UTF-8 with BOM, CRLF rows (Excel opens it as is)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(_CSV_COLUMNS)
    for r in rows:
        en, zh = action(r)
        writer.writerow(
            _cell(value)
            for value in (
                r.tenant,
                r.order_id,
                lb.fmt_utc(r.order_date),
                r.tracking_number,
                r.carrier_name or r.carrier,
                r.destination_country,
                r.verdict,
                "yes" if r.cited else "no",
                *r.milestones,
                " | ".join(r.reasons_en),
                " | ".join(r.reasons_zh),
                " | ".join(r.warnings_en),
                " | ".join(r.warnings_zh),
                " ".join(r.codes),
                en,
                zh,
                " ".join(f.rsplit("/", 1)[-1] for f in r.files),
            )
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
