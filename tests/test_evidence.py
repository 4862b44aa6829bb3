"""The evidence bundle: files, PDFs, PNGs, manifest, checksums, signature, names, verify."""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import jsonschema
import pypdf
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fontTools.ttLib import TTFont
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.evidence_fixtures import (
    REFERENCE_ID,
    RawStore,
    delivered_multi_leg,
    delivered_us,
    hostile_ids,
    light_orders,
    long_timeline,
    make_info,
    sample_orders,
)
from tracking.core.exceptions import InputError, StorageError
from tracking.evidence import (
    MANIFEST_VERSION,
    BundleResult,
    generate_signing_key,
    load_public_key,
    load_signing_key,
    verify_bundle,
    write_bundle,
)
from tracking.evidence.citing import Citation
from tracking.evidence.fonts import get_font
from tracking.evidence.image import render_order_png, split_png
from tracking.evidence.manifest import SCHEMA_PATH, raw_extension
from tracking.evidence.names import MAX_STEM, assign_stems, is_safe_stem
from tracking.evidence.pdf import render_order_pdf
from tracking.evidence.signing import public_key_hex
from tracking.evidence.verify import VerifyResult

LIMIT = 10 * 1024 * 1024
MAGIC = {".pdf": b"%PDF-", ".png": b"\x89PNG\r\n\x1a\n", ".jpg": b"\xff\xd8\xff"}
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _manifest(root: Path) -> dict[str, object]:
    data = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _check_upload(root: Path, limit: int = LIMIT) -> list[Path]:
    uploads = sorted(p for p in (root / "upload").rglob("*") if p.is_file())
    assert uploads
    for path in uploads:
        assert path.suffix in MAGIC, f"{path.name}: not an uploadable type"
        assert path.read_bytes().startswith(MAGIC[path.suffix]), f"{path.name}: wrong magic bytes"
        assert path.stat().st_size <= limit, f"{path.name}: {path.stat().st_size} bytes"
    return uploads


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


@pytest.fixture(scope="module")
def store() -> RawStore:
    return RawStore()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, store: RawStore) -> tuple[Path, BundleResult]:
    """The sample orders plus a multi-page timeline, signed, as a folder."""
    out = tmp_path_factory.mktemp("sample") / "bundle"
    orders = [*sample_orders(store), long_timeline(store)]
    result = write_bundle(
        out, info=make_info(), orders=(o for o in orders), raw_body=store, signing_key=KEY
    )
    return out, result


@pytest.fixture
def small_bundle(tmp_path: Path) -> Path:
    """Two orders, signed: small enough to tamper with byte by byte."""
    store = RawStore()
    out = tmp_path / "small"
    write_bundle(
        out,
        info=make_info(),
        orders=[delivered_multi_leg(store), delivered_us(store)],
        raw_body=store,
        signing_key=KEY,
    )
    return out


# -- layout of the bundle -------------------------------------------------------------------


def test_bundle_layout_and_result(bundle: tuple[Path, BundleResult], store: RawStore) -> None:
    root, result = bundle
    files = _files(root)
    assert result.path == root
    assert result.orders == 3  # the cited orders: those that pass
    assert result.signed is True
    assert result.files == len(files)
    assert result.bytes == sum(len(data) for data in files.values())
    assert {"manifest.json", "SHA256SUMS", "manifest.sig", "upload/00-summary.pdf"} <= set(files)
    assert {"precheck/precheck.pdf", "precheck/precheck.csv"} <= set(files)
    assert "upload/carrier-api-logs-01.pdf" in files
    for name in files:
        assert name.split("/")[0] in ("upload", "raw", "precheck") or name in (
            "manifest.json",
            "SHA256SUMS",
            "manifest.sig",
        )
    orders = sorted(n for n in files if n.startswith("upload/orders/"))
    assert len([n for n in orders if n.endswith(".pdf")]) == 3  # a PDF per cited order
    pngs = {n.removeprefix("upload/orders/") for n in orders if n.endswith(".png")}
    assert pngs == {  # a PNG per cited order whose delivery is proven
        "JM240501-88231.png",
        "JM240502-LONG.png",
        "JM240503-10977.png",
    }
    raw = [n for n in files if n.startswith("raw/")]
    for name in raw:
        digest, ext = name.removeprefix("raw/").split(".")
        assert store(digest) == files[name]
        assert ext in ("json", "xml")
    assert any(n.endswith(".xml") for n in raw)  # the Russian Post body keeps its type


