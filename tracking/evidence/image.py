"""The per-order PNG: the delivery status as an image, for platforms that ask for a screenshot.

It is plainly a rendering, never an imitation of a carrier website: a banner says so in
English and Chinese, and the footer names the carrier response it renders (carrier, request,
endpoint host, fetch time, sha256 digest) in one line. The Evidence Reference ID, the order
id and the tracking number stand large at the top, with the public tracking page and its QR
code. The same
font as the PDFs is used; PNG encoding is deterministic (no metadata chunks, fixed settings).
"""

from __future__ import annotations

import functools
import io
import math
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFont

from tracking.core.exceptions import InputError
from tracking.evidence import labels as lb
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import ACCENT, AMBER, GREEN, INK, MUTED, PT, RED, RULE, Color, wrap
from tracking.evidence.qr import qr_matrix
from tracking.evidence.wording import link_label
from tracking.read.views import BundleInfo, EventView, ExchangeView, OrderEvidence

__all__ = ["WIDTH", "render_order_png", "split_png"]

WIDTH = 1000
PAD = 44
_MAX_HEIGHT = 2400
_BANNER_FILL: Color = (255, 244, 214)
_BANNER_INK: Color = (122, 78, 0)
_PANEL: Color = (246, 247, 249)
_LATEST = 6


@functools.cache
def _pil_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size=size, index=index, layout_engine=ImageFont.Layout.BASIC)


_Glyph = tuple[Any, int, int, float]  # mask (Pillow core image) or None, x/y offset, advance
_GLYPHS: dict[tuple[str, int, str], _Glyph] = {}
_GLYPHS_MAX = 20_000


def _glyph(font: ImageFont.FreeTypeFont, key: tuple[str, int, str]) -> _Glyph:
    """A character's antialiased mask at one size, rendered once per process."""
    found = _GLYPHS.get(key)
    if found is None:
        char = key[2]
        left, top, right, bottom = font.getbbox(char)
        advance = float(font.getlength(char))
        if right > left and bottom > top:
            mask = Image.new("L", (int(right - left), int(bottom - top)), 0)
            ImageDraw.Draw(mask).text((-left, -top), char, font=font, fill=255)
            found = (mask.im, int(left), int(top), advance)
        else:
            found = (None, 0, 0, advance)
        if len(_GLYPHS) < _GLYPHS_MAX:
            _GLYPHS[key] = found
    return found


