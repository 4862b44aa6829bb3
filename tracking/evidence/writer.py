"""Writes `tracking.evidence.layout` display lists as PDF files with pikepdf (qpdf).

The page content is emitted here as plain PDF operators, and the font is embedded as a
Type0/CIDFontType2 font whose program `EvidenceFont.program_glyphs` assembles for exactly the
characters used (character code = glyph index, so CIDToGIDMap is /Identity). pikepdf's public
object API (`Dictionary`, `Stream.write`, `Pdf.save`) builds the document around them:
pages, resources, metadata, cross-reference stream, a content-derived /ID.

Why not fpdf2 (used until 2026-12): its public API takes a font only as a file path, parses
the 5 MB WenQuanYi collection and subsets it with fontTools for every document (0.67 s a
document measured, against about 10 ms here), and offers no way to emit page operators, so
this module had to drive its private output producer (hence a `<2.9` pin). pikepdf's object
model is public and stable, and qpdf writes it in C++.

Every page gets a running header (Evidence Reference ID, and the part number of a split
document) and footer (what the document is, page n / N), drawn when the page count is known.
"""

from __future__ import annotations

import functools
import io
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pikepdf
from pikepdf import Name

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
_FONT = f"/F{_FONT_INDEX}"
_MEDIA_BOX = (0, 0, round(PAGE_W * _K, 2), round(PAGE_H * _K, 2))  # A4 in points
_SUBSET_TAG = "TEVAAA"
_LEVEL = 1  # zlib level of every stream: a few % larger than level 6, several times faster
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


def _flate(pdf: pikepdf.Pdf, data: bytes, **entries: Any) -> pikepdf.Stream:
    """A stream of `data`, compressed here at zlib level 1 (a few % larger than the default
    level, several times faster); pikepdf writes the bytes as given (`Stream.write` with the
    filter they are already encoded with)."""
    stream = pikepdf.Stream(pdf, b"", **entries)
    stream.write(zlib.compress(data, _LEVEL), filter=Name.FlateDecode)
    return stream


def _font_objects(pdf: pikepdf.Pdf, doc_font: _DocFont) -> pikepdf.Dictionary:
    """The Type0 font of a document: a CIDFontType2 (character code = CID = glyph index of the
    embedded subset, so /CIDToGIDMap /Identity), its widths, its ToUnicode CMap (text can be
    copied and searched) and the subset's TrueType program (`EvidenceFont.program_glyphs`)."""
    font = doc_font.font
    chars = doc_font.order
    name = Name("/" + f"{_SUBSET_TAG}+{font.name}")
    entries = [f"<{i:04X}> <{_utf16(c)}>" for i, c in enumerate(chars, start=1)]
    blocks = []
    for start in range(0, len(entries), 100):
        block = entries[start : start + 100]
        blocks.append(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar\n")
    to_unicode = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "".join(blocks)
        + "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode("latin-1")
    program = font.program_glyphs(
        (code, gid, ord(char))
        for code, (gid, char) in enumerate(zip(doc_font.gids, chars, strict=True), 1)
    )
    descriptor = pikepdf.Dictionary(
        Type=Name.FontDescriptor,
        FontName=name,
        Flags=4,  # symbolic: glyphs outside the standard Latin set
        FontBBox=pikepdf.Array(font.bbox),
        ItalicAngle=int(font.italic_angle),
        Ascent=round(font.ascent * 1000),
        Descent=round(font.descent * 1000),
        CapHeight=round(font.cap_height * 1000),
        StemV=round(50 + int(pow(font.weight / 65, 2))),
        MissingWidth=font.default_width,
        FontFile2=_flate(pdf, program, Length1=len(program)),
    )
    cid_font = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=name,
        CIDSystemInfo=pikepdf.Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("UCS"), Supplement=0
        ),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=font.default_width,
        W=pikepdf.Array([1, pikepdf.Array(doc_font.widths)]),
        CIDToGIDMap=Name.Identity,
    )
    composite = pikepdf.Dictionary(
        Type=Name.Font,
        Subtype=Name.Type0,
        BaseFont=name,
        Encoding=Name("/Identity-H"),
        DescendantFonts=pikepdf.Array([pdf.make_indirect(cid_font)]),
        ToUnicode=_flate(pdf, to_unicode),
    )
    return pdf.make_indirect(composite)