def test_upload_is_only_small_pdf_png(bundle: tuple[Path, BundleResult]) -> None:
    uploads = _check_upload(bundle[0])
    for path in uploads:
        if path.suffix == ".pdf":
            assert len(pypdf.PdfReader(path).pages) >= 1
            assert path.stat().st_size < 200 * 1024, f"{path.name} is larger than expected"
        else:
            with Image.open(path) as image:
                assert image.format == "PNG"
                assert image.width == 1000


def test_two_thousand_orders(tmp_path: Path) -> None:
    store = RawStore()
    out = tmp_path / "big"
    result = write_bundle(
        out,
        info=make_info(),
        orders=light_orders(store, 2000),
        raw_body=store,
        citation=Citation(verdicts=("pass", "fail", "pending")),
    )
    assert result.orders == 2000
    uploads = _check_upload(out)
    # PDFs and PNGs of every order, the summary, one volume of carrier API logs
    assert len(uploads) == 2000 + 200 + 1 + 1
    reader = pypdf.PdfReader(out / "upload" / "00-summary.pdf")
    assert len(reader.pages) > 40  # long tables paginate
    for page in (reader.pages[2], reader.pages[-2]):  # headers repeat on every page
        text = page.extract_text()
        assert "Order ID" in text
        assert "订单号" in text
    assert "This bundle documents 2000 orders" in reader.pages[0].extract_text()
    assert verify_bundle(out).ok


def test_summary_splits_into_numbered_parts(tmp_path: Path) -> None:
    store = RawStore()
    out = tmp_path / "split"
    limit = 48_000
    orders = [o for o in light_orders(store, 200) if o.verdict != "pass"]
    write_bundle(
        out,
        info=make_info(),
        orders=orders,
        raw_body=store,
        max_file_bytes=limit,
        citation=Citation(verdicts=("fail", "pending")),
    )
    _check_upload(out, limit)
    upload = out / "upload"
    assert not (upload / "00-summary.pdf").exists()
    parts = sorted(
        upload.glob("00-summary-part*.pdf"), key=lambda p: int(p.stem.rsplit("part", 1)[1])
    )
    assert len(parts) >= 2
    assert [p.name for p in parts] == [f"00-summary-part{i}.pdf" for i in range(1, len(parts) + 1)]
    pages = 0
    for number, part in enumerate(parts, start=1):
        reader = pypdf.PdfReader(part)  # each part is a whole PDF of its own
        pages += len(reader.pages)
        text = reader.pages[0].extract_text()
        assert f"Part {number} of {len(parts)}" in text
        assert REFERENCE_ID in text
    assert pages > len(parts)
    names = {f["path"] for f in _manifest(out)["files"]}  # type: ignore[index]
    assert {f"upload/{p.name}" for p in parts} <= names
    assert verify_bundle(out).ok


