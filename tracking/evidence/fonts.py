"""The one embedded font: metrics for layout and small per-document TrueType subsets.

The font is WenQuanYi Micro Hei (TrueType outlines; Latin, Cyrillic and CJK in one face;
Apache License 2.0, the licence travels inside every embedded subset's `name` table), shipped
on PyPI by the `paperang-p2-fonts-cjk` package, so a fresh `pip install` gets it: no system
fonts, no downloads at run time.

fpdf2 would parse the 5 MB file for every document and subset its 49,531 glyphs with fontTools
when writing: about 0.3 s a document. Here the face is parsed once per process (`get_font()`),
and a document's font program is assembled straight from the raw `glyf` bytes of the glyphs it
uses (`EvidenceFont.program`): glyph *i* of the subset is the glyph of character code *i* of
the PDF font, so the PDF needs no CIDToGIDMap stream; composite glyphs bring their components;
hinting is dropped (PDF viewers do not need it).
"""

from __future__ import annotations

import array
import functools
import importlib.resources
import io
import struct
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import accumulate, chain
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

__all__ = [
    "FONT_INDEX",
    "FONT_LICENSE",
    "FONT_NAME",
    "EvidenceFont",
    "font_path",
    "get_font",
    "get_font_ttf",
    "get_mono_font",
]

FONT_NAME = "WenQuanYi Micro Hei"
FONT_LICENSE = "Apache-2.0"
FONT_INDEX = 0
"""Index of the proportional face inside `wqy-microhei.ttc` (1 is the monospaced one)."""
MONO_INDEX = 1
"""WenQuanYi Micro Hei Mono: the same glyphs (Latin, Cyrillic, CJK) at fixed advances, for
the pretty-printed carrier responses (Latin 0.6 em, CJK 1 em)."""

_FONT_PACKAGE = "paperang_p2_fonts_cjk"
_FONT_RESOURCE = ("fonts", "wqy-microhei.ttc")
_REPLACEMENT = "\N{WHITE SQUARE}"
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")

# glyf composite flags (OpenType spec, 'glyf' table)
_ARG_1_AND_2_ARE_WORDS = 0x0001
_WE_HAVE_A_SCALE = 0x0008
_MORE_COMPONENTS = 0x0020
_WE_HAVE_AN_X_AND_Y_SCALE = 0x0040
_WE_HAVE_A_TWO_BY_TWO = 0x0080
_WE_HAVE_INSTRUCTIONS = 0x0100
_KEPT_NAME_IDS = frozenset({0, 1, 2, 3, 4, 5, 6, 13, 14})


def font_path() -> Path:
    """Path of the font collection file installed with `paperang-p2-fonts-cjk`."""
    resource = importlib.resources.files(_FONT_PACKAGE).joinpath(*_FONT_RESOURCE)
    return Path(str(resource))


@dataclass(frozen=True, slots=True)
class _GlyphData:
    """A glyph's outline bytes without hinting (padded to 4 bytes), its metrics and components."""

    data: bytes
    metrics: tuple[int, int]  # advance width, left side bearing (as uint16)
    components: tuple[int, ...] = ()
    component_offsets: tuple[int, ...] = ()  # byte offset of each component's glyph index
    checksum: int = 0  # of `data` (padded), so a glyf table's checksum is a sum of these


_EMPTY = _GlyphData(b"", (0, 0))  # a code the document does not use


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _strip_glyph(data: bytes, metrics: tuple[int, int]) -> _GlyphData:
    """Drop a glyph's TrueType instructions and list its components."""
    if len(data) < 10:
        return _GlyphData(b"", metrics)
    found = _strip(data, metrics)
    return replace(found, checksum=_checksum(found.data))


def _strip(data: bytes, metrics: tuple[int, int]) -> _GlyphData:
    contours = struct.unpack_from(">h", data, 0)[0]
    if contours >= 0:
        at = 10 + 2 * contours
        length = struct.unpack_from(">H", data, at)[0]
        if length:
            data = data[:at] + b"\x00\x00" + data[at + 2 + length :]
        return _GlyphData(_padded(data), metrics)
    components: list[int] = []
    offsets: list[int] = []
    at = 10
    while True:
        flags_at = at
        flags, gid = struct.unpack_from(">HH", data, at)
        components.append(gid)
        offsets.append(at + 2)
        at += 4 + (4 if flags & _ARG_1_AND_2_ARE_WORDS else 2)
        if flags & _WE_HAVE_A_SCALE:
            at += 2
        elif flags & _WE_HAVE_AN_X_AND_Y_SCALE:
            at += 4
        elif flags & _WE_HAVE_A_TWO_BY_TWO:
            at += 8
        if not flags & _MORE_COMPONENTS:
            break
    body = bytearray(data[:at])
    struct.pack_into(">H", body, flags_at, flags & ~_WE_HAVE_INSTRUCTIONS)
    return _GlyphData(_padded(bytes(body)), metrics, tuple(components), tuple(offsets))


