"""Sniffing a CSV export: what the bytes are, their encoding, separator and header row."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Final

import charset_normalizer

from tracking.core.exceptions import InputError
from tracking.ingest.dates import _learn_day_first
from tracking.ingest.headers import (
    _HEADER_PAREN,
    _REQUIRED,
    columns_for,
    missing_columns,
    no_tracking,
)
from tracking.ingest.model import (
    _DELIMITERS,
    _HEADER_SCAN_RECORDS,
    _LEARN_RECORDS,
    _VERIFY_CHUNK,
    SAMPLE_BYTES,
)
from tracking.ingest.profiles import ExportProfile
from tracking.ingest.values import _currency, _learn_decimal_comma

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"BM", ""),  # checked below: a BMP only when its header is consistent
)
_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BIG5: Final = frozenset({"big5", "big5hkscs", "cp950"})
_CJK_ENCODINGS: Final = frozenset(
    {
        "gb2312",
        "gbk",
        "gb18030",
        "hz",
        "big5",
        "big5hkscs",
        "cp950",
        "cp936",
        "euc_jp",
        "euc_jis_2004",
        "euc_jisx0213",
        "shift_jis",
        "shift_jis_2004",
        "shift_jisx0213",
        "cp932",
        "euc_kr",
        "cp949",
        "johab",
        "iso2022_jp",
        "iso2022_kr",
    }
)


def _magic_problem(head: bytes) -> str | None:
    """What the file is when its first bytes say it is not text; None otherwise."""
    if head.startswith(_ZIP):
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return (
                "this is an Excel workbook (.xlsx), not a CSV file; open it in Excel and save"
                " it as CSV (File > Save As > CSV UTF-8)"
            )
        if b"opendocument.spreadsheet" in head:
            return "this is an OpenDocument spreadsheet (.ods), not a CSV file; save it as CSV"
        return "this is a ZIP archive, not a CSV file; extract the CSV from it first"
    if head.startswith(_OLE2):
        return (
            "this is an old Excel workbook (.xls), not a CSV file; open it in Excel and save"
            " it as CSV (File > Save As > CSV UTF-8)"
        )
    for magic, what in _MAGIC:
        if what and head.startswith(magic):
            return f"this is {what}, not a CSV file; export the orders as CSV and try again"
    if head.startswith(b"BM") and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "this is a BMP image, not a CSV file; export the orders as CSV and try again"
    return None


def _decodes(data: bytes, encoding: str, final: bool) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)("strict").decode(data, final)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _utf16_without_bom(sample: bytes) -> str | None:
    head = sample[:4096]
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    if odd > 0.4 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.4 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def _chinese_share(text: str) -> float:
    """Share of non-ASCII characters that are common in Chinese text read as GB18030.

    GB2312 level-1 hanzi (the 3,755 most used), Chinese punctuation and full-width forms, and
    Cyrillic (a Chinese Excel saves Russian city names in GBK). Big5 or Cyrillic bytes read as
    GB18030 give mostly rare hanzi, kana or private-use characters instead.
    """
    total = common = 0
    for ch in text:
        if ch.isascii():
            continue
        total += 1
        try:
            lead = ch.encode("gb2312")[0]
        except UnicodeEncodeError:
            continue
        if 0xA1 <= lead <= 0xA3 or lead == 0xA7 or 0xB0 <= lead <= 0xD7:
            common += 1
    return common / total if total else 0.0


def _canonical(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _guess_encoding(sample: bytes, whole: bool) -> str:
    """The codec of `sample`: a BOM, else strict UTF-8, else UTF-16 by its NULs, else a guess."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if sample.startswith(b"\x84\x31\x95\x33"):
        return "gb18030"
    if _decodes(sample, "utf-8", whole):
        return "utf-8"
    if _mostly_utf8(sample):
        return "utf-8"  # damaged UTF-8: read lossy (rows with bad bytes are rejected), never
        # as a legacy code page that would turn every "ü" and "苏" into mojibake
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None and _decodes(sample[: len(sample) // 2 * 2], utf16, False):
        return utf16
    matches = [_canonical(m.encoding) for m in charset_normalizer.from_bytes(sample)]
    best = matches[0] if matches else None
    if _decodes(sample, "gb18030", whole):
        text = codecs.getincrementaldecoder("gb18030")("replace").decode(sample, whole)
        if best is None or _chinese_share(text) >= 0.6:
            return "gb18030"
        if best in _CJK_ENCODINGS:
            # Not common simplified Chinese when read as GB18030: Big5 (Hong Kong, Taiwan)
            # when that is the guess; else a short Cyrillic or Latin legacy file, which often
            # also decodes as some CJK encoding: prefer a single-byte reading if one is offered.
            if best in _BIG5:
                return best
            other = next((m for m in matches if m not in _CJK_ENCODINGS), None)
            return other or "gb18030"
    if best is None:
        raise _NotText("the bytes are not text in any encoding we know")
    return best


def _mostly_utf8(sample: bytes) -> bool:
    """UTF-8 with a few bad bytes: its valid multi-byte characters far outnumber the invalid
    bytes (a legacy single- or double-byte file almost never forms valid UTF-8 sequences)."""
    text = sample.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return good >= 8 and bad * 4 <= good


MAX_HEADER_BYTES: Final = 1024 * 1024
"""How far the sniffed sample grows when a header row is longer than `SAMPLE_BYTES` (a very
wide export); a first line longer than this is not an orders export."""


def line_count(sample: bytes) -> int:
    return max(sample.count(b"\n"), sample.count(b"\r"))


def sniff_sample(name: str, sample: bytes) -> bytes:
    """The bytes to sniff: `SAMPLE_BYTES`, or up to `MAX_HEADER_BYTES` when the header row is
    longer, so a header is never cut; `sample` is what was read (up to MAX_HEADER_BYTES + 1)."""
    if len(sample) <= SAMPLE_BYTES or line_count(sample[:SAMPLE_BYTES]) >= 2:
        return sample[:SAMPLE_BYTES]
    if line_count(sample[:MAX_HEADER_BYTES]) < 1:
        raise InputError(
            f"{name}: the first line is longer than {MAX_HEADER_BYTES // 1024} KiB;"
            " this is not an orders export"
        )
    return sample[:MAX_HEADER_BYTES]


class _NotText(Exception):
    pass


_CONTROL: Final = str.maketrans(
    "", "", "".join(chr(c) for c in range(32) if chr(c) not in "\t\r\n") + "\x7f\ufffd"
)


def _control_share(text: str) -> float:
    """Share of control and replacement characters: binary data decoded as text."""
    if not text:
        return 0.0
    return (len(text) - len(text.translate(_CONTROL))) / len(text)


@dataclass(frozen=True, slots=True)
class _Layout:
    encoding: str
    lossy: bool  # some bytes do not decode: they become U+FFFD and rows holding them are refused
    delimiter: str
    header_row: int  # spreadsheet row number of the header
    headers: tuple[str, ...]
    columns: dict[str, int]
    skip_records: int  # csv records before the first data record
    row_shift: int  # added to the record number to get the spreadsheet row (sep= line: -1)
    day_first: bool | None
    decimal_comma: bool | None
    header_currency: str
    profile: ExportProfile | None = None  # the known export recognized by its headers
    sheet: str = ""  # a workbook's sheet the orders are on; "" for CSV


def _sample_records(text: str, delimiter: str, limit: int) -> list[list[str]]:
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    except csv.Error:
        pass
    return records


def _sniffed_delimiter(text: str) -> str | None:
    try:
        # Bounded: the Sniffer's regular expressions are quadratic on some inputs.
        return csv.Sniffer().sniff(text[:4096], delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        return None


_SEP_LINE: Final = re.compile(r"\ufeff?sep=([,;\t])(?:\r\n|\r|\n)", re.IGNORECASE)
_FIRST_LINE: Final = re.compile(r"[^\r\n]*")


def _find_header(
    text: str, name: str, overrides: Mapping[str, str]
) -> tuple[str, int, list[str], dict[str, int], int, ExportProfile | None]:
    """(delimiter, header record index, header cells, field -> index, row shift).

    Every separator is tried on the first non-blank records; the record that names the most
    needed fields wins (then the most fields, then the earliest). `csv.Sniffer` only breaks a
    tie between separators, then the separator's count on the first line.
    """
    forced = _SEP_LINE.match(text)  # Excel's "sep=;" first line (Excel hides it)
    delimiters = (forced.group(1),) if forced else _DELIMITERS
    shift = -1 if forced else 0
    start = 1 if forced else 0
    first_line = _FIRST_LINE.match(text, forced.end() if forced else 0)
    first_text = first_line.group() if first_line else ""

    candidates: list[
        tuple[tuple[int, int, int, int], str, int, list[str], dict[str, int], ExportProfile | None]
    ] = []
    first_cells: list[str] = []
    for delimiter in delimiters:
        records = _sample_records(text, delimiter, 2 * _HEADER_SCAN_RECORDS + 2)
        non_blank = 0
        for index in range(start, len(records)):
            record = records[index]
            if not any(cell.strip() for cell in record):
                continue
            non_blank += 1
            if non_blank > _HEADER_SCAN_RECORDS:
                break
            if non_blank == 1 and len(record) > len(first_cells):
                first_cells = record
            mapping, profile = columns_for(record, overrides)
            if profile is not None and profile.no_tracking:
                raise no_tracking(name, profile)
            if mapping:
                required = sum(1 for f in _REQUIRED if f in mapping)
                score = (required, len(mapping), -index, first_text.count(delimiter))
                candidates.append((score, delimiter, index, record, mapping, profile))
    if not candidates or max(c[0] for c in candidates)[0] < len(_REQUIRED):
        best = max(candidates, key=lambda c: c[0]) if candidates else None
        found = best[3] if best is not None else first_cells
        mapping = best[4] if best is not None else {}
        raise missing_columns(name, found, mapping, overrides)
    top = max(c[0][:3] for c in candidates)
    tied = [c for c in candidates if c[0][:3] == top]
    if len({c[1] for c in tied}) > 1:
        sniffed = _sniffed_delimiter(text)
        tied.sort(key=lambda c: (c[1] == sniffed, c[0][3]), reverse=True)
    else:
        tied.sort(key=lambda c: c[0], reverse=True)
    _, delimiter, index, record, mapping, profile = tied[0]
    return delimiter, index, record, mapping, shift, profile


def _verify(open_binary: Callable[[], IO[bytes]], encoding: str) -> bool:
    """Whether the whole stream decodes strictly in `encoding` (read in 1 MiB chunks)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    with open_binary() as stream:
        try:
            while chunk := stream.read(_VERIFY_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", True)
        except UnicodeDecodeError:
            return False
    return True


def _sniff(
    name: str,
    sample: bytes,
    whole: bool,
    open_binary: Callable[[], IO[bytes]],
    overrides: Mapping[str, str],
) -> _Layout:
    if not sample.strip(b" \t\r\n\x00"):
        raise InputError(f"{name}: the file is empty")
    problem = _magic_problem(sample)
    if problem is not None:
        raise InputError(f"{name}: {problem}")
    try:
        encoding = _guess_encoding(sample, whole)
    except _NotText:
        raise InputError(
            f"{name}: this is not a text file (binary data); export the orders as CSV"
        ) from None
    encoding = (
        _canonical(encoding) if encoding not in ("utf-8-sig", "utf-16", "utf-32") else encoding
    )
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, whole)
    text = text.removeprefix("\ufeff")
    if not text.strip(" \t\r\n\x00,;\ufeff"):
        raise InputError(f"{name}: the file is empty")
    if _control_share(text) > 0.05:
        raise InputError(f"{name}: this is not a text file (binary data); export the orders as CSV")
    start = text.lstrip()[:64].lower()
    if start.startswith(("<!doctype html", "<html", "<table")):
        raise InputError(
            f"{name}: this is a web page (HTML), not a CSV file (some 'Excel' exports are"
            " HTML); open it in Excel and save it as CSV"
        )
    if start.startswith("<?xml"):
        raise InputError(
            f"{name}: this is an XML file (perhaps an Excel XML workbook), not a CSV file;"
            " open it in Excel and save it as CSV"
        )
    if not whole:
        end = max(text.rfind("\n"), text.rfind("\r"))
        if end > 0:
            text = text[: end + 1]  # drop the partial last line

    delimiter, index, header, mapping, shift, profile = _find_header(text, name, overrides)

    lossy = False
    if not (_decodes(sample, encoding, True) if whole else _verify(open_binary, encoding)):
        # Some bytes do not decode. An ASCII start with GBK Chinese further down is read as
        # GB18030; anything else (a damaged or mixed file) is read with replacement
        # characters, and rows holding one in a used field are rejected.
        if encoding == "utf-8" and sample.isascii() and _verify(open_binary, "gb18030"):
            encoding = "gb18030"
        else:
            lossy = True

    records = _sample_records(text, delimiter, index + 1 + _LEARN_RECORDS)[index + 1 :]
    header = [header[0].removeprefix("\ufeff"), *header[1:]] if header else header
    return layout_for(
        header,
        mapping,
        records,
        profile=profile,
        encoding=encoding,
        lossy=lossy,
        delimiter=delimiter,
        header_row=index + 1 + shift,
        skip_records=index + 1,
        row_shift=shift,
    )


def layout_for(
    header: list[str],
    mapping: dict[str, int],
    records: Sequence[Sequence[str]],
    *,
    profile: ExportProfile | None,
    encoding: str,
    lossy: bool,
    delimiter: str,
    header_row: int,
    skip_records: int,
    row_shift: int,
    sheet: str = "",
) -> _Layout:
    """The layout of a found header row; what the first records show is learned (day/month
    order, decimal comma, a currency written in the value header)."""
    date_values = [
        r[i]
        for r in records
        for f in ("order_date", "ship_date")
        if (i := mapping.get(f, -1)) >= 0 and i < len(r)
    ]
    value_index = mapping.get("order_value", -1)
    value_values = [r[value_index] for r in records if 0 <= value_index < len(r)]
    header_currency = ""
    if value_index >= 0:
        paren = _HEADER_PAREN.search(header[value_index])
        header_currency = (_currency(paren.group(1)) or "") if paren else ""
    return _Layout(
        encoding=encoding,
        lossy=lossy,
        delimiter=delimiter,
        header_row=header_row,
        headers=tuple(header),
        columns=mapping,
        skip_records=skip_records,
        row_shift=row_shift,
        day_first=_learn_day_first(date_values),
        decimal_comma=_learn_decimal_comma(value_values),
        header_currency=header_currency,
        profile=profile,
        sheet=sheet,
    )