def test_long_order_pdf_and_png_split_into_parts() -> None:
    store = RawStore()
    font = get_font()
    order = long_timeline(store)
    whole = render_order_pdf(order, info=make_info(), font=font, max_bytes=LIMIT)
    assert len(whole) == 1
    parts = render_order_pdf(order, info=make_info(), font=font, max_bytes=len(whole[0]) // 2)
    assert len(parts) >= 2
    total = 0
    for number, part in enumerate(parts, start=1):
        assert len(part) <= len(whole[0]) // 2
        reader = pypdf.PdfReader(io.BytesIO(part))
        total += len(reader.pages)
        assert f"Part {number} of {len(parts)}" in reader.pages[0].extract_text()
    assert total == len(pypdf.PdfReader(io.BytesIO(whole[0])).pages)
    png = render_order_png(order, info=make_info(), font=font)
    bands = split_png(png, len(png) // 2)
    assert len(bands) >= 2
    heights = []
    for band in bands:
        assert band.startswith(MAGIC[".png"])
        assert len(band) <= len(png) // 2
        with Image.open(io.BytesIO(band)) as image:
            heights.append(image.height)
    with Image.open(io.BytesIO(png)) as image:
        assert sum(heights) == image.height


def test_too_small_limit_is_an_input_error(tmp_path: Path) -> None:
    store = RawStore()
    with pytest.raises(InputError, match="limit"):
        write_bundle(
            tmp_path / "x",
            info=make_info(),
            orders=[delivered_us(store)],
            raw_body=store,
            max_file_bytes=5_000,
        )
    assert not (tmp_path / "x").exists()


# -- contents of the documents --------------------------------------------------------------


def test_order_pdf_text_has_original_texts_and_reference(bundle: tuple[Path, BundleResult]) -> None:
    text = _pdf_text((bundle[0] / "upload" / "orders" / "JM240501-88231.pdf").read_bytes())
    compact = text.replace(" ", "").replace("\n", "")
    assert REFERENCE_ID in text
    for original in (
        "【深圳市】已揽收",
        "Вручениеадресату",
        "Прибыловместовручения",
        "离开中国已出口直封",
    ):
        assert original in compact
    for label in (
        "Milestones",
        "物流节点",
        "Timeline",
        "物流轨迹",
        "Appendix: carrier API responses",
    ):
        assert label in text
    assert "https://www.pochta.ru/tracking?barcode=RR123456785CN" in compact
    assert "+08:00" in text
    assert "+03:00" in text


def test_order_pdf_embeds_one_small_subset_font(bundle: tuple[Path, BundleResult]) -> None:
    reader = pypdf.PdfReader(bundle[0] / "upload" / "orders" / "JM240501-88231.pdf")
    fonts = reader.pages[0]["/Resources"]["/Font"]
    (font,) = (ref.get_object() for ref in fonts.values())  # the appendix adds the mono face
    assert font["/Subtype"] == "/Type0"
    assert str(font["/BaseFont"]).endswith("+WenQuanYiMicroHei")
    descendant = font["/DescendantFonts"][0].get_object()
    program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
    face = TTFont(io.BytesIO(program))
    assert face["maxp"].numGlyphs < 2000
    assert "Apache" in (face["name"].getDebugName(13) or "")  # the licence travels with it
    cmap = face.getBestCmap()
    assert all(ord(c) in cmap for c in "已揽收Вручение")


def test_summary_pdf_states_what_it_documents(bundle: tuple[Path, BundleResult]) -> None:
    text = _pdf_text((bundle[0] / "upload" / "00-summary.pdf").read_bytes())
    assert REFERENCE_ID in text
    assert "This bundle documents 3 orders shipped between" in " ".join(text.split())
    assert "Missing milestone(s): departed from the origin country." not in text
    assert "The parcel is returning to the sender." not in text
    assert "JM240502-LONG.pdf" in text  # the index names every cited order's files
    assert "JM240725-00017" not in text
    assert "Cainiao" in text
    assert "Russian Federation" in text


def test_png_is_a_captioned_rendering(bundle: tuple[Path, BundleResult]) -> None:
    data = (bundle[0] / "upload" / "orders" / "JM240501-88231.png").read_bytes()
    chunks = []
    at = 8
    while at < len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        chunks.append(data[at + 4 : at + 8])
        at += 12 + length
    assert b"tIME" not in chunks  # nothing that varies between runs
    assert b"tEXt" not in chunks
    with Image.open(io.BytesIO(data)) as image:
        top = image.convert("RGB").getpixel((5, 5))
    assert top == (255, 244, 214)  # the banner saying it is a rendering, not a screenshot


def test_manifest_validates_against_committed_schema(bundle: tuple[Path, BundleResult]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    manifest = _manifest(bundle[0])
    jsonschema.Draft202012Validator(schema).validate(manifest)
    assert manifest["schema_version"] == MANIFEST_VERSION == "1"
    assert manifest["reference_id"] == REFERENCE_ID
    paths = [f["path"] for f in manifest["files"]]  # type: ignore[index]
    assert paths == sorted(paths)
    (order,) = (o for o in manifest["orders"] if o["order_id"] == "JM240501-88231")  # type: ignore[union-attr]
    assert order["milestones"]["delivered"]["event"] == 10
    assert order["events"][9]["text"] == "Вручение адресату"
    assert order["files"] == [
        "upload/orders/JM240501-88231.pdf",
        "upload/orders/JM240501-88231.png",
    ]


def test_sha256sums_is_sha256sum_format(bundle: tuple[Path, BundleResult]) -> None:
    root = bundle[0]
    lines = (root / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {line[66:] for line in lines}
    assert listed == set(_files(root)) - {"SHA256SUMS", "manifest.sig"}
    for line in lines:
        digest, path = line[:64], line[66:]
        assert line[64:66] == "  "
        import hashlib

        assert hashlib.sha256((root / path).read_bytes()).hexdigest() == digest


# -- verify ---------------------------------------------------------------------------------


def test_verify_fresh_folder_and_zip(
    bundle: tuple[Path, BundleResult], tmp_path: Path, store: RawStore
) -> None:
    result = verify_bundle(bundle[0], public_key=KEY.public_key())
    assert result.ok
    assert result.problem is None
    assert result.checked == len(_files(bundle[0])) - 1  # every file but SHA256SUMS itself
    archive = tmp_path / "bundle.zip"
    orders = [*sample_orders(store), long_timeline(store)]
    zipped = write_bundle(
        archive, info=make_info(), orders=orders, raw_body=store, as_zip=True, signing_key=KEY
    )
    assert archive.is_file()
    assert zipped.bytes == archive.stat().st_size
    assert verify_bundle(archive, public_key=KEY.public_key()).ok
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert names == sorted(names)
        assert {(info.date_time, info.external_attr) for info in opened.infolist()} == {
            ((2024, 9, 2, 8, 30, 0), 0o100644 << 16)
        }
        assert {name: opened.read(name) for name in names} == _files(bundle[0])


def test_verify_detects_removed_added_and_changed_files(small_bundle: Path) -> None:
    root = small_bundle
    png = root / "upload" / "orders" / "JM240503-10977.png"
    data = png.read_bytes()
    png.unlink()
    assert verify_bundle(root).problem == "upload/orders/JM240503-10977.png: missing"
    png.write_bytes(data)
    (root / "upload" / "extra.pdf").write_bytes(b"%PDF-1.4\n")
    assert verify_bundle(root).problem == "upload/extra.pdf: not listed in manifest.json"
    (root / "upload" / "extra.pdf").unlink()
    pdf = root / "upload" / "orders" / "JM240501-88231.pdf"
    original = pdf.read_bytes()
    pdf.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    assert verify_bundle(root).problem == "upload/orders/JM240501-88231.pdf: sha256 mismatch"
    pdf.write_bytes(original)
    assert verify_bundle(root).ok


def test_verify_rejects_tampered_manifest_with_consistent_sums(small_bundle: Path) -> None:
    """Whoever edits manifest.json and recomputes SHA256SUMS still fails the signature."""
    import hashlib

    root = small_bundle
    manifest = (
        (root / "manifest.json").read_bytes().replace(b'"verdict":"pass"', b'"verdict":"fail"', 1)
    )
    (root / "manifest.json").write_bytes(manifest)
    sums = (root / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    fixed = [
        (hashlib.sha256(manifest).hexdigest() + "  manifest.json")
        if line.endswith("  manifest.json")
        else line
        for line in sums
    ]
    (root / "SHA256SUMS").write_text("\n".join(fixed) + "\n", encoding="utf-8")
    problem = verify_bundle(root).problem
    assert problem is not None
    assert problem.startswith("manifest.sig:")


def test_verify_with_explicit_public_key(small_bundle: Path, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    assert verify_bundle(small_bundle, public_key=KEY.public_key()).ok
    wrong = verify_bundle(small_bundle, public_key=other.public_key())
    assert wrong.problem == "manifest.sig: signed with a different key than the one given"
    (small_bundle / "manifest.sig").unlink()
    assert verify_bundle(small_bundle).ok  # unsigned bundles verify on digests alone
    missing = verify_bundle(small_bundle, public_key=KEY.public_key())
    assert missing.problem == "manifest.sig: missing (a public key was given)"


def test_verify_missing_path_and_garbage(tmp_path: Path) -> None:
    assert not verify_bundle(tmp_path / "nope").ok
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    result = verify_bundle(junk)
    assert not result.ok
    assert "zip" in (result.problem or "")
    (tmp_path / "empty").mkdir()
    assert verify_bundle(tmp_path / "empty").problem == "SHA256SUMS: missing"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_fails_verify(small_bundle: Path, data: st.DataObject) -> None:
    files = sorted(p for p in small_bundle.rglob("*") if p.is_file())
    target = data.draw(st.sampled_from(files), label="file")
    original = target.read_bytes()
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    target.write_bytes(
        original[:position] + bytes([original[position] ^ flip]) + original[position + 1 :]
    )
    try:
        result = verify_bundle(small_bundle)
    finally:
        target.write_bytes(original)
    assert not result.ok, f"{target.relative_to(small_bundle)}[{position}] ^ {flip} went unnoticed"


@settings(max_examples=25, deadline=None)
@given(position=st.floats(0, 1, exclude_max=True), flip=st.integers(1, 255))
def test_any_changed_byte_of_a_zip_fails_verify(
    zipped_small: Path, position: float, flip: int
) -> None:
    at = int(position * zipped_small.stat().st_size)
    assert not verify_flipped(zipped_small, at, flip).ok, f"byte {at} ^ {flip} went unnoticed"


def verify_flipped(bundle_zip: Path, at: int, flip: int) -> VerifyResult:
    """`verify` of the zip with byte `at` XORed by `flip`; the file is restored afterwards."""
    original = bundle_zip.read_bytes()
    damaged = bytearray(original)
    damaged[at] ^= flip
    bundle_zip.write_bytes(bytes(damaged))
    try:
        return verify_bundle(bundle_zip)
    finally:
        bundle_zip.write_bytes(original)


def test_a_damaged_deflated_member_is_reported_not_raised(zipped_small: Path) -> None:
    """A flipped byte inside compressed data makes zlib fail: `verify` reports it (exit 3 path)."""
    import struct
    import zipfile

    original = zipped_small.read_bytes()
    with zipfile.ZipFile(zipped_small) as archive:
        member = max(
            (i for i in archive.infolist() if i.compress_type == zipfile.ZIP_DEFLATED),
            key=lambda i: i.compress_size,
        )
    name_len, extra_len = struct.unpack(
        "<HH", original[member.header_offset + 26 : member.header_offset + 30]
    )
    start = member.header_offset + 30 + name_len + extra_len
    assert not verify_flipped(zipped_small, start + member.compress_size // 3, 0x5A).ok


@pytest.mark.parametrize("flag", [0x01, 0x20], ids=["encrypted", "patched-data"])
def test_a_flipped_member_flag_is_reported_not_raised(zipped_small: Path, flag: int) -> None:
    """A central-directory flag saying "encrypted" or "patched" is tampering, not a crash."""
    entry = zipped_small.read_bytes().index(b"PK\x01\x02")  # the first central-directory entry
    assert not verify_flipped(zipped_small, entry + 8, flag).ok  # its general-purpose flags


@pytest.fixture(scope="module")
def zipped_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = RawStore()
    out = tmp_path_factory.mktemp("zip") / "small.zip"
    write_bundle(
        out,
        info=make_info(),
        orders=[delivered_us(store)],
        raw_body=store,
        as_zip=True,
        signing_key=KEY,
    )
    assert verify_bundle(out).ok
    return out


# -- reproducibility ------------------------------------------------------------------------


def test_same_inputs_give_byte_identical_bundles(tmp_path: Path) -> None:
    def build(name: str, *, as_zip: bool = False) -> Path:
        store = RawStore()
        orders = [*sample_orders(store), long_timeline(store, events=30)]
        out = tmp_path / name
        write_bundle(
            out,
            info=make_info(),
            orders=iter(orders),
            raw_body=store,
            as_zip=as_zip,
            signing_key=KEY,
        )
        return out

    first, second = build("one"), build("two")
    assert _files(first) == _files(second)
    assert build("one.zip", as_zip=True).read_bytes() == build("two.zip", as_zip=True).read_bytes()


def test_order_of_input_does_not_change_the_bundle(tmp_path: Path) -> None:
    store = RawStore()
    orders = sample_orders(store)
    a, b = tmp_path / "a", tmp_path / "b"
    write_bundle(a, info=make_info(), orders=orders, raw_body=store)
    write_bundle(b, info=make_info(), orders=list(reversed(orders)), raw_body=store)
    assert _files(a) == _files(b)


# -- safe names -----------------------------------------------------------------------------


def test_hostile_order_ids_get_safe_unique_mapped_names(tmp_path: Path) -> None:
    store = RawStore()
    base = delivered_us(store)
    ids = hostile_ids()
    orders = [replace(base, order_id=order_id) for order_id in ids]
    out = tmp_path / "hostile"
    write_bundle(out, info=make_info(), orders=orders, raw_body=store)
    names = [p.name for p in (out / "upload" / "orders").iterdir()]
    assert len(names) == 2 * len(ids)
    assert len({n.casefold() for n in names}) == len(names)
    for name in names:
        stem = name.rsplit(".", 1)[0]
        assert is_safe_stem(stem), name
        assert len(name) <= 100
    manifest = _manifest(out)
    mapped = {o["file_stem"]: o["order_id"] for o in manifest["orders"]}  # type: ignore[union-attr]
    assert sorted(mapped.values()) == sorted(ids)
    assert mapped["订单_1-" + mapped_hash(mapped, "订单#1")] == "订单#1"
    assert "A1" not in mapped  # case twins both carry a hash
    assert "a1" not in mapped
    assert verify_bundle(out).ok


def mapped_hash(mapped: dict[str, str], order_id: str) -> str:
    (stem,) = (s for s, o in mapped.items() if o == order_id)
    return stem.rsplit("-", 1)[1]


def test_assign_stems_rules() -> None:
    ids = hostile_ids()
    stems = assign_stems(("t", i) for i in ids)
    assert len(set(stems.values())) == len(ids)
    assert stems[("t", "CON")].startswith("_CON-")
    assert stems[("t", "../../x")].startswith("x-")
    assert stems[("t", "a/b")].startswith("a_b-")
    assert stems[("t", "A1-5d7e3a9c")] == "A1-5d7e3a9c"  # safe and alone: kept as is
    assert len(stems[("t", "x" * 300)]) <= MAX_STEM
    assert stems[("t", "名" * 120)].startswith("名" * 60)
    plain = assign_stems([("t", "JM-1"), ("t", "订单1"), ("u", "JM-2")])
    assert plain == {("t", "JM-1"): "JM-1", ("t", "订单1"): "订单1", ("u", "JM-2"): "JM-2"}
    same_id = assign_stems([("t", "X1"), ("u", "X1")])
    assert len(set(same_id.values())) == 2
    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    assert assign_stems(("t", i) for i in shuffled) == stems  # decided on the set, not the order


# -- inputs and failures --------------------------------------------------------------------


def test_out_must_be_new_or_empty(tmp_path: Path) -> None:
    store = RawStore()
    orders = [delivered_us(store)]
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("x")
    with pytest.raises(InputError):
        write_bundle(taken, info=make_info(), orders=orders, raw_body=store)
    afile = tmp_path / "file.zip"
    afile.write_text("x")
    with pytest.raises(InputError):
        write_bundle(afile, info=make_info(), orders=orders, raw_body=store, as_zip=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert write_bundle(empty, info=make_info(), orders=orders, raw_body=store).orders == 1
    assert verify_bundle(empty).ok


def test_failure_leaves_no_half_written_bundle(tmp_path: Path) -> None:
    store = RawStore()

    def orders() -> Iterator[object]:
        yield delivered_us(store)
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_bundle(tmp_path / "out", info=make_info(), orders=orders(), raw_body=store)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_raw_body_must_match_its_digest(tmp_path: Path) -> None:
    store = RawStore()
    order = delivered_us(store)
    with pytest.raises(StorageError):
        write_bundle(
            tmp_path / "out", info=make_info(), orders=[order], raw_body=lambda _: b"tampered"
        )
    assert list(tmp_path.iterdir()) == []


def test_duplicate_orders_are_refused(tmp_path: Path) -> None:
    store = RawStore()
    order = delivered_us(store)
    with pytest.raises(InputError, match="twice"):
        write_bundle(tmp_path / "out", info=make_info(), orders=[order, order], raw_body=store)


def test_empty_bundle(tmp_path: Path) -> None:
    result = write_bundle(tmp_path / "none", info=make_info(), orders=[], raw_body=RawStore())
    assert result.orders == 0
    assert verify_bundle(tmp_path / "none").ok
    text = _pdf_text((tmp_path / "none" / "upload" / "00-summary.pdf").read_bytes())
    assert "This bundle documents no orders" in text


@pytest.mark.parametrize(
    ("content_type", "ext"),
    [
        ("application/json; charset=utf-8", "json"),
        ("application/vnd.api+json", "json"),
        ("text/xml", "xml"),
        ("text/html; charset=gb2312", "html"),
        ("text/plain", "txt"),
        ("application/octet-stream", "bin"),
        ("", "bin"),
    ],
)
def test_raw_extension(content_type: str, ext: str) -> None:
    assert raw_extension(content_type) == ext


# -- keys -----------------------------------------------------------------------------------


def test_signing_keys_round_trip(tmp_path: Path) -> None:
    private = tmp_path / "keys" / "seller.pem"
    public = generate_signing_key(private)
    assert public == tmp_path / "keys" / "seller.pem.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_signing_key(private)
    assert public_key_hex(load_public_key(public)) == public_key_hex(key.public_key())
    with pytest.raises(InputError):
        generate_signing_key(private)
    hex_file = tmp_path / "key.hex"
    hex_file.write_text(public_key_hex(key.public_key()) + "\n")
    assert public_key_hex(load_public_key(hex_file)) == public_key_hex(key.public_key())
    with pytest.raises(InputError):
        load_signing_key(public)
    with pytest.raises(InputError):
        load_public_key(tmp_path / "missing.pub")


def test_signature_file_embeds_the_public_key(bundle: tuple[Path, BundleResult]) -> None:
    lines = (bundle[0] / "manifest.sig").read_text(encoding="ascii").splitlines()
    assert lines[0] == "track-evidence manifest signature v1"
    assert lines[4] == "public-key: " + public_key_hex(KEY.public_key())


# -- the font -------------------------------------------------------------------------------


def test_font_subset_program_is_a_valid_truetype_font() -> None:
    font = get_font()
    chars = "A已揽收Вручн✔"  # each character once, as the writer assigns codes
    program = font.program(enumerate(chars, start=1))
    face = TTFont(io.BytesIO(program))
    cmap = face.getBestCmap()
    order = face.getGlyphOrder()
    for code, char in enumerate(chars, start=1):
        assert cmap[ord(char)] == order[code]  # glyph index = character code
    assert face["maxp"].numGlyphs >= len(chars) + 1
    glyf = face["glyf"]
    assert all(glyf[order[code]].numberOfContours != 0 for code in range(1, len(chars) + 1))
    assert font.clean("a\tb\x00c\U0001f4e6") == "a b c□"