def _checksum(data: bytes) -> int:
    padded = data + b"\x00" * (-len(data) % 4)
    words = array.array("I", padded)
    if sys.byteorder == "little":
        words.byteswap()
    return sum(words) & 0xFFFFFFFF


def _sfnt(tables: dict[bytes, bytes], sums: dict[bytes, int] | None = None) -> bytes:
    """An sfnt (TrueType) file of `tables`, with checksums and head.checkSumAdjustment.

    `sums` gives table checksums already known. The file's checksum is the sum of the
    directory's and the tables' (every table starts on a 4-byte boundary), so the whole file
    is never summed again.
    """
    sums = sums or {}
    tags = sorted(tables)
    count = len(tags)
    power = 1
    while power * 2 <= count:
        power *= 2
    search_range = power * 16
    header = struct.pack(
        ">IHHHH", 0x00010000, count, search_range, power.bit_length() - 1, count * 16 - search_range
    )
    directory = bytearray()
    body = bytearray()
    offset = 12 + 16 * count
    head_at = 0
    total = 0
    for tag in tags:
        data = tables[tag]
        if tag == b"head":
            head_at = offset + len(body)
        checksum = sums[tag] if tag in sums else _checksum(data)
        total += checksum
        directory += struct.pack(">4sIII", tag, checksum, offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    font = bytearray(header + directory + body)
    total += _checksum(bytes(header + directory))
    adjustment = (0xB1B0AFBA - total) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + 8, adjustment)
    return bytes(font)


def _words(values: Iterable[int]) -> bytes:
    words = array.array("H", values)
    if sys.byteorder == "little":
        words.byteswap()
    return words.tobytes()


def _cmap(pairs: list[tuple[int, int]]) -> bytes:
    """A cmap table (format 4, plus format 12 when needed) for sorted (unicode, glyph) pairs."""
    bmp = [(u, g) for u, g in pairs if u < 0xFFFF][:8000]
    segments = [*bmp, (0xFFFF, 0)]
    seg_count = len(segments)
    power = 1
    while power * 2 <= seg_count:
        power *= 2
    ends = _words(u for u, _ in segments)
    deltas = _words((g - u) & 0xFFFF if u != 0xFFFF else 1 for u, g in segments)
    header = struct.pack(
        ">HHHHHHH",
        4,
        16 + 8 * seg_count,
        0,
        seg_count * 2,
        power * 2,
        power.bit_length() - 1,
        seg_count * 2 - power * 2,
    )
    fmt4 = header + ends + b"\x00\x00" + ends + deltas + b"\x00\x00" * seg_count
    subtables = [(3, 1, fmt4)]
    if len(bmp) < len(pairs):
        groups = b"".join(struct.pack(">III", u, u, g) for u, g in pairs)
        fmt12 = struct.pack(">HHIII", 12, 0, 16 + len(groups), 0, len(pairs)) + groups
        subtables.append((3, 10, fmt12))
    head = struct.pack(">HH", 0, len(subtables))
    offset = 4 + 8 * len(subtables)
    records = b""
    data = b""
    for platform, encoding, table in subtables:
        records += struct.pack(">HHI", platform, encoding, offset + len(data))
        data += table
    return head + records + data


