"""Export profiles: the shipped data files, recognition of each real export, and validation."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.profile_fixtures import FIXTURES
from tracking.ingest.profiles import (
    REQUIRED_FIELDS,
    ExportProfile,
    ProfileError,
    all_profiles,
    header_key,
    load_profiles,
    recognize,
)

PROFILES = {profile.key: profile for profile in all_profiles()}
VERIFIED = sorted(key for key, profile in PROFILES.items() if profile.verified)


def test_header_key_folds_width_case_space_and_required_mark() -> None:
    assert header_key("Tracking Number*") == "tracking number"
    assert header_key("  Order\u3000ID ") == "order id"  # ideographic space
    assert header_key("ＯＲＤＥＲ　ＩＤ") == "order id"  # full-width letters
    assert header_key("收货人国家（中文）") == "收货人国家(中文)"
    assert header_key("Created  \n Time *") == "created time"


def test_shipped_profiles_load_and_cover_the_listed_exports() -> None:
    assert len(PROFILES) == len(all_profiles())
    assert VERIFIED, "no verified profile shipped"
    for profile in PROFILES.values():
        assert profile.kind in {"marketplace", "erp", "aggregator"}
        if profile.verified:
            assert profile.sources
            assert profile.signature


@pytest.mark.parametrize("key", VERIFIED)
def test_each_verified_profile_has_a_fixture(key: str) -> None:
    assert key in FIXTURES, (
        f"write a fixture with {key}'s real headers in tests/profile_fixtures.py"
    )


@pytest.mark.parametrize("key", sorted(FIXTURES))
def test_real_export_is_recognized_as_exactly_its_profile(key: str) -> None:
    fixture = FIXTURES[key]
    recognized = recognize(fixture.headers)
    assert recognized is not None, f"{key}: not recognized"
    assert recognized.key == key
    others = [p.key for p in all_profiles() if p.key != key and p.matches(fixture.headers)]
    assert others == [], f"{key}'s headers also fully match {others}: make signatures specific"


@pytest.mark.parametrize("key", sorted(FIXTURES))
def test_located_columns_read_the_right_cells(key: str) -> None:
    fixture = FIXTURES[key]
    profile = PROFILES[key]
    where = profile.locate(fixture.headers)
    first = fixture.table()[1]
    if profile.no_tracking is None:
        missing = [f for f in REQUIRED_FIELDS if f not in where]
        assert missing == [], f"{key}: required fields not located: {missing}"
    else:
        assert "tracking_number" not in where
    read = {f: first[index] for f, index in where.items()}
    assert read == fixture.expect


@pytest.mark.parametrize("key", sorted(FIXTURES))
def test_recognition_survives_case_width_and_header_order(key: str) -> None:
    headers = [h.upper() + " " for h in reversed(FIXTURES[key].headers)]
    recognized = recognize(headers)
    assert recognized is not None
    assert recognized.key == key


def test_no_two_signatures_are_ambiguous() -> None:
    verified = [p for p in all_profiles() if p.verified]
    for a, b in itertools.combinations(verified, 2):
        sig_a = {header_key(h) for h in a.signature}
        sig_b = {header_key(h) for h in b.signature}
        assert sig_a != sig_b, f"{a.key} and {b.key} have the same signature"


def test_unrelated_headers_are_not_recognized() -> None:
    assert recognize(["order_id", "tracking_number", "order_date", "destination_country"]) is None
    assert recognize([]) is None


def test_first_mile_tracking_column_is_never_the_tracking_number() -> None:
    lazada = PROFILES["lazada-orders-legacy"]
    where = lazada.locate(["Order Number", "Tracking Code (first mile)", "Created at"])
    assert "tracking_number" not in where
    assert "Tracking Code (first mile)" in lazada.ignore_tracking


# ---------------------------------------------------------------------------------------------
# Validation of data files: one clear line naming the file and the field
# ---------------------------------------------------------------------------------------------

GOOD = """\
key = "{key}"
name = "Example export"
marketplace = "example"
kind = "marketplace"
verified = true
sources = ["owner/repo:path"]
file_types = ["csv"]
signature = {signature}
[columns]
order_id = ["Order No"]
order_date = ["Placed"]
tracking_number = ["Parcel"]
destination_country = ["Ship Country"]
"""


def _write(directory: Path, key: str, text: str) -> None:
    (directory / f"{key}.toml").write_text(text, encoding="utf-8")


def _good(key: str, signature: list[str]) -> str:
    return GOOD.format(key=key, signature=repr(signature).replace("'", '"'))


def test_load_profiles_reads_a_valid_file(tmp_path: Path) -> None:
    _write(tmp_path, "example-orders", _good("example-orders", ["Order No", "Parcel"]))
    (profile,) = load_profiles(tmp_path)
    assert isinstance(profile, ExportProfile)
    assert profile.columns["tracking_number"] == ("Parcel",)
    assert profile.timezone is None
    assert profile.no_tracking is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            'colour = "red"\n' + _good("bad", ["Order No"]),
            "colour: Extra inputs",
            id="unknown-field",
        ),
        pytest.param(
            _good("bad", ["Order No"]).replace("order_id =", "order_idd ="),
            "columns.order_idd",
            id="unknown-column-field",
        ),
        pytest.param(
            _good("bad", ["Order No"]).replace('sources = ["owner/repo:path"]', "sources = []"),
            "cites at least one source",
            id="verified-without-source",
        ),
        pytest.param(
            _good("bad", ["Order No"]).replace("verified = true", "verified = false"),
            "unverified profile has no signature",
            id="unverified-with-headers",
        ),
        pytest.param(
            _good("bad", ["Order No"]).replace(
                'file_types = ["csv"]', 'file_types = ["csv"]\ntimezone = "China/Beijing"'
            ),
            "timezone: 'China/Beijing' is not an IANA time zone",
            id="bad-zone",
        ),
        pytest.param(
            _good("bad", ["Order No"]).replace('destination_country = ["Ship Country"]\n', ""),
            "missing: destination_country",
            id="required-field-unmapped",
        ),
        pytest.param(_good("bad", ["Order No", "ORDER  NO"]), "distinct", id="duplicate-signature"),
        pytest.param(
            _good("bad", ["Order No"]) + '[tracking]\nignore = ["Parcel"]\n',
            "ignored column: 'Parcel'",
            id="tracking-column-ignored",
        ),
        pytest.param('key = "bad"\nname = [', "not valid TOML", id="bad-toml"),
        pytest.param(
            _good("other", ["Order No"]), "does not match the file name", id="key-not-file-name"
        ),
    ],
)
def test_a_bad_data_file_is_one_clear_line(tmp_path: Path, text: str, problem: str) -> None:
    _write(tmp_path, "bad", text)
    with pytest.raises(ProfileError) as caught:
        load_profiles(tmp_path)
    message = str(caught.value)
    assert message.startswith("export profile bad.toml: ")
    assert problem in message
    assert "\n" not in message


def test_unverified_profile_is_listed_but_never_recognizes(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "hidden-export",
        'key = "hidden-export"\nname = "Hidden"\nmarketplace = "hidden"\nkind = "erp"\n'
        'verified = false\nfile_types = ["xlsx"]\nnotes = "no public header list"\n',
    )
    (profile,) = load_profiles(tmp_path)
    assert not profile.verified
    assert recognize(["anything"], [profile]) is None


def test_the_profile_with_more_signature_headers_wins(tmp_path: Path) -> None:
    _write(tmp_path, "narrow", _good("narrow", ["Order No", "Parcel"]))
    _write(tmp_path, "wide", _good("wide", ["Order No", "Parcel", "Placed"]))
    profiles = load_profiles(tmp_path)
    headers = ["Order No", "Parcel", "Placed", "Ship Country"]
    chosen = recognize(headers, profiles)
    assert chosen is not None
    assert chosen.key == "wide"
    chosen = recognize(["Order No", "Parcel"], profiles)
    assert chosen is not None
    assert chosen.key == "narrow"


def _parses(text: str, fmt: str) -> bool:
    try:
        datetime.strptime(text, fmt).replace(tzinfo=UTC)  # only the format is checked
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("key", "sample"),
    [
        ("aliexpress-orders", "2026.10.14 09:12"),  # pillar09/zzerp: 'yyyy.MM.dd HH:mm'
        ("lazada-orders", "14 Oct 2026 09:12"),  # plurantee/posms: 'dd MMM yyyy HH:mm'
        ("shopee-order-all", "2026-10-14 09:12"),
        ("temu-orders", "Dec 9, 2025, 4:20 am"),  # 5CORE-ALL/invent: 'M j, Y, g:i a'
    ],
)
def test_an_exports_date_formats_read_its_own_dates(key: str, sample: str) -> None:
    formats = PROFILES[key].date_formats
    assert any(_parses(sample, fmt) for fmt in formats), f"{key}: {sample!r} not read by {formats}"
