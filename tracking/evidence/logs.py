"""Carrier API logs a reviewer can open: raw carrier responses drawn into the upload PDFs.

Marketplaces take PDF, JPG and PNG only, so the raw responses of `raw/` reach the reviewer
as pages: each order PDF ends with an appendix of the responses it cites
(`draw_order_appendix`), and `upload/carrier-api-logs-NN.pdf` volumes hold every cited
response, indexed by digest and order (`render_log_volumes`).

Each response is shown as sent and received: the request line (method and URL; secrets were
removed before storage, and any sensitive query parameter is masked again here), the time it
was fetched, the HTTP status in words with the code beside it, the response headers kept, the
sha256 and size of the body, and the body itself pretty-printed (JSON re-indented, keys and
values untouched) in WenQuanYi Micro Hei Mono, which draws Latin, Cyrillic and Chinese. A
batched response that answers for many parcels shows, in an order's appendix, only that
parcel's entries and says what was left out (how many entries, the size and digest of the
whole); the volumes show the entries of every parcel the submission documents and withhold the
others the same way, so no parcel of an order left out of `upload/` appears in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from carriers.http import REDACTED, SENSITIVE_PARAMS
from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import (
    ACCENT,
    CONTENT_W,
    INK,
    MARGIN_L,
    MUTED,
    PT,
    RULE,
    Layout,
    Span,
    line_height,
)
from tracking.read.views import ExchangeView

__all__ = [
    "LOG_VOLUME_PATTERN",
    "LoggedResponse",
    "body_text",
    "draw_order_appendix",
    "draw_response",
    "parcel_part",
    "request_line",
    "status_words",
]

LOG_VOLUME_PATTERN = "carrier-api-logs-{:02d}.pdf"
MONO_SIZE = 6.3
_MONO_STEP = line_height(MONO_SIZE) * 0.92
_BREAKS = frozenset(' ,:;/&?=-_"')
MAX_BODY_CHARS = 400_000
"""A body longer than this (after pretty-printing) is cut in an order appendix; volumes show
it whole."""


@dataclass(frozen=True, slots=True)
class LoggedResponse:
    """One cited raw response: its fetch, its body and the orders that cite it."""

    exchange: ExchangeView
    body: bytes
    orders: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # the tracking numbers of the citing orders' parcels


def status_words(status: int) -> str:
    """`OK (HTTP 200)`; `HTTP 599` for a code without a standard name."""
    try:
        return f"{HTTPStatus(status).phrase} (HTTP {status})"
    except ValueError:
        return f"HTTP {status}"


WITHHELD = "[withheld]"
"""Stands for a tracking number of a batched request the submission does not document."""


def _withhold(value: str, numbers: Sequence[str]) -> str:
    """A batched query value (`LP1,LP2,…`) with every item not in `numbers` withheld."""
    items = value.split(",")
    if len(items) < 2 or not any(i.strip() in numbers for i in items):
        return value
    return ",".join(i if i.strip() in numbers else WITHHELD for i in items)


def masked_url(url: str, numbers: Sequence[str] = ()) -> str:
    """`url` with the value of every sensitive query parameter masked (storage already did)
    and, given the `numbers` a document shows, every other tracking number of a batched
    request withheld (a submission names no parcel it does not document)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    sensitive = any(k.lower() in SENSITIVE_PARAMS for k, _ in pairs)
    batched = bool(numbers) and any(_withhold(v, numbers) != v for _, v in pairs)
    if not sensitive and not batched:
        return url
    shown = [
        (k, REDACTED if k.lower() in SENSITIVE_PARAMS else _withhold(v, numbers) if numbers else v)
        for k, v in pairs
    ]
    query = urlencode(shown, safe=",[]" if batched else "")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def request_line(exchange: ExchangeView, numbers: Sequence[str] = ()) -> str:
    """`GET https://…` as sent (secrets masked; with `numbers`, other parcels withheld)."""
    return f"{exchange.method} {masked_url(exchange.url, numbers)}"


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def body_text(body: bytes, content_type: str) -> str:
    """The body as a reader sees it: JSON re-indented (nothing else changed), text as is."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return "(empty body)"
    if "json" in kind or body[:1] in (b"{", b"["):
        try:
            return json.dumps(json.loads(body), ensure_ascii=False, indent=1)
        except ValueError:
            pass
    if kind.startswith("text/") or "xml" in kind or "json" in kind or "html" in kind:
        return _decode(body)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return f"(binary body of {len(body)} bytes, not shown: see its sha256 above)"


def _mentions(value: Any, numbers: Sequence[str]) -> bool:
    text = json.dumps(value, ensure_ascii=False)
    return any(n in text for n in numbers)


def _prune(value: Any, numbers: Sequence[str]) -> tuple[Any, int]:
    """`value` with list entries about other parcels dropped; how many were dropped."""
    if isinstance(value, dict):
        dropped = 0
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[key], count = _prune(item, numbers)
            dropped += count
        return out, dropped
    if isinstance(value, list):
        if len(value) >= 2 and all(isinstance(v, dict) for v in value):
            keep = [v for v in value if _mentions(v, numbers)]
            if keep and len(keep) < len(value):
                return keep, len(value) - len(keep)
        dropped = 0
        items = []
        for item in value:
            pruned, count = _prune(item, numbers)
            items.append(pruned)
            dropped += count
        return items, dropped
    return value, 0


def parcel_part(body: bytes, numbers: Sequence[str]) -> tuple[str, int] | None:
    """This parcel's part of a batched JSON response and how many entries were left out.

    None when the body is not JSON, or is not a batch (nothing to leave out).
    """
    if not numbers or body[:1] not in (b"{", b"["):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    pruned, dropped = _prune(value, numbers)
    if not dropped:
        return None
    return json.dumps(pruned, ensure_ascii=False, indent=1), dropped


def _mono_lines(font: EvidenceFont, text: str, width: float, size: float) -> Iterator[str]:
    """`text` in lines of at most `width` mm of the monospaced font, breaking after
    punctuation where it can (a long number is kept on one line when it fits one)."""
    unit = font.widths.get("0", 600) * size * PT / 1000
    columns = max(int(width / unit), 8)
    widths = font.widths
    for raw in text.split("\n"):
        line = font.clean(raw)
        if len(line) <= columns // 2 or (
            len(line) <= columns and line.isascii()
        ):  # most JSON lines
            yield line
            continue
        start = 0
        n = len(line)
        while start < n:
            used = 0
            end = start
            while end < n:
                w = 2 if widths.get(line[end], 600) > 700 else 1
                if used + w > columns:
                    break
                used += w
                end += 1
            if end >= n:
                yield line[start:]
                break
            cut = end
            for j in range(end, max(start + columns // 3, start + 1), -1):
                if line[j - 1] in _BREAKS:
                    cut = j
                    break
            yield line[start:cut]
            start = cut


def code_block(doc: Layout, mono: EvidenceFont, text: str, *, size: float = MONO_SIZE) -> None:
    """`text` in the monospaced font at the cursor, breaking pages between lines."""
    step = _MONO_STEP if size == MONO_SIZE else line_height(size) * 0.92
    x = MARGIN_L + 2.5
    width = CONTENT_W - 3
    bottom = doc.bottom
    top = doc.y
    for line in _mono_lines(mono, text, width, size):
        if doc.y + step > bottom:
            doc.ops.append(("L", MARGIN_L + 0.6, top, MARGIN_L + 0.6, doc.y, RULE, 0.5))
            doc.new_page()
            top = doc.y
        doc.mono(x, doc.y, line, size=size, color=INK)
        doc.y += step
    doc.ops.append(("L", MARGIN_L + 0.6, top, MARGIN_L + 0.6, doc.y, RULE, 0.5))
    doc.y += 1.0


def _facts(
    exchange: ExchangeView, *, orders: Sequence[str] = (), numbers: Sequence[str] = ()
) -> list[tuple[str, str, Span | str | list[Span]]]:
    rows: list[tuple[str, str, Span | str | list[Span]]] = [
        ("sha256 of the body", "响应摘要", Span(exchange.sha256, 7, INK, True)),
        (
            "Size, type",
            "大小、类型",
            f"{exchange.size:,} bytes · {exchange.content_type or 'unknown type'}",
        ),
        ("Request", "请求", Span(request_line(exchange, numbers), 7)),
        ("Fetched at", "获取时间", lb.fmt_utc(exchange.fetched_at, seconds=True)),
        ("Response status", "响应状态", status_words(exchange.status)),
    ]
    if exchange.headers:
        rows.append(
            (
                "Response headers kept",
                "保留的响应头",
                [Span(f"{k}: {v}", 7) for k, v in exchange.headers],
            )
        )
    if orders:
        rows.append(("Cited by orders", "引用此响应的订单", Span(", ".join(orders), 7)))
    return rows


def draw_response(
    doc: Layout,
    mono: EvidenceFont,
    response: LoggedResponse,
    *,
    title: str,
    numbers: Sequence[str] = (),
    whole_in: str = "",
    volume: bool = False,
) -> None:
    """One response: its facts, then its body (this parcel's part when `numbers` cut a batch;
    in a log volume (`volume`), the part of every parcel the submission documents)."""
    exchange = response.exchange
    doc.ensure(40)
    doc.paragraph(title, size=9, color=ACCENT, bold=True, after=0.6)
    doc.key_values(_facts(exchange, orders=response.orders, numbers=numbers), label_w=38, size=7.5)
    part = parcel_part(response.body, numbers) if numbers else None
    if part is not None and volume:
        text, dropped = part
        doc.paragraph(
            f"This response answers for several parcels. Shown below, in full: the entries of "
            f"the parcels this submission documents ({', '.join(numbers)}). Withheld: "
            f"{dropped} entries about parcels this submission does not document. The seller "
            f"keeps the whole body as stored ({exchange.size:,} bytes, sha256 "
            f"{exchange.sha256}, the digest printed above) and can provide it.",
            size=7,
            color=MUTED,
            after=0.2,
        )
        doc.paragraph(
            f"此响应包含多个包裹的信息。下面完整列出本次提交所涉包裹的条目；未列出本次提交"
            f"不涉及的包裹的 {dropped} 个条目。卖家保存完整的原始响应（{exchange.size:,} 字节，"
            f"sha256 见上），可应要求提供。",
            size=7,
            color=MUTED,
            after=0.6,
        )
    elif part is not None:
        text, dropped = part
        doc.paragraph(
            f"This response answers for several parcels. Shown below: the entries of this "
            f"parcel ({', '.join(numbers)}), in full. Left out: {dropped} entries about other "
            f"parcels. The seller keeps the whole response as stored ({exchange.size:,} bytes, "
            f"sha256 {exchange.sha256}); {whole_in or 'the carrier API log volumes'} show it "
            f"with the entries of every parcel this submission documents.",
            size=7,
            color=MUTED,
            after=0.2,
        )
        doc.paragraph(
            f"此响应包含多个包裹的信息。下面完整列出本包裹的条目，省略了其他包裹的 {dropped} 个"
            f"条目；卖家保存完整响应（{exchange.size:,} 字节），承运商接口日志卷列出本次提交"
            f"所涉全部包裹的条目（按摘要索引）。",
            size=7,
            color=MUTED,
            after=0.6,
        )
    else:
        text = body_text(response.body, exchange.content_type)
        indented = text.startswith(("{\n", "[\n"))
        doc.paragraph(
            "Body, as received" + (" (JSON indented for reading):" if indented else ":"),
            size=7,
            color=MUTED,
        )
    if len(text) > MAX_BODY_CHARS and numbers and not volume:
        text = (
            text[:MAX_BODY_CHARS] + f"\n… cut here: the rest is in {whole_in or 'the log volumes'}"
        )
    code_block(doc, mono, text)


def draw_order_appendix(
    doc: Layout,
    mono: EvidenceFont,
    responses: Iterable[LoggedResponse],
    *,
    numbers: Sequence[str],
) -> None:
    """The appendix of an order PDF: every raw carrier response the order cites."""
    items = list(responses)
    doc.new_page()
    doc.heading("Appendix: carrier API responses", "附录：承运商接口原始响应", keep=10)
    doc.paragraph(
        "Every raw response from the carriers' systems that this document cites, as received. "
        "The sha256 digest printed with each is the digest of its exact bytes; the same "
        "responses are in the carrier API log volumes of this submission "
        "(carrier-api-logs-NN.pdf), indexed by digest.",
        size=7.5,
        after=0.3,
    )
    doc.paragraph(
        "本附录列出本文件引用的承运商系统原始响应。每个响应旁的 sha256 摘要对应其原始字节；"
        "这些响应另见同批提交的承运商接口日志卷（carrier-api-logs-NN.pdf），按摘要索引。",
        size=7.5,
        color=MUTED,
        after=1.5,
    )
    for number, response in enumerate(items, start=1):
        draw_response(
            doc,
            mono,
            response,
            title=f"Response {number} of {len(items)} · {response.exchange.carrier}",
            numbers=numbers,
            whole_in="carrier-api-logs-NN.pdf (see the index by digest)",
        )
        doc.space(2)