class EvidenceFont:
    """The parsed font: metrics for layout and per-document font programs."""

    def __init__(self, path: Path, *, index: int = FONT_INDEX) -> None:
        self.path = path
        self.index = index
        face = TTFont(str(path), fontNumber=index, lazy=True, recalcTimestamp=False)
        head = face["head"]
        self.units_per_em = int(head.unitsPerEm)
        scale = 1000 / self.units_per_em
        order = face.getGlyphOrder()
        gid_of = {name: gid for gid, name in enumerate(order)}
        metrics = face["hmtx"].metrics
        cmap: dict[int, str] = face.getBestCmap()
        self.name = str(face["name"].getDebugName(6) or FONT_NAME).replace(" ", "")
        self.version = str(face["name"].getDebugName(5) or "")
        self.ascent = float(face["hhea"].ascent) / self.units_per_em
        self.descent = float(face["hhea"].descent) / self.units_per_em
        self.cap_height = (
            getattr(face["OS/2"], "sCapHeight", face["hhea"].ascent) / self.units_per_em
        )
        self.bbox: tuple[int, ...] = tuple(
            round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)
        )
        self.italic_angle = float(face["post"].italicAngle)
        self.weight = int(face["OS/2"].usWeightClass)
        # layout: advance widths in 1/1000 em per character
        self.default_width = int(metrics[".notdef"][0] * scale + 0.5)
        self.widths: dict[str, int] = {}
        self.gid_of_char: dict[str, int] = {}
        for code, name in cmap.items():
            if code < 0x20 or 0x7F <= code < 0xA0:
                continue  # control characters: `clean` turns them into spaces
            char = chr(code)
            self.widths[char] = int(metrics[name][0] * scale + 0.501)
            self.gid_of_char[char] = int(gid_of[name])
        self._chars = frozenset(self.widths)
        # font program pieces
        reader = face.reader
        self.glyf_offset = int(reader.tables[b"glyf"].offset if b"glyf" in reader.tables else -1)
        self._glyf = bytes(reader["glyf"])
        long_loca = bool(head.indexToLocFormat)
        loca = array.array("I" if long_loca else "H")
        loca.frombytes(bytes(reader["loca"]))
        if sys.byteorder == "little":
            loca.byteswap()
        self._loca = list(loca) if long_loca else [2 * x for x in loca]
        self._advances: list[tuple[int, int]] = [metrics[name] for name in order]
        self._head = bytearray(reader["head"])
        struct.pack_into(">I", self._head, 8, 0)  # checkSumAdjustment, recomputed
        struct.pack_into(">h", self._head, 50, 1)  # indexToLocFormat: long offsets
        self._hhea = bytes(reader["hhea"])
        self._maxp = bytes(reader["maxp"])
        self._os2 = bytes(reader["OS/2"])
        post = bytearray(bytes(reader["post"])[:32])
        struct.pack_into(">I", post, 0, 0x00030000)  # format 3: no glyph names
        self._post = bytes(post)
        name_table = face["name"]
        name_table.names = [
            record
            for record in name_table.names
            if record.platformID == 3 and record.langID == 0x409 and record.nameID in _KEPT_NAME_IDS
        ]
        self._name: bytes = name_table.compile(face)
        self._sums = {  # checksums of the tables every subset copies unchanged
            tag: _checksum(data)
            for tag, data in (
                (b"OS/2", self._os2),
                (b"head", bytes(self._head)),
                (b"name", self._name),
                (b"post", self._post),
            )
        }
        self._glyph_cache: dict[int, _GlyphData] = {}
        self._lock = threading.Lock()
        face.close()

    # -- layout -------------------------------------------------------------------------

    def has(self, char: str) -> bool:
        """Whether the font has a glyph for `char`."""
        return char in self.widths

    def clean(self, text: str) -> str:
        """`text` with control characters as spaces and characters the font lacks as □."""
        if self._chars.issuperset(text):
            return text
        widths = self.widths
        out = []
        for c in text:
            if c in widths:
                out.append(c)
            elif c in _INVISIBLE:
                continue
            elif c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0:
                out.append(" ")
            else:
                out.append(_REPLACEMENT)
        return "".join(out)

    def text_width(self, text: str, size_pt: float) -> float:
        """Advance width of `text` at `size_pt`, in millimetres."""
        get = self.widths.get
        default = self.default_width
        return sum([get(c, default) for c in text]) * size_pt * (25.4 / 72_000)

    # -- font programs ------------------------------------------------------------------

    def _glyph(self, gid: int) -> _GlyphData:
        found = self._glyph_cache.get(gid)
        if found is None:
            advance, lsb = self._advances[gid]
            found = _strip_glyph(
                self._glyf[self._loca[gid] : self._loca[gid + 1]], (advance, lsb & 0xFFFF)
            )
            with self._lock:
                self._glyph_cache[gid] = found
        return found

    def shares_glyphs(self, other: EvidenceFont) -> bool:
        """Whether `other` is a face of the same collection drawing from the same glyf table
        (WenQuanYi Micro Hei and its Mono face do: only their cmaps differ)."""
        return self.path == other.path and self.glyf_offset == other.glyf_offset >= 0

    def program(self, codes: Iterable[tuple[int, str]]) -> bytes:
        """A TrueType font whose glyph *code* draws character *char*, for (code, char) pairs.

        Codes absent from `codes` (and code 0) get an empty glyph; composite glyphs get
        their components appended after the highest code.
        """
        get = self.gid_of_char.get
        return self.program_glyphs((code, get(char), ord(char)) for code, char in codes)

    def program_glyphs(self, glyphs: Iterable[tuple[int, int | None, int]]) -> bytes:
        """`program` for (code, glyph id, unicode) triples: glyph ids of this face, or of a
        face that `shares_glyphs` with it. A unicode already given keeps its first code."""
        by_code: dict[int, int] = {0: 0}
        unicode_of: dict[int, int] = {}
        seen: set[int] = set()
        for code, gid, unicode in glyphs:
            if gid is None or code <= 0:
                continue
            by_code[code] = gid
            if unicode not in seen:
                seen.add(unicode)
                unicode_of[code] = unicode
        count = max(by_code) + 1
        new_of: dict[int, int] = {}
        for code, gid in sorted(by_code.items()):
            new_of.setdefault(gid, code)
        extra: list[int] = []
        glyph = self._glyph
        cache = self._glyph_cache
        infos: dict[int, _GlyphData] = {}
        for gid in by_code.values():
            found = cache.get(gid)
            infos[gid] = found if found is not None else glyph(gid)
        stack = [gid for gid, info in infos.items() if info.components]
        while stack:
            gid = stack.pop()
            for component in infos[gid].components:
                if component not in new_of:
                    new_of[component] = count + len(extra)
                    extra.append(component)
                    infos[component] = glyph(component)
                    stack.append(component)
        get = by_code.get
        slots = [infos[g] if (g := get(code)) is not None else _EMPTY for code in range(count)]
        slots.extend(infos[gid] for gid in extra)
        pieces = [info.data for info in slots]
        glyf_sum = sum([info.checksum for info in slots])
        pack = struct.pack_into
        for i, info in enumerate(slots):
            if info.components:  # component glyph ids renumbered to this subset's
                body = bytearray(info.data)
                for offset, component in zip(info.component_offsets, info.components, strict=True):
                    new = new_of[component]
                    pack(">H", body, offset, new)
                    # the checksum sums big-endian 32-bit words; offsets are even
                    glyf_sum += (new - component) << (16 if offset % 4 == 0 else 0)
                pieces[i] = bytes(body)
        offsets = list(accumulate(map(len, pieces), initial=0))
        metrics = list(chain.from_iterable([info.metrics for info in slots]))
        loca = array.array("I", offsets)
        hmtx = array.array("H", metrics)
        if sys.byteorder == "little":
            loca.byteswap()
            hmtx.byteswap()
        total = len(slots)
        hhea = bytearray(self._hhea)
        struct.pack_into(">H", hhea, 34, total)
        maxp = bytearray(self._maxp)
        struct.pack_into(">H", maxp, 4, total)
        return _sfnt(
            {
                b"OS/2": self._os2,
                b"cmap": _cmap(sorted((u, code) for code, u in unicode_of.items())),
                b"glyf": b"".join(pieces),
                b"head": bytes(self._head),
                b"hhea": bytes(hhea),
                b"hmtx": hmtx.tobytes(),
                b"loca": loca.tobytes(),
                b"maxp": bytes(maxp),
                b"name": self._name,
                b"post": self._post,
            },
            {**self._sums, b"glyf": glyf_sum & 0xFFFFFFFF},
        )


@functools.cache
def get_font() -> EvidenceFont:
    """The process-wide parsed evidence font (parsed on first use, a fraction of a second)."""
    return EvidenceFont(font_path())


@functools.cache
def get_mono_font() -> EvidenceFont:
    """The process-wide monospaced face of the same collection (raw carrier responses)."""
    return EvidenceFont(font_path(), index=MONO_INDEX)


@functools.cache
def get_font_ttf() -> bytes:
    """The evidence font's Chinese face as one TrueType file (browsers take no collection):
    what the console serves to a browser that has no Chinese font of its own."""
    face = TTFont(str(font_path()), fontNumber=FONT_INDEX, recalcTimestamp=False)
    buffer = io.BytesIO()
    face.save(buffer)
    return buffer.getvalue()
