"""What a marketplace reviewer checks in `upload/`, and what the seller reads in `precheck/`.

Every PDF is read back as text (pypdf), as a reviewer would read it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pytest

from tests.evidence_fixtures import (
    SELLER,
    RawStore,
    delivered_multi_leg,
    delivered_us,
    long_timeline,
    make_info,
    sample_orders,
)
from tracking.core.exceptions import InputError
from tracking.evidence import BundleResult, verify_bundle, write_bundle
from tracking.evidence.citing import Citation
from tracking.evidence.fonts import get_font, get_mono_font
from tracking.evidence.layout import Layout, Span
from tracking.evidence.logs import LoggedResponse, parcel_part, status_words
from tracking.evidence.pdf import doc_meta
from tracking.evidence.volumes import render_log_volumes
from tracking.evidence.wording import carrier_status_words, link_label
from tracking.read.views import ExchangeView

NOT_CITED = {  # order id -> a reason the precheck must give
    "JM240510-55102": "Missing milestone(s): departed from the origin country.",
    "SP-2024-0613-0042": "The parcel is returning to the sender.",
    "JM240725-00017": "",  # pending: not proven yet
}
CITED = {"JM240501-88231", "JM240503-10977", "JM240502-LONG"}


def _text(path: Path) -> str:
    reader = pypdf.PdfReader(path)
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    return meta + "\n" + "\n".join(page.extract_text() or "" for page in reader.pages)


def _pages(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def store() -> RawStore:
    return RawStore()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, store: RawStore) -> tuple[Path, BundleResult]:
    out = tmp_path_factory.mktemp("upload") / "bundle"
    orders = [*sample_orders(store), long_timeline(store)]
    return out, write_bundle(out, info=make_info(), orders=orders, raw_body=store)


@pytest.fixture(scope="module")
def upload_text(bundle: tuple[Path, BundleResult]) -> dict[str, str]:
    root = bundle[0] / "upload"
    return {
        p.relative_to(root).as_posix(): _text(p)
        for p in sorted(root.rglob("*.pdf"))  # PNGs are named after cited orders only
    }


def test_no_order_left_out_appears_anywhere_in_upload(
    bundle: tuple[Path, BundleResult], upload_text: dict[str, str]
) -> None:
    names = [p.name for p in (bundle[0] / "upload").rglob("*")]
    for order_id in NOT_CITED:
        assert not any(order_id in name for name in names)
        for name, text in upload_text.items():
            assert order_id not in text, f"{order_id} appears in upload/{name}"
    stems = {n.rsplit(".", 1)[0] for n in names if n.endswith((".pdf", ".png"))}
    assert stems >= CITED


def test_upload_addresses_a_reviewer(upload_text: dict[str, str]) -> None:
    for name, text in upload_text.items():
        flat = " ".join(text.split())
        for word in ("PASS", "FAIL", "do not cite", "Do not cite", "raw/", "manifest.json", "`"):
            assert word not in flat, f"{word!r} in upload/{name}"
        assert "SHA256SUMS" not in flat


def test_a_cited_raw_body_is_in_an_uploaded_file(
    bundle: tuple[Path, BundleResult], upload_text: dict[str, str]
) -> None:
    root = bundle[0]
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    volumes = _compact(
        "".join(t for n, t in upload_text.items() if n.startswith("carrier-api-logs-"))
    )
    checked = 0
    for entry in manifest["exchanges"]:
        body = (root / entry["path"]).read_text(encoding="utf-8")
        assert entry["sha256"] in volumes
        # every text value of the body, as received, is readable in the volumes
        for value in re.findall(r'"([^"\\]{6,})"|>([^<]{6,})<', body):
            text = _compact(value[0] or value[1])
            assert text in volumes, f"{text!r} of {entry['sha256'][:12]} not in the volumes"
            checked += 1
    assert checked > 20
    # the Russian Post XML body, in Cyrillic, in the order's own appendix
    order_pdf = _compact(upload_text["orders/JM240501-88231.pdf"])
    assert "Вручениеадресату" in order_pdf
    assert "【深圳市】已揽收" in order_pdf


def test_cover_figures_equal_what_the_bundle_contains(
    bundle: tuple[Path, BundleResult], upload_text: dict[str, str]
) -> None:
    root = bundle[0]
    cover = " ".join(upload_text["00-summary.pdf"].split())
    found = re.search(r"This bundle documents (\d+) orders shipped between (\S+) and (\S+)", cover)
    assert found is not None
    order_pdfs = {n for n in upload_text if n.startswith("orders/")}
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    assert int(found.group(1)) == len(order_pdfs) == len(manifest["orders"]) == 3
    complete = sum(
        1
        for o in manifest["orders"]
        if all(m["status"] != "missing" for m in o["milestones"].values())
    )
    assert f"For {complete} of these 3 orders the carrier events show all three" in cover
    assert manifest["summary"]["orders"] == 3
    assert manifest["citation"]["cited"] == 3
    assert manifest["citation"]["not_cited"] == 3
    assert " of 6" not in cover  # no ratio over orders the bundle does not contain
    first_scan = min(o["events"][0]["at"] for o in manifest["orders"])
    assert found.group(2) == first_scan[:10]


def test_precheck_names_every_order_left_out_with_its_reason(
    bundle: tuple[Path, BundleResult],
) -> None:
    root = bundle[0]
    text = " ".join(_text(root / "precheck" / "precheck.pdf").split())
    assert "NEVER UPLOAD" in text
    for order_id, reason in NOT_CITED.items():
        assert order_id in text
        if reason:
            assert reason in text
    assert "3 of 6" in text  # the portfolio ratio lives here
    raw = (root / "precheck" / "precheck.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = {r["order_id"]: r for r in csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))}
    assert set(rows) == set(NOT_CITED) | CITED
    for order_id, reason in NOT_CITED.items():
        assert rows[order_id]["cited_in_upload"] == "no"
        assert rows[order_id]["what_to_do_en"]
        assert rows[order_id]["what_to_do_zh"]
        assert reason in rows[order_id]["reasons_en"]
    assert rows["JM240510-55102"]["reasons_zh"]
    assert {rows[o]["cited_in_upload"] for o in CITED} == {"yes"}


def test_seller_name_is_printed_exactly_on_every_page(bundle: tuple[Path, BundleResult]) -> None:
    pages = 0
    for path in sorted((bundle[0] / "upload").rglob("*.pdf")):
        for number, page in enumerate(_pages(path), start=1):
            assert _compact(SELLER) in _compact(page), f"{path.name} page {number}"
            pages += 1
    assert pages > 10


def test_include_and_exclude_decide_knowingly_and_are_recorded(tmp_path: Path) -> None:
    store = RawStore()
    out = tmp_path / "b"
    citation = Citation(include=("JM240510-55102",), exclude=("JM240503-10977",))
    write_bundle(
        out, info=make_info(), orders=sample_orders(store), raw_body=store, citation=citation
    )
    orders = {p.stem for p in (out / "upload" / "orders").glob("*.pdf")}
    assert orders == {"JM240501-88231", "JM240510-55102"}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["citation"]["include"] == ["JM240510-55102"]
    assert manifest["citation"]["exclude"] == ["JM240503-10977"]
    sheet = (out / "precheck" / "precheck.csv").read_text(encoding="utf-8-sig")
    assert "--exclude" in sheet
    assert "--include" in sheet
    with pytest.raises(InputError, match="--include NOPE: no such order"):
        write_bundle(
            tmp_path / "c",
            info=make_info(),
            orders=sample_orders(store),
            raw_body=store,
            citation=Citation(include=("NOPE",)),
        )
    assert not (tmp_path / "c").exists()


def test_creation_time_earlier_than_the_data_is_refused(tmp_path: Path) -> None:
    store = RawStore()
    early = make_info(created_at=datetime(2024, 5, 3, tzinfo=UTC))
    with pytest.raises(InputError, match="earlier than the data"):
        write_bundle(tmp_path / "x", info=early, orders=[delivered_us(store)], raw_body=store)
    assert not (tmp_path / "x").exists()


def test_verify_catches_a_changed_byte_in_a_log_volume(tmp_path: Path) -> None:
    store = RawStore()
    out = tmp_path / "v"
    write_bundle(out, info=make_info(), orders=[delivered_multi_leg(store)], raw_body=store)
    assert verify_bundle(out).ok
    volume = out / "upload" / "carrier-api-logs-01.pdf"
    data = bytearray(volume.read_bytes())
    data[len(data) // 3] ^= 0x01
    volume.write_bytes(bytes(data))
    result = verify_bundle(out)
    assert not result.ok
    assert "carrier-api-logs-01.pdf" in (result.problem or "")


def _exchange(sha: str, size: int) -> ExchangeView:
    return ExchangeView(
        sha256=sha,
        carrier="cainiao",
        method="GET",
        url="https://global.cainiao.com/detail.json?mailNos=LP1&app_key=hush",
        status=200,
        fetched_at=datetime(2024, 5, 21, tzinfo=UTC),
        size=size,
        content_type="application/json",
        headers=(("content-type", "application/json"),),
    )


def test_log_volumes_stay_under_the_limit_and_hold_every_response_once() -> None:
    font, mono = get_font(), get_mono_font()
    responses = []
    for i in range(12):
        body = json.dumps(
            {
                "module": [
                    {"mailNo": f"LP{i:03d}{j:04d}", "desc": "到达 Прибыло"} for j in range(80)
                ]
            },
            ensure_ascii=False,
        ).encode()
        responses.append(LoggedResponse(_exchange(f"{i:064x}", len(body)), body, (f"O-{i}",)))
    meta = doc_meta(make_info(), title="t", subject="s", right="r")
    limit = 90_000
    volumes = list(render_log_volumes(responses, font=font, mono=mono, meta=meta, max_bytes=limit))
    assert len(volumes) >= 2
    assert [v.name for v in volumes] == [
        f"carrier-api-logs-{i:02d}.pdf" for i in range(1, len(volumes) + 1)
    ]
    assert all(len(v.data) <= limit for v in volumes)
    held = [d for v in volumes for d in v.digests]
    assert held == [r.exchange.sha256 for r in responses]
    text = _compact(_text_bytes(volumes[0].data))
    assert "app_key=hush" not in text  # a secret query parameter is masked
    assert "LP0000079" in text
    assert "到达Прибыло" in text


def _text_bytes(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_batched_response_shows_this_parcel_and_says_what_was_left_out() -> None:
    body = json.dumps(
        {"module": [{"mailNo": n, "status": "DELIVERED"} for n in ("LP1", "LP2", "LP3")]}
    ).encode()
    part = parcel_part(body, ["LP2"])
    assert part is not None
    text, dropped = part
    assert dropped == 2
    assert "LP2" in text
    assert "LP1" not in text
    assert "LP3" not in text
    assert parcel_part(body, ["LP1", "LP2", "LP3"]) is None  # nothing left out: not cut


def test_status_codes_and_links_in_words() -> None:
    assert status_words(200) == "OK (HTTP 200)"
    assert status_words(429) == "Too Many Requests (HTTP 429)"
    assert carrier_status_words("yunexpress", "PackageState=3") == "Delivered"
    assert carrier_status_words("yunexpress", "PackageState=5") == ""  # sources disagree
    assert carrier_status_words("cainiao", "CLEAR_CUSTOMS") == "Clear customs"
    assert carrier_status_words("17track", "Delivered_Other") == "Delivered, other"
    assert link_label("17TRACK", "https://t.17track.net/en#nums=1")[0].startswith("17TRACK's")
    assert link_label("Cainiao", "https://global.cainiao.com/x")[0] == (
        "Cainiao's own tracking page"
    )


def test_a_long_number_is_never_broken_across_lines() -> None:
    doc = Layout(get_font())
    number = "97570381824339668412568897"
    lines = doc.lines([Span(number, 7.5, bold=True)], 37.6)
    assert [line.text for line in lines] == [number]
    assert lines[0].size < 7.5


def test_exact_seller_name_with_both_scripts(tmp_path: Path) -> None:
    store = RawStore()
    seller = "深圳市XX科技有限公司 / Shenzhen XX Tech Co., Ltd."
    out = tmp_path / "s"
    info = replace(make_info(), seller=seller)
    write_bundle(out, info=info, orders=[delivered_us(store)], raw_body=store)
    for path in (out / "upload").rglob("*.pdf"):
        for page in _pages(path):
            assert _compact(seller) in _compact(page)


def test_precheck_sheet_never_runs_a_cell_as_a_formula(tmp_path: Path) -> None:
    store = RawStore()
    hostile = replace(delivered_us(store), order_id="=HYPERLINK(1)", verdict="fail")
    out = tmp_path / "f"
    write_bundle(out, info=make_info(), orders=[hostile], raw_body=store)
    rows = list(
        csv.DictReader(io.StringIO((out / "precheck" / "precheck.csv").read_text("utf-8-sig")))
    )
    assert rows[0]["order_id"] == "'=HYPERLINK(1)"


def test_the_store_is_printed_only_when_the_export_named_one(tmp_path: Path) -> None:
    store = RawStore()
    named = delivered_us(store)
    unnamed = replace(delivered_multi_leg(store), tenant="default")
    assert named.tenant != "default"
    out = tmp_path / "stores"
    write_bundle(out, info=make_info(), orders=[named, unnamed], raw_body=store)
    shown = _text(out / "upload" / "orders" / f"{named.order_id}.pdf")
    assert re.search(rf"Store / 店铺\s*{re.escape(named.tenant)}", shown)
    plain = _text(out / "upload" / "orders" / f"{unnamed.order_id}.pdf")
    assert "店铺" not in plain  # a file that named no store: no "default" for the reviewer
