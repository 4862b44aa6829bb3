"""`upload/carrier-api-logs-NN.pdf`: every cited raw carrier response, in full, as PDF volumes.

Responses come sorted by digest; each starts on a new page with its facts (request line,
time, status, headers kept, sha256, size, the orders citing it) and its body in the
monospaced font: whole, or for a batched response the entries of the parcels the submission
documents, saying what was withheld (no parcel of an order left out of `upload/` appears).
Every volume opens with its index (digest, carrier, citing orders, page),
and holds as many responses as fit in the upload limit: a volume is written once it reaches
`_PAGES_PER_VOLUME` pages, and cut in two (by responses) while it is over `max_bytes`.
A single response too large for one file is split over consecutive volumes by pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from tracking.core.exceptions import InputError
from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import INK, MUTED, Column, Layout, Op, Span
from tracking.evidence.logs import LOG_VOLUME_PATTERN, LoggedResponse, draw_response
from tracking.evidence.writer import DocMeta, write_pdf

__all__ = ["LogVolume", "render_log_volumes"]

_PAGES_PER_VOLUME = 600


@dataclass(frozen=True, slots=True)
class LogVolume:
    """One written volume: its file name, bytes, and the digests it holds."""

    name: str
    data: bytes
    digests: tuple[str, ...]


@dataclass(slots=True)
class _Rendered:
    response: LoggedResponse
    pages: list[list[Op]]


def _index_pages(
    font: EvidenceFont, items: Sequence[_Rendered], *, first_page: Sequence[int], volume: int
) -> list[list[Op]]:
    doc = Layout(font)
    doc.paragraph(
        f"CARRIER API LOGS · VOLUME {volume:02d} / 承运商接口日志 第 {volume:02d} 卷",
        size=9,
        color=(21, 67, 130),
        bold=True,
    )
    doc.paragraph(
        "Raw responses from the carriers' tracking systems, reproduced as received "
        "(JSON indented for reading; keys, values and their order unchanged). Each is "
        "identified by the sha256 digest of its exact bytes, the digest the order documents "
        "of this submission cite. Of a response answering for a batch of parcels, the entries "
        "of the parcels this submission documents are shown in full and the others withheld "
        "(their count is given); the seller keeps the whole body as stored.",
        size=7.5,
    )
    doc.paragraph(
        "承运商物流查询系统的原始响应，按接收内容转载"
        "（JSON 仅缩进以便阅读，键、值及顺序未改动）。"
        "每个响应以其原始字节的 sha256 摘要标识，与本次提交的订单文件所引用的摘要一致。"
        "批量响应完整列出本次提交所涉包裹的条目，其余条目不列出（注明条数）；卖家保存完整原始响应。",
        size=7.5,
        color=MUTED,
    )
    doc.table(
        [
            Column("Page", "页", 11, "R"),
            Column("sha256", "摘要", 62),
            Column("Carrier · fetched", "承运商 · 获取时间", 36),
            Column("Cited by orders", "引用的订单", 73),
        ],
        (
            (
                str(page),
                Span(item.response.exchange.sha256, 6.5, INK),
                [
                    Span(item.response.exchange.carrier, 7),
                    Span(lb.fmt_utc(item.response.exchange.fetched_at, seconds=True), 6.5, MUTED),
                ],
                Span(", ".join(item.response.orders) or "—", 7),
            )
            for item, page in zip(items, first_page, strict=True)
        ),
    )
    return doc.pages


def _volume_bytes(
    font: EvidenceFont,
    mono: EvidenceFont,
    meta: DocMeta,
    items: Sequence[_Rendered],
    volume: int,
) -> bytes:
    # The index's length depends only on the number of entries, so lay it out once to count
    # its pages, then again with the page numbers.
    count = len(_index_pages(font, items, first_page=[0] * len(items), volume=volume))
    starts = []
    page = count + 1
    for item in items:
        starts.append(page)
        page += len(item.pages)
    index = _index_pages(font, items, first_page=starts, volume=volume)
    pages = [*index, *(p for item in items for p in item.pages)]
    return write_pdf(pages, font=font, meta=meta, mono=mono)


def render_log_volumes(
    responses: Iterable[LoggedResponse],
    *,
    font: EvidenceFont,
    mono: EvidenceFont,
    meta: DocMeta,
    max_bytes: int,
) -> Iterator[LogVolume]:
    """The log volumes of `responses` (sorted by digest), each at most `max_bytes`."""
    number = 0
    pending: list[_Rendered] = []
    pages = 0

    def flush(items: list[_Rendered]) -> Iterator[LogVolume]:
        nonlocal number
        data = _volume_bytes(font, mono, meta, items, number + 1)
        if len(data) <= max_bytes:
            number += 1
            yield LogVolume(
                LOG_VOLUME_PATTERN.format(number),
                data,
                tuple(i.response.exchange.sha256 for i in items),
            )
            return
        if len(items) > 1:
            half = len(items) // 2
            yield from flush(items[:half])
            yield from flush(items[half:])
            return
        item = items[0]
        if len(item.pages) <= 1:
            raise InputError(
                f"carrier API logs: one page of response {item.response.exchange.sha256} needs "
                f"more than the {max_bytes}-byte file limit"
            )
        half = len(item.pages) // 2
        yield from flush([_Rendered(item.response, item.pages[:half])])
        yield from flush([_Rendered(item.response, item.pages[half:])])

    for response in responses:
        doc = Layout(font)
        draw_response(
            doc,
            mono,
            response,
            title=f"Response {response.exchange.sha256[:16]}…",
            numbers=response.numbers,
            volume=True,
        )
        pending.append(_Rendered(response, doc.pages))
        pages += len(doc.pages)
        if pages >= _PAGES_PER_VOLUME:
            yield from flush(pending)
            pending, pages = [], 0
    if pending:
        yield from flush(pending)
