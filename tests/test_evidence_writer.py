"""The PDF writer: display lists in, a small valid PDF out, the same bytes for the same input."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pikepdf
import pypdf

from tracking.evidence.fonts import get_font, get_mono_font
from tracking.evidence.layout import INK, RED
from tracking.evidence.writer import DocMeta, write_pdf

META = DocMeta(
    title="Tracking evidence — order JM240501-88231",
    subject="Order JM240501-88231",
    author="深圳市星河跨境电子商务有限公司",
    keywords="Evidence Reference ID EVD-1",
    creator="track-evidence test",
    created_at=datetime(2024, 9, 2, 8, 30, tzinfo=UTC),
    header_left="Evidence Reference ID / 证据参考编号: EVD-1",
    header_right="Order / 订单 JM240501-88231",
    footer_note="Rendering of carrier data / 承运商数据的渲染件",
    lang="zh-CN",
    seller="星河 (XingHe Store)",
)

PAGES = [
    [
        ("T", 15.0, 20.0, 12.0, INK, True, "已妥投 Delivered · Вручение"),
        ("R", 15.0, 30.0, 40.0, 5.0, RED),
        ("L", 15.0, 40.0, 100.0, 40.0, INK, 0.3),
    ],
    [("M", 15.0, 20.0, 7.0, INK, '{"status": "已签收"}')],
]


def _write(pages: list[list[tuple[object, ...]]] = PAGES, meta: DocMeta = META) -> bytes:
    return write_pdf(pages, font=get_font(), meta=meta, mono=get_mono_font())


def test_text_metadata_and_pages_read_back() -> None:
    data = _write()
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    first = reader.pages[0].extract_text()
    assert "已妥投 Delivered · Вручение" in first
    assert "Page 1 / 2" in first
    assert "星河 (XingHe Store)" in first
    assert '"status": "已签收"' in reader.pages[1].extract_text()
    info = reader.metadata
    assert info is not None
    assert info.title == META.title
    assert info.author == META.author
    assert info["/CreationDate"] == "D:20240902083000Z"
    assert info["/Producer"] == "track-evidence test"
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert str(pdf.Root.Lang) == "zh-CN"
        assert [float(v) for v in pdf.pages[0].MediaBox] == [0, 0, 595.28, 841.89]
        font = pdf.pages[0].Resources.Font.F1
        assert font.Subtype == "/Type0"
        assert "/ToUnicode" in font
        assert pdf.pages[1].Resources.Font.F1.objgen == font.objgen  # one font, shared


def test_same_input_same_bytes_and_the_id_follows_the_content() -> None:
    first = _write()
    assert _write() == first
    changed = _write([PAGES[0][:1]])
    ids = []
    for data in (first, changed):
        with pikepdf.open(io.BytesIO(data)) as pdf:
            ids.append(bytes(pdf.trailer.ID[0]))
    assert ids[0] != ids[1]


def test_a_creation_time_off_utc_keeps_its_offset() -> None:
    china = timezone(timedelta(hours=8))
    meta = replace(META, created_at=datetime(2024, 9, 2, 16, 30, tzinfo=china))
    reader = pypdf.PdfReader(io.BytesIO(_write(meta=meta)))
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == "D:20240902163000+08'00'"
