"""A small, fast layout engine: wrapped text, key/value blocks, paginated tables.

fpdf2's own `table()` and `multi_cell()` are flexible but slow (a 40-row table costs about
0.1 s); evidence PDFs need tens per second. Here text is measured with the font's width table
and wrapped with a bisect over prefix sums; drawing produces a display list per page (plain
tuples, see `tracking.evidence.writer`), written to PDF only at the end, when the number of
pages is known: page numbers are exact and a long document can be cut into parts of N pages
without laying it out again. Tables repeat their header after each page break and split rows
taller than a page.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import TypeVar

from tracking.evidence.fonts import EvidenceFont

__all__ = [
    "ACCENT",
    "AMBER",
    "CONTENT_W",
    "GREEN",
    "HEAD_FILL",
    "INK",
    "MARGIN_B",
    "MARGIN_L",
    "MARGIN_R",
    "MARGIN_T",
    "MUTED",
    "PAGE_H",
    "PAGE_W",
    "PT",
    "RED",
    "RULE",
    "WHITE",
    "Cell",
    "Color",
    "Column",
    "Layout",
    "Op",
    "Span",
    "line_height",
    "wrap",
]

T = TypeVar("T")
Color = tuple[int, int, int]
Op = tuple[object, ...]
"""A drawing operation: ("T", x, baseline, size, color, bold, text), ("M", x, baseline, size,
color, text) (monospaced), ("R", x, y, w, h, color),
("P", color, [(x, y, w, h), ...]) (many filled boxes), ("G", color, x, y, step, runs) (boxes
as PDF `re` operators in units of `step` mm, a QR code), ("L", x0, y0, x1, y1, color, width);
millimetres from the top-left corner."""

INK: Color = (33, 37, 41)
MUTED: Color = (108, 117, 125)
RULE: Color = (206, 212, 218)
HEAD_FILL: Color = (233, 236, 239)
ZEBRA: Color = (246, 247, 249)
ACCENT: Color = (21, 67, 130)
GREEN: Color = (25, 128, 72)
RED: Color = (190, 30, 45)
AMBER: Color = (168, 104, 0)
WHITE: Color = (255, 255, 255)

PAGE_W = 210.0
PAGE_H = 297.0
MARGIN_L = 14.0
MARGIN_R = 14.0
MARGIN_T = 13.5
MARGIN_B = 15.0
CONTENT_W = PAGE_W - MARGIN_L - MARGIN_R
PT = 25.4 / 72
LEADING = 1.28
PAD = 1.2  # cell padding, mm

_BREAK_AFTER = frozenset(" /-?&=,;_|:.)]}，、。；：）】")


def _is_cjk(char: str) -> bool:
    return ord(char) >= 0x2E80


def line_height(size: float) -> float:
    """Height of one line of text at `size` pt, in mm."""
    return size * PT * LEADING


def wrap(font: EvidenceFont, text: str, width: float, size: float) -> list[str]:
    """`text` broken into lines no wider than `width` mm at `size` pt.

    Breaks after spaces and punctuation, between CJK characters, and inside words only
    when a word (a URL, a digest) is wider than the line. Texts up to 240 characters (labels,
    column headings, running footers, repeated on every page and in every document) are
    wrapped once per process.
    """
    if len(text) <= 240:
        return list(_wrap_cached(font, text, width, size))
    return _wrap(font, text, width, size)


@functools.lru_cache(maxsize=16384)
def _wrap_cached(font: EvidenceFont, text: str, width: float, size: float) -> tuple[str, ...]:
    return tuple(_wrap(font, text, width, size))


def _wrap(font: EvidenceFont, text: str, width: float, size: float) -> list[str]:
    limit = max(width, 1.0) / (size * PT / 1000)
    widths = font.widths
    default = font.default_width
    lines: list[str] = []
    for para in text.split("\n"):
        char_widths = [widths.get(c, default) for c in para]
        if sum(char_widths) <= limit:
            lines.append(para)
            continue
        cumulative = [0, *accumulate(char_widths)]
        start = 0
        n = len(para)
        while start < n:
            end = bisect.bisect_right(cumulative, cumulative[start] + limit) - 1
            if end >= n:
                lines.append(para[start:].rstrip())
                break
            end = max(end, start + 1)
            cut = end
            for j in range(end, start, -1):
                before = para[j - 1]
                if before in _BREAK_AFTER or _is_cjk(before) or _is_cjk(para[j]):
                    cut = j
                    break
            lines.append(para[start:cut].rstrip())
            start = cut
            while start < n and para[start] == " ":
                start += 1
    return lines or [""]


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text inside a cell with its own size, colour and weight; spans stack."""

    text: str
    size: float = 7.5
    color: Color = INK
    bold: bool = False


