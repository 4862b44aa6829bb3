"""Writes `tracking.evidence.layout` display lists as PDF files with fpdf2.

fpdf2 builds the document structure (pages, resources, metadata, cross-reference table);
the page content is emitted here as plain PDF operators, and the font is embedded as a
Type0/CIDFontType2 font whose program `EvidenceFont.program` assembles for exactly the
characters used (character code = glyph index, so CIDToGIDMap is /Identity). fpdf2 has no
public hook for either, so this module uses its output producer and resource catalog
(hence `fpdf2>=2.8.9,<2.9` in pyproject.toml); nothing else in the package does.

Every page gets a running header (Evidence Reference ID, and the part number of a split
document) and footer (what the document is, page n / N), drawn when the page count is known.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import FontDescriptorFlags, PDFResourceType
from fpdf.fonts import PDFFontDescriptor
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream
from fpdf.syntax import Name, PDFArray, PDFContentStream

from tracking.core.exceptions import InputError
from tracking.evidence.fonts import EvidenceFont
from tracking.evidence.layout import (
    INK,
    MARGIN_B,
    MARGIN_L,
    MARGIN_R,
    MUTED,
    PAGE_H,
    PAGE_W,
    PT,
    RULE,
    Color,
    Op,
    line_height,
    wrap,
)

__all__ = ["DocMeta", "write_parts", "write_pdf"]

_K = 72 / 25.4  # points per mm
_FONT_INDEX = 1  # the only font of every evidence PDF: /F1 (text and monospaced codes)
_SUBSET_TAG = "TEVAAA"
_PAGE_LEVEL = 1
_HEX = [f"{code:04X}" for code in range(0x10000)]  # character code -> its 4 hex digits


@dataclass(frozen=True, slots=True)
class DocMeta:
    """Document metadata and the running header/footer texts."""

    title: str
    subject: str
    author: str
    keywords: str
    creator: str
    created_at: datetime
    header_left: str
    header_right: str
    footer_note: str
    lang: str = "en"
    seller: str = ""  # printed on every page, exactly as given (wrapped, never cut)


class _DocFont:
    """Character codes of one PDF's font, assigned in order of first use (0 is .notdef).

    With `mono`, a face sharing the text face's glyph table (`EvidenceFont.shares_glyphs`),
    monospaced text gets codes of its own in the same font: its glyphs and advance widths
    come from the mono face, so one embedded subset serves both.
    """

    def __init__(self, font: EvidenceFont, mono: EvidenceFont | None = None) -> None:
        if mono is not None and not font.shares_glyphs(mono):
            raise ValueError(f"{mono.name} does not share the glyphs of {font.name}")
        self.font = font
        self.mono = mono
        # code points -> hex codes, as `str.translate` tables
        self.codes: dict[int, str] = {}
        self.mono_codes: dict[int, str] = {}
        self.order: list[str] = []  # the character of each code
        self.gids: list[int | None] = []
        self.widths: list[int] = []
        self.seen: dict[str, str] = {}  # text -> its codes (labels repeat on every page)

    def _add(self, face: EvidenceFont, char: str) -> str:
        self.order.append(char)
        self.gids.append(face.gid_of_char.get(char))
        self.widths.append(face.widths.get(char, face.default_width))
        return _HEX[len(self.order)]

    def encode(self, text: str) -> str:
        """`text` as hex codes of the text face (a text seen before costs one lookup)."""
        found = self.seen.get(text)
        if found is None:
            found = self.seen[text] = self._encode(text, self.codes, self.font)
        return found

    def encode_mono(self, text: str) -> str:
        """`text` as hex codes of the monospaced face."""
        assert self.mono is not None
        return self._encode(text, self.mono_codes, self.mono)

    def _encode(self, text: str, codes: dict[int, str], face: EvidenceFont) -> str:
        out = text.translate(codes)
        if len(out) == 4 * len(text):  # every character has its 4-digit code already
            return out
        font = self.font
        for c in dict.fromkeys(text):
            if ord(c) not in codes:
                if face is not font and self._same_glyph(c):
                    # CJK: the same glyph at the same width in both faces, one code for both
                    codes[ord(c)] = self.codes.get(ord(c)) or self._encode(c, self.codes, font)
                else:
                    codes[ord(c)] = self._add(face, c)
        return text.translate(codes)

    def _same_glyph(self, char: str) -> bool:
        mono, font = self.mono, self.font
        assert mono is not None
        gid = mono.gid_of_char.get(char)
        return (
            gid is not None
            and gid == font.gid_of_char.get(char)
            and mono.widths.get(char) == font.widths.get(char)
        )


class _FontStream(PDFFontStream):
    """The embedded font program, compressed fast (level 1 costs about 3 % in size)."""

    _COMPRESSION_LEVEL = 1


class _EvidencePDF(FPDF):
    """An FPDF that carries its evidence font."""

    doc_font: _DocFont


class _Stream1(PDFContentStream):
    """A content stream compressed fast (zlib level 1: a few % larger, several times faster)."""

    _COMPRESSION_LEVEL = 1


class _Producer(OutputProducer):
    """fpdf2's output producer, plus the evidence font objects; page content is compressed at
    zlib level 1 (the document is written with `compress=False`, pages compressed here)."""

    def _add_pages(self, _slice: slice = slice(0, None)) -> Any:
        pages = super()._add_pages(_slice)
        for page in pages:
            stream = page.contents
            if isinstance(stream, PDFContentStream) and stream.filter is None:
                packed = zlib.compress(stream.content_stream(), _PAGE_LEVEL)
                stream._contents = packed
                stream.filter = Name("FlateDecode")
                stream.length = len(packed)
        return pages

    def _add_fonts(self, *args: Any, **kwargs: Any) -> Any:
        fonts = super()._add_fonts(*args, **kwargs)
        pdf = self.fpdf
        if isinstance(pdf, _EvidencePDF) and pdf.doc_font.order:
            fonts[_FONT_INDEX] = self._add_evidence_font(pdf.doc_font)
        return fonts

    def _add_evidence_font(self, doc_font: _DocFont) -> PDFFont:
        font = doc_font.font
        chars = doc_font.order
        name = f"{_SUBSET_TAG}+{font.name}"
        widths = " ".join(map(str, doc_font.widths))
        composite = PDFFont(subtype="Type0", base_font=name, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(
            subtype="CIDFontType2", base_font=name, d_w=font.default_width, w=f"[1 [{widths}]]"
        )
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])
        entries = [f"<{i:04X}> <{_utf16(c)}>" for i, c in enumerate(chars, start=1)]
        blocks = []
        for start in range(0, len(entries), 100):
            block = entries[start : start + 100]
            blocks.append(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar\n")
        to_unicode = _Stream1(
            (
                "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
                "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
                + "".join(blocks)
                + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
            ).encode("latin-1"),
            compress=True,
        )
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = PDFFontDescriptor(
            ascent=round(font.ascent * 1000),
            descent=round(font.descent * 1000),
            cap_height=round(font.cap_height * 1000),
            flags=FontDescriptorFlags.SYMBOLIC,
            font_b_box="[{} {} {} {}]".format(*font.bbox),
            italic_angle=int(font.italic_angle),
            stem_v=round(50 + int(pow(font.weight / 65, 2))),
            missing_width=font.default_width,
        )
        descriptor.font_name = Name(name)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]
        program = _FontStream(
            contents=font.program_glyphs(
                (code, gid, ord(char))
                for code, (gid, char) in enumerate(zip(doc_font.gids, chars, strict=True), 1)
            )
        )
        self._add_pdf_obj(program, "fonts")
        descriptor.font_file2 = program  # type: ignore[attr-defined]
        return composite


@functools.cache
def _rgb(color: Color) -> str:
    return "{:.3f} {:.3f} {:.3f}".format(*(c / 255 for c in color))


@functools.cache
def _utf16(char: str) -> str:
    return char.encode("utf-16-be").hex().upper()


class _Stream:
    """PDF operators of one page, with the graphics state tracked to skip redundant ones."""

    def __init__(self, doc_font: _DocFont) -> None:
        self.doc_font = doc_font
        self.out: list[str] = []
        self.fill: Color | None = None
        self.stroke: Color | None = None
        self.line_width = -1.0
        self.size = -1.0
        self.mode = 0

    def _fill(self, color: Color) -> None:
        if color != self.fill:
            self.fill = color
            self.out.append(_rgb(color) + " rg")

    def _stroke(self, color: Color, width: float) -> None:
        if color != self.stroke:
            self.stroke = color
            self.out.append(_rgb(color) + " RG")
        if width != self.line_width:
            self.line_width = width
            self.out.append(f"{width:.2f} w")

    def text(
        self, x: float, baseline: float, size: float, color: Color, bold: bool, text: str
    ) -> None:
        self._fill(color)
        state = ""
        if size != self.size:
            self.size = size
            state += f"/F{_FONT_INDEX} {size:.2f} Tf "
        if bold:
            self._stroke(color, round(size * 0.02, 2))
            if self.mode != 2:
                self.mode = 2
                state += "2 Tr "
        elif self.mode != 0:
            self.mode = 0
            state += "0 Tr "
        self.out.append(
            f"BT {state}{x * _K:.2f} {(PAGE_H - baseline) * _K:.2f} Td "
            f"<{self.doc_font.encode(text)}> Tj ET"
        )

    def mono(self, x: float, baseline: float, size: float, color: Color, text: str) -> None:
        """A line of the monospaced face (never bold): its own codes in the same font."""
        self._fill(color)
        state = ""
        if size != self.size:
            self.size = size
            state += f"/F{_FONT_INDEX} {size:.2f} Tf "
        if self.mode != 0:
            self.mode = 0
            state += "0 Tr "
        self.out.append(
            f"BT {state}{x * _K:.2f} {(PAGE_H - baseline) * _K:.2f} Td "
            f"<{self.doc_font.encode_mono(text)}> Tj ET"
        )

    def grid(self, color: Color, x: float, y: float, step: float, runs: str) -> None:
        """Boxes given in units of `step` mm from (x, y) downwards (a QR code's modules)."""
        self._fill(color)
        scale = step * _K
        self.out.append(
            f"q {scale:.4f} 0 0 {-scale:.4f} {x * _K:.2f} {(PAGE_H - y) * _K:.2f} cm {runs} f Q"
        )

    def rect(self, x: float, y: float, w: float, h: float, color: Color) -> None:
        self._fill(color)
        self.out.append(f"{x * _K:.2f} {(PAGE_H - y - h) * _K:.2f} {w * _K:.2f} {h * _K:.2f} re f")

    def rects(self, color: Color, boxes: Sequence[tuple[float, float, float, float]]) -> None:
        self._fill(color)
        self.out.append(
            " ".join(
                f"{x * _K:.2f} {(PAGE_H - y - h) * _K:.2f} {w * _K:.2f} {h * _K:.2f} re"
                for x, y, w, h in boxes
            )
            + " f"
        )

    def line(self, x0: float, y0: float, x1: float, y1: float, color: Color, width: float) -> None:
        self._stroke(color, round(width * _K, 2))
        self.out.append(
            f"{x0 * _K:.2f} {(PAGE_H - y0) * _K:.2f} m {x1 * _K:.2f} {(PAGE_H - y1) * _K:.2f} l S"
        )

    def ops(self, ops: Sequence[Op]) -> None:
        text, rect, line = self.text, self.rect, self.line
        for op in ops:
            kind = op[0]
            if kind == "T":
                text(*op[1:])  # type: ignore[arg-type]
            elif kind == "R":
                rect(*op[1:])  # type: ignore[arg-type]
            elif kind == "P":
                self.rects(*op[1:])  # type: ignore[arg-type]
            elif kind == "M":
                self.mono(*op[1:])  # type: ignore[arg-type]
            elif kind == "G":
                self.grid(*op[1:])  # type: ignore[arg-type]
            else:
                line(*op[1:])  # type: ignore[arg-type]


def _decorations(
    font: EvidenceFont, meta: DocMeta, *, page: int, pages: int, part: int, parts: int
) -> list[Op]:
    """Running header and footer of one page."""
    ops: list[Op] = []
    ascent = font.ascent + 0.14

    def put(x: float, y: float, text: str, size: float, color: Color = MUTED) -> None:
        ops.append(("T", x, y + size * PT * ascent, size, color, False, font.clean(text)))

    top = 6.5
    left = meta.header_left
    if parts > 1:
        left = f"{left} · Part {part} of {parts} / 第 {part} 部分，共 {parts} 部分"
    right = meta.header_right
    right_w = font.text_width(right, 6.5)
    left_lines = wrap(font, left, PAGE_W - MARGIN_L - MARGIN_R - right_w - 6, 6.5)
    put(MARGIN_L, top, left_lines[0], 6.5)
    put(PAGE_W - MARGIN_R - right_w, top, right, 6.5)
    ops.append(("L", MARGIN_L, top + 3.5, PAGE_W - MARGIN_R, top + 3.5, RULE, 0.2))
    y = PAGE_H - MARGIN_B + 2.6
    ops.append(("L", MARGIN_L, y - 1.0, PAGE_W - MARGIN_R, y - 1.0, RULE, 0.2))
    number = f"Page {page} / {pages}"
    number_w = font.text_width(number, 6.5)
    width = PAGE_W - MARGIN_L - MARGIN_R - number_w - 6
    lines = [(t, INK) for t in (wrap(font, meta.seller, width, 6.5) if meta.seller else [])]
    lines += [(t, MUTED) for t in wrap(font, meta.footer_note, width, 6)[: 4 - len(lines)]]
    for i, (text, color) in enumerate(lines):
        put(MARGIN_L, y + i * line_height(6), text, 6, color)
    put(PAGE_W - MARGIN_R - number_w, y, number, 6.5)
    return ops


def write_pdf(
    pages: Sequence[Sequence[Op]],
    *,
    font: EvidenceFont,
    meta: DocMeta,
    part: int = 1,
    parts: int = 1,
    mono: EvidenceFont | None = None,
) -> bytes:
    """One PDF file of `pages` (display lists), as part `part` of `parts`.

    `mono` is the monospaced font of "M" operations (raw carrier responses).
    """
    pdf = _EvidencePDF(unit="mm", format="A4")
    pdf.doc_font = _DocFont(font, mono)
    pdf.set_auto_page_break(False)
    pdf.set_compression(False)  # pages are compressed by `_Producer._add_pages`
    pdf.set_creation_date(meta.created_at)
    pdf.set_title(meta.title)
    pdf.set_subject(meta.subject)
    pdf.set_author(meta.author)
    pdf.set_keywords(meta.keywords)
    pdf.set_creator(meta.creator)
    pdf.set_producer(meta.creator)
    pdf.set_lang(meta.lang)
    catalog = pdf._resource_catalog
    total = len(pages)
    for number, ops in enumerate(pages, start=1):
        pdf.add_page()
        catalog.add(PDFResourceType.FONT, _FONT_INDEX, pdf.page)
        stream = _Stream(pdf.doc_font)
        stream.out.append("0 J")
        stream.ops(ops)
        stream.ops(_decorations(font, meta, page=number, pages=total, part=part, parts=parts))
        pdf._out("\n".join(stream.out))
    return bytes(pdf.output(output_producer_class=_Producer))


def write_parts(
    pages: Sequence[Sequence[Op]],
    *,
    font: EvidenceFont,
    meta: DocMeta,
    max_bytes: int,
    what: str,
    mono: EvidenceFont | None = None,
) -> list[bytes]:
    """`pages` as one PDF, or as numbered parts of whole pages when one would exceed `max_bytes`."""
    whole = write_pdf(pages, font=font, meta=meta, mono=mono)
    if len(whole) <= max_bytes:
        return [whole]
    count = len(pages)
    per = max(1, math.floor(count * max_bytes / len(whole) * 0.9))
    while True:
        total = math.ceil(count / per)
        parts = [
            write_pdf(
                pages[i * per : (i + 1) * per],
                font=font,
                meta=meta,
                part=i + 1,
                parts=total,
                mono=mono,
            )
            for i in range(total)
        ]
        if all(len(part) <= max_bytes for part in parts):
            return parts
        if per == 1:
            biggest = max(len(part) for part in parts)
            raise InputError(
                f"{what}: one page needs {biggest} bytes, more than the {max_bytes}-byte file limit"
            )
        per = max(1, math.floor(per * 0.75))