def _pdf_date(moment: datetime) -> pikepdf.String:
    """A PDF date string (ISO 32000-1 §7.9.4): `D:20240902083000Z`, or `+08'00'` when not UTC."""
    offset = moment.utcoffset()
    stamp = moment.strftime("D:%Y%m%d%H%M%S")
    if offset is None or not offset:
        return pikepdf.String(stamp + "Z")
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    return pikepdf.String(f"{stamp}{sign}{hours:02d}'{minutes:02d}'")


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
        self._show(x, baseline, size, color, bold, self.doc_font.encode(text))

    def mono(self, x: float, baseline: float, size: float, color: Color, text: str) -> None:
        """A line of the monospaced face (never bold): its own codes in the same font."""
        self._show(x, baseline, size, color, False, self.doc_font.encode_mono(text))

    def _show(
        self, x: float, baseline: float, size: float, color: Color, bold: bool, codes: str
    ) -> None:
        """Glyph codes (hex) at (x, baseline), switching size and render mode only as needed."""
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
        self.out.append(f"BT {state}{x * _K:.2f} {(PAGE_H - baseline) * _K:.2f} Td <{codes}> Tj ET")

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
        """Draw display-list operations (`tracking.evidence.layout`: kind, then arguments)."""
        draw: dict[object, Callable[..., None]] = {
            "T": self.text,
            "R": self.rect,
            "P": self.rects,
            "M": self.mono,
            "G": self.grid,
            "L": self.line,
        }
        for op in ops:
            draw[op[0]](*op[1:])


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
    doc_font = _DocFont(font, mono)
    contents: list[bytes] = []
    total = len(pages)
    for number, ops in enumerate(pages, start=1):
        stream = _Stream(doc_font)
        stream.out.append("0 J")
        stream.ops(ops)
        stream.ops(_decorations(font, meta, page=number, pages=total, part=part, parts=parts))
        contents.append("\n".join(stream.out).encode("latin-1"))
    with pikepdf.new() as pdf:
        return _document(pdf, contents, doc_font, meta)


def _document(pdf: pikepdf.Pdf, contents: list[bytes], doc_font: _DocFont, meta: DocMeta) -> bytes:
    """The PDF file of pages already drawn (`contents`) and the font their text uses."""
    # Every page draws with the one font, built once the pages have assigned its codes.
    resources = pdf.make_indirect(
        pikepdf.Dictionary(Font=pikepdf.Dictionary({_FONT: _font_objects(pdf, doc_font)}))
    )
    for content in contents:
        page = pikepdf.Dictionary(
            Type=Name.Page,
            MediaBox=pikepdf.Array(_MEDIA_BOX),
            Resources=resources,
            Contents=_flate(pdf, content),
        )
        pdf.pages.append(pikepdf.Page(page))
    info = pdf.docinfo
    for key, value in (
        ("/Title", meta.title),
        ("/Subject", meta.subject),
        ("/Author", meta.author),
        ("/Keywords", meta.keywords),
        ("/Creator", meta.creator),
        ("/Producer", meta.creator),
    ):
        info[key] = pikepdf.String(value)
    info[Name.CreationDate] = _pdf_date(meta.created_at)
    pdf.Root.Lang = pikepdf.String(meta.lang)
    pdf.Root.PageLayout = Name.OneColumn
    if contents:
        pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, Name.FitH, None])
    out = io.BytesIO()
    pdf.save(
        out,
        # the streams are compressed already; qpdf writes them as they are
        compress_streams=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        object_stream_mode=pikepdf.ObjectStreamMode.generate,
        # /ID from the content, not the clock: the same evidence gives the same bytes
        deterministic_id=True,
    )
    return out.getvalue()


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