Cell = str | Span | Sequence[Span]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: bilingual header, width in mm, alignment (L, C or R)."""

    en: str
    zh: str
    width: float
    align: str = "L"


@dataclass(slots=True)
class _Line:
    text: str
    size: float
    color: Color
    bold: bool
    height: float


class Layout:
    """Pages of display lists drawn top to bottom with an explicit cursor `y` (mm)."""

    def __init__(self, font: EvidenceFont) -> None:
        self.font = font
        self.pages: list[list[Op]] = []
        self.ops: list[Op] = []
        self.bottom = PAGE_H - MARGIN_B
        self.y = MARGIN_T
        self._ascent = font.ascent + (LEADING - 1) / 2
        self._table_top = 0.0
        self.new_page()

    # -- pages --------------------------------------------------------------------------

    def new_page(self) -> None:
        """Start a new page and put the cursor at its top."""
        self.ops = []
        self.pages.append(self.ops)
        self.y = MARGIN_T

    def ensure(self, height: float) -> bool:
        """Break the page unless `height` mm still fit; True when it broke."""
        if self.y + height > self.bottom:
            self.new_page()
            return True
        return False

    # -- primitives ---------------------------------------------------------------------

    def width(self, text: str, size: float) -> float:
        return self.font.text_width(text, size)

    def put(
        self,
        x: float,
        y_top: float,
        text: str,
        *,
        size: float = 8,
        color: Color = INK,
        bold: bool = False,
    ) -> None:
        """One line of text with its top at `y_top` (no wrapping, no cleaning)."""
        if text:
            self.ops.append(("T", x, y_top + size * PT * self._ascent, size, color, bold, text))

    def mono(self, x: float, y_top: float, text: str, *, size: float, color: Color = INK) -> None:
        """One line of the monospaced font (`tracking.evidence.writer` draws it as /F2)."""
        if text:
            self.ops.append(("M", x, y_top + size * PT * self._ascent, size, color, text))

    def fill(self, x: float, y: float, w: float, h: float, color: Color) -> None:
        self.ops.append(("R", x, y, w, h, color))

    def boxes(self, color: Color, boxes: list[tuple[float, float, float, float]]) -> None:
        """Many filled boxes of one colour (a QR code)."""
        self.ops.append(("P", color, boxes))

    def hline(
        self,
        y: float,
        *,
        color: Color = RULE,
        width: float = 0.15,
        x0: float = MARGIN_L,
        x1: float = PAGE_W - MARGIN_R,
    ) -> None:
        self.ops.append(("L", x0, y, x1, y, color, width))

    # -- blocks -------------------------------------------------------------------------

    def space(self, height: float) -> None:
        self.y += height

    def paragraph(
        self,
        text: str,
        *,
        size: float = 8,
        color: Color = INK,
        bold: bool = False,
        x: float = MARGIN_L,
        width: float = CONTENT_W,
        after: float = 1.0,
    ) -> None:
        """Wrapped text at the cursor, breaking pages between lines."""
        step = line_height(size)
        for line in wrap(self.font, self.font.clean(text), width, size):
            self.ensure(step)
            self.put(x, self.y, line, size=size, color=color, bold=bold)
            self.y += step
        self.y += after

    def heading(self, en: str, zh: str, *, keep: float = 22.0) -> None:
        """A section heading `English / 中文`, kept with `keep` mm of what follows."""
        self.y += 2.5
        size = 10.5
        self.ensure(line_height(size) + 2.5 + keep)
        self.put(MARGIN_L, self.y, en, size=size, color=ACCENT, bold=True)
        x = MARGIN_L + self.width(en, size) + 1.8
        self.put(x, self.y + 0.35, f"/ {zh}", size=9.5, color=ACCENT)
        self.y += line_height(size) + 0.3
        self.hline(self.y, color=ACCENT, width=0.35)
        self.y += 1.8

    def lines(self, spans: Sequence[Span], width: float) -> list[_Line]:
        """Spans wrapped to `width`, one `_Line` per output line."""
        out: list[_Line] = []
        clean = self.font.clean
        for span in spans:
            text = clean(span.text)
            size = span.size
            if " " not in text and len(text) <= 48:
                # One token (a tracking number, an id): never broken across lines; set smaller
                # when it is wider than the cell, down to 60 % of its size.
                full = self.font.text_width(text, size)
                if full > width:
                    size = max(round(size * width / full - 0.05, 2), span.size * 0.6)
            step = line_height(size)
            for line in wrap(self.font, text, width, size):
                out.append(_Line(line, size, span.color, span.bold, step))
        return out

    def key_values(
        self,
        rows: Sequence[tuple[str, str, Cell]],
        *,
        label_w: float = 44.0,
        size: float = 8,
    ) -> None:
        """Label (English / 中文, muted) and value rows; values wrap."""
        label_size = 7
        step = line_height(label_size)
        for en, zh, value in rows:
            label_lines = wrap(self.font, f"{en} / {zh}", label_w - 2, label_size)
            value_lines = self.lines(_spans(value, size), CONTENT_W - label_w)
            height = max(len(label_lines) * step, sum(line.height for line in value_lines))
            self.ensure(height + 0.8)
            y = self.y
            for i, text in enumerate(label_lines):
                self.put(MARGIN_L, y + i * step + 0.35, text, size=label_size, color=MUTED)
            for line in value_lines:
                self.put(
                    MARGIN_L + label_w,
                    y,
                    line.text,
                    size=line.size,
                    color=line.color,
                    bold=line.bold,
                )
                y += line.height
            self.y += height + 0.8

    def item_table(
        self,
        items: Iterable[T],
        columns: Sequence[tuple[Column, Callable[[T], Cell]]],
        *,
        number: Column | None = None,
        size: float = 7.5,
    ) -> None:
        """`table` with a row per item, each column given with the cell it shows of an item;
        with `number`, a first column numbers the rows from 1."""
        heads = [column for column, _ in columns]
        rows: Iterable[Sequence[Cell]] = ([cell(item) for _, cell in columns] for item in items)
        if number is not None:
            heads.insert(0, number)
            rows = ([Span(str(n), 7, MUTED), *row] for n, row in enumerate(rows, start=1))
        self.table(heads, rows, size=size)

    def table(
        self,
        columns: Sequence[Column],
        rows: Iterable[Sequence[Cell]],
        *,
        size: float = 7.5,
        zebra: bool = True,
    ) -> None:
        """A table whose header repeats after each page break; rows split across pages."""
        x_positions = list(accumulate((col.width for col in columns[:-1]), initial=MARGIN_L))
        header_h = self._header_height(columns)
        self.ensure(header_h + line_height(size) + 2 * PAD)
        self._header(columns, x_positions, header_h)
        for index, row in enumerate(rows):
            cells = [
                self.lines(_spans(cell, size), col.width - 2 * PAD)
                for cell, col in zip(row, columns, strict=True)
            ]
            fill = ZEBRA if zebra and index % 2 == 1 else None
            full = max(sum(line.height for line in lines) for lines in cells) + 2 * PAD
            if self.y + full > self.bottom and self.y > self._table_top + 0.01:
                self.new_page()
                self._header(columns, x_positions, header_h)
            positions = [0] * len(cells)
            while True:
                avail = self.bottom - self.y - 2 * PAD
                chunk: list[list[_Line]] = []
                for i, lines in enumerate(cells):
                    pos = positions[i]
                    used = 0.0
                    taken: list[_Line] = []
                    while pos < len(lines) and used + lines[pos].height <= avail:
                        taken.append(lines[pos])
                        used += lines[pos].height
                        pos += 1
                    chunk.append(taken)
                    positions[i] = pos
                if any(chunk):
                    self._row(columns, x_positions, chunk, fill)
                if all(pos >= len(lines) for pos, lines in zip(positions, cells, strict=True)):
                    break
                self.new_page()
                self._header(columns, x_positions, header_h)
        self.y += 1.5

    def _row(
        self,
        columns: Sequence[Column],
        x_positions: Sequence[float],
        chunk: Sequence[Sequence[_Line]],
        fill: Color | None,
    ) -> None:
        height = max(sum(line.height for line in lines) for lines in chunk) + 2 * PAD
        if fill is not None:
            self.fill(MARGIN_L, self.y, CONTENT_W, height, fill)
        for col, x, lines in zip(columns, x_positions, chunk, strict=True):
            yy = self.y + PAD
            for line in lines:
                if col.align == "R":
                    lx = x + col.width - PAD - self.width(line.text, line.size)
                elif col.align == "C":
                    lx = x + (col.width - self.width(line.text, line.size)) / 2
                else:
                    lx = x + PAD
                self.put(lx, yy, line.text, size=line.size, color=line.color, bold=line.bold)
                yy += line.height
        self.y += height
        self.hline(self.y, color=RULE, width=0.1)

    def _header_height(self, columns: Sequence[Column]) -> float:
        count = 1
        for col in columns:
            en = len(wrap(self.font, col.en, col.width - 2 * PAD, 7)) if col.en else 0
            zh = len(wrap(self.font, col.zh, col.width - 2 * PAD, 6.5)) if col.zh else 0
            count = max(count, en + zh)
        return count * line_height(7) + 2 * PAD

    def _header(
        self, columns: Sequence[Column], x_positions: Sequence[float], height: float
    ) -> None:
        self.fill(MARGIN_L, self.y, CONTENT_W, height, HEAD_FILL)
        for col, x in zip(columns, x_positions, strict=True):
            yy = self.y + PAD
            for text, size, color, bold in (
                *(
                    (t, 7.0, INK, True)
                    for t in (wrap(self.font, col.en, col.width - 2 * PAD, 7) if col.en else [])
                ),
                *(
                    (t, 6.5, MUTED, False)
                    for t in (wrap(self.font, col.zh, col.width - 2 * PAD, 6.5) if col.zh else [])
                ),
            ):
                if col.align == "R":
                    lx = x + col.width - PAD - self.width(text, size)
                elif col.align == "C":
                    lx = x + (col.width - self.width(text, size)) / 2
                else:
                    lx = x + PAD
                self.put(lx, yy, text, size=size, color=color, bold=bold)
                yy += line_height(size)
        self.y += height
        self.hline(self.y, color=MUTED, width=0.25)
        self._table_top = self.y


def _spans(cell: Cell, size: float) -> Sequence[Span]:
    if isinstance(cell, str):
        return (Span(cell, size),)
    if isinstance(cell, Span):
        return (cell,)
    return cell