class _Canvas:
    def __init__(self, font: EvidenceFont) -> None:
        self.font = font
        self.image = Image.new("RGB", (WIDTH, _MAX_HEIGHT), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        # Pillow's drawing core: one C call per glyph instead of ImageDraw.bitmap's checks
        self._core: Any = self.draw.draw
        self._inks: dict[Color, Any] = {}
        self.y = 0

    def pil(self, size: int) -> ImageFont.FreeTypeFont:
        return _pil_font(str(self.font.path), self.font.index, size)

    def width(self, text: str, size: int) -> float:
        get = self.font.widths.get
        default = self.font.default_width
        return float(sum([get(c, default) for c in text]) * size / 1000)

    def wrap(self, text: str, size: int, width: float) -> list[str]:
        # layout.wrap measures millimetres at point sizes: one pixel is one point here
        return wrap(self.font, self.font.clean(text), width * PT, size)

    def text(
        self, x: float, y: float, text: str, size: int, color: Color, *, bold: bool = False
    ) -> None:
        font = self.pil(size)
        ink = self._inks.get(color)
        if ink is None:
            ink = self._inks[color] = self._core.draw_ink(color)
        blit = self._core.draw_bitmap
        path = str(self.font.path)
        pen = float(x)
        top = round(y)
        for char in self.font.clean(text):
            mask, dx, dy, advance = _glyph(font, (path, size, char))
            if mask is not None:
                blit((round(pen) + dx, top + dy), mask, ink)
                if bold:
                    blit((round(pen) + dx + 1, top + dy), mask, ink)
            pen += advance + (1 if bold else 0)

    def para(
        self,
        text: str,
        size: int,
        color: Color,
        *,
        x: float = PAD,
        width: float = WIDTH - 2 * PAD,
        bold: bool = False,
        gap: float = 1.35,
        max_lines: int = 6,
    ) -> None:
        lines = self.wrap(text, size, width)
        if len(lines) > max_lines:
            lines = [
                *lines[: max_lines - 1],
                lines[max_lines - 1][: max(1, len(lines[max_lines - 1]) - 1)] + "…",
            ]
        for line in lines:
            self.text(x, self.y, line, size, color, bold=bold)
            self.y += round(size * gap)

    def rule(self, color: Color = RULE) -> None:
        self.draw.line((PAD, self.y, WIDTH - PAD, self.y), fill=color, width=1)


@functools.cache
def _palette() -> Image.Image:
    """A fixed palette: every colour used, blended at 8 levels over each background."""
    white: Color = (255, 255, 255)
    inks = (INK, MUTED, RULE, ACCENT, GREEN, RED, AMBER)
    pairs = [(ground, ink) for ground in (white, _PANEL) for ink in inks]
    pairs += [(_BANNER_FILL, _BANNER_INK), *((disc, white) for disc in (GREEN, RED, AMBER))]
    colors: dict[tuple[int, ...], None] = {}
    for ground, ink in pairs:
        for level in range(8):
            t = level / 7
            colors[tuple(round(g * (1 - t) + i * t) for g, i in zip(ground, ink, strict=True))] = (
                None
            )
    flat = [v for color in list(colors)[:256] for v in color]
    image = Image.new("P", (1, 1))
    image.putpalette(flat + [0] * (768 - len(flat)))
    return image


def _delivered(order: OrderEvidence) -> EventView | None:
    for milestone in order.milestones:
        if milestone.stage == "delivered" and milestone.status != "missing":
            return milestone.event
    return None


def _source(order: OrderEvidence, event: EventView | None) -> ExchangeView | None:
    if event is not None:
        found = lb.exchange_for(order, event.exchange_sha256)
        if found is not None:
            return found
    if order.exchanges:
        return max(order.exchanges, key=lambda x: (x.fetched_at, x.url, x.sha256))
    return None


def render_order_png(
    order: OrderEvidence,
    *,
    info: BundleInfo,
    font: EvidenceFont,
    parcel: tuple[int, int] | None = None,
) -> bytes:
    """The delivery-status image of `order`, as PNG bytes; `parcel` (i, n) labels the number
    as parcel i of n of a split order (`order` then shows that parcel: `views.as_parcel`)."""
    c = _Canvas(font)
    delivered = _delivered(order)
    last = order.events[-1] if order.events else None
    shown = delivered or last

    # banner: what this image is
    c.draw.rectangle((0, 0, WIDTH, 74), fill=_BANNER_FILL)
    c.text(
        PAD,
        14,
        "RENDERING OF CARRIER DATA — NOT A SCREENSHOT OF ANY CARRIER WEBSITE",
        17,
        _BANNER_INK,
        bold=True,
    )
    c.text(PAD, 42, "承运商数据渲染图 — 并非承运商网站截图 · track-evidence", 16, _BANNER_INK)
    c.y = 92

    # who and what: the reference, the order and the number, large; the public page and its QR
    url = order.public_url or next((leg.public_url for leg in order.legs if leg.public_url), "")
    text_w = WIDTH - 2 * PAD - (_QR + 20 if url else 0)
    c.text(PAD, c.y, "Evidence Reference ID / 证据参考编号", 14, MUTED)
    c.y += 20
    c.para(info.reference_id, 26, ACCENT, bold=True, width=text_w, max_lines=2)
    c.text(PAD, c.y + 4, "Order / 订单", 14, MUTED)
    c.y += 22
    c.para(order.order_id, 26, INK, bold=True, width=text_w, max_lines=2)
    label = "Tracking number / 运单号"
    if parcel is not None:
        i, n = parcel
        label = f"Tracking number, parcel {i} of {n} / 运单号（第 {i}/{n} 个包裹）"
    c.text(PAD, c.y + 4, label, 14, MUTED)
    c.y += 22
    number_size = 26 if c.width(order.tracking_number, 26) <= text_w else 20
    c.para(order.tracking_number, number_size, INK, bold=True, width=text_w, max_lines=2)
    if url:
        _qr_image(c, url, x=WIDTH - PAD - _QR, y=96)
        what_en, what_zh = link_label(order.carrier_name, url)
        c.y += 6
        c.para(f"Check it on {what_en} / 在{what_zh}查询:", 14, MUTED)
        c.para(url, 14, ACCENT, max_lines=2)
    c.y = max(c.y, 96 + _QR) + 16
    c.rule()
    c.y += 16

    # status
    if delivered is not None:
        mark, color, title = "✔", GREEN, "Delivered / 已妥投"
    elif order.verdict == "pending":
        mark, color, title = "…", AMBER, "Not delivered yet / 尚未妥投"
    else:
        mark, color, title = "✘", RED, "Not delivered / 未妥投"
    c.draw.ellipse((PAD, c.y, PAD + 64, c.y + 64), fill=color)
    _mark(c.draw, mark, PAD, c.y)
    c.text(PAD + 84, c.y + 14, title, 30, color, bold=True)
    c.y += 84
    if shown is not None:
        local = lb.fmt_local(shown.occurred_at, shown.local_offset)
        when = f"{local}  ({lb.fmt_utc(shown.occurred_at)})"
        place = ", ".join(p for p in (shown.location, lb.country(shown.country)) if p and p != "—")
        c.para(
            ("Delivered on " if delivered is not None else "Last event on ") + when,
            18,
            INK,
            bold=True,
        )
        c.para(f"{place}", 17, INK)
        c.para(f"Carrier's text / 承运商原文: {shown.description}", 17, INK, max_lines=3)
    else:
        c.para("No carrier events. / 无承运商事件。", 18, RED)
    c.y += 10

    # shipment panel
    panel_top = c.y
    c.y += 14
    legs = order.legs
    legs_text = "  →  ".join(f"{leg.carrier_name} {leg.tracking_number}" for leg in legs) or (
        f"{order.carrier_name} {order.tracking_number}"
    )
    rows = [
        ("Tracking number / 运单号", f"{order.tracking_number} · {order.carrier_name}"),
        ("Legs / 分段", legs_text),
        (
            "Destination / 目的地",
            lb.country(order.destination_country)
            + (
                f" · {order.destination_city} {order.destination_postal_code}".rstrip()
                if order.destination_city or order.destination_postal_code
                else ""
            ),
        ),
        ("Seller / 卖家", info.seller),
    ]
    value_x = PAD + 300
    value_w = WIDTH - 2 * PAD - 316
    heights = [
        max(22, min(2, len(c.wrap(value, 16, value_w))) * round(16 * 1.35)) + 4 for _, value in rows
    ]
    bottom = panel_top + 14 + sum(heights) + 8
    c.draw.rectangle((PAD, panel_top, WIDTH - PAD, bottom), fill=_PANEL, outline=RULE, width=1)
    for (label, value), height in zip(rows, heights, strict=True):
        start = c.y
        c.text(PAD + 16, c.y, label, 14, MUTED)
        c.para(value, 16, INK, x=value_x, width=value_w, max_lines=2)
        c.y = start + height
    c.y = bottom + 22

    # milestones
    c.text(PAD, c.y, "Milestones / 物流节点", 20, ACCENT, bold=True)
    c.y += 32
    for milestone in order.milestones:
        en, zh = lb.MILESTONE_LABELS.get(milestone.stage, (milestone.stage, ""))
        status = milestone.status
        mcolor = GREEN if status == "explicit" else AMBER if status == "inferred" else RED
        c.text(PAD, c.y - 2, "✔" if status != "missing" else "✘", 20, mcolor)
        c.text(PAD + 34, c.y, f"{en} / {zh}", 16, INK, bold=True)
        c.text(PAD + 400, c.y, bi_status(status), 15, mcolor)
        event = milestone.event
        detail = (
            f"{lb.fmt_local(event.occurred_at, event.local_offset)} · "
            f"{event.location or lb.country(event.country)}"
            if event
            else "no carrier event / 无承运商事件"
        )
        c.para(detail, 15, MUTED, x=PAD + 560, width=WIDTH - PAD - 560 - PAD, max_lines=2)
        c.y += 6
    c.y += 10

    # latest events
    c.text(PAD, c.y, "Latest carrier events / 最新承运商事件", 20, ACCENT, bold=True)
    c.y += 32
    events = order.events[-_LATEST:]
    if len(order.events) > _LATEST:
        c.para(
            f"(the {len(order.events) - _LATEST} earlier events are in the order's PDF / "
            "更早的事件见订单 PDF)",
            13,
            MUTED,
        )
    for event in reversed(events):
        c.text(PAD, c.y, lb.fmt_local(event.occurred_at, event.local_offset), 14, MUTED)
        start = c.y
        c.para(
            event.description or lb.stage_label(event.stage)[0],
            15,
            INK,
            x=PAD + 230,
            width=WIDTH - 2 * PAD - 230,
            max_lines=2,
        )
        c.para(
            " · ".join(p for p in (event.location, event.tracking_number) if p),
            13,
            MUTED,
            x=PAD + 230,
            width=WIDTH - 2 * PAD - 230,
            max_lines=1,
        )
        c.y = max(c.y, start + 22) + 6

    # provenance
    c.y += 8
    c.rule()
    c.y += 14
    source = _source(order, delivered or last)
    if source is not None:
        host = urlsplit(source.url).hostname or source.url
        c.para(
            f"Source / 来源: {source.carrier} · {host} · fetched "
            f"{lb.fmt_utc(source.fetched_at, seconds=True)} · sha256 {source.sha256}",
            12 if c.width(source.sha256, 12) * 2.2 < WIDTH - 2 * PAD else 11,
            INK,
            max_lines=2,
        )
    else:
        c.para(
            "No raw carrier response is stored for this order. / 本订单没有保存承运商原始响应。",
            14,
            RED,
        )
    c.para(
        f"Rendered by track-evidence {info.tool_version} at {lb.fmt_utc(info.created_at)}; the "
        "raw response is reproduced in the order's PDF. / 由 track-evidence 根据承运商数据生成，"
        "原始响应见订单 PDF。",
        13,
        MUTED,
        max_lines=3,
    )
    height = min(_MAX_HEIGHT, c.y + PAD - 10)
    image = c.image.crop((0, 0, WIDTH, height)).quantize(
        palette=_palette(), dither=Image.Dither.NONE
    )
    return _encode(image)


def _mark(draw: ImageDraw.ImageDraw, mark: str, x: int, y: int) -> None:
    """A white check mark, cross or ellipsis inside the 64 px status disc at (x, y)."""
    white = (255, 255, 255)
    if mark == "✔":
        draw.line(
            (x + 17, y + 33, x + 28, y + 45, x + 48, y + 20), fill=white, width=8, joint="curve"
        )
    elif mark == "✘":
        draw.line((x + 20, y + 20, x + 44, y + 44), fill=white, width=8)
        draw.line((x + 44, y + 20, x + 20, y + 44), fill=white, width=8)
    else:
        for i in range(3):
            draw.ellipse((x + 15 + i * 14, y + 28, x + 23 + i * 14, y + 36), fill=white)


_QR = 150


def _qr_image(c: _Canvas, url: str, *, x: int, y: int) -> None:
    """The QR code of `url`, `_QR` pixels square (quiet zone included)."""
    matrix = qr_matrix(url)
    step = _QR / (len(matrix) + 8)
    c.draw.rectangle((x, y, x + _QR, y + _QR), fill=(255, 255, 255))
    for row_index, row in enumerate(matrix):
        top = y + (row_index + 4) * step
        for col, dark in enumerate(row):
            if dark:
                left = x + (col + 4) * step
                c.draw.rectangle(
                    (round(left), round(top), round(left + step) - 1, round(top + step) - 1),
                    fill=INK,
                )


def bi_status(status: str) -> str:
    return lb.bi(lb.STATUS_LABELS.get(status, (status, "")))


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=3)
    return out.getvalue()


def split_png(data: bytes, max_bytes: int) -> list[bytes]:
    """`data` as is, or cut into horizontal bands each at most `max_bytes` (top first)."""
    if len(data) <= max_bytes:
        return [data]
    image = Image.open(io.BytesIO(data))
    image.load()
    width, height = image.size
    parts = 2
    while True:
        band = math.ceil(height / parts)
        if band < 40:
            raise InputError(
                f"a PNG band of {band} px still exceeds the {max_bytes}-byte file limit"
            )
        pieces = [
            _encode(image.crop((0, top, width, min(height, top + band))))
            for top in range(0, height, band)
        ]
        if all(len(piece) <= max_bytes for piece in pieces):
            return pieces
        parts *= 2
