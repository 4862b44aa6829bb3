"""Countries: names (English, Chinese, codes) to ISO2, and the Chinese names printed for codes."""

from __future__ import annotations

import pytest

from tracking.core.countries import country_name, country_name_zh, to_iso2


@pytest.mark.parametrize(
    ("text", "iso2"),
    [
        # pycountry's zh_CN catalogue
        ("俄罗斯", "RU"),
        ("美国", "US"),
        ("英国", "GB"),
        ("韩国", "KR"),
        ("大韩民国", "KR"),  # an official name, also from the catalogue
        ("德国", "DE"),
        ("巴西", "BR"),
        ("哈萨克斯坦", "KZ"),
        ("中华人民共和国", "CN"),
        (" 以色列 ", "IL"),
        ("乌兹别克斯坦", "UZ"),
        ("新西兰", "NZ"),
        # colloquial extras the catalogue lacks
        ("中国大陆", "CN"),
        ("中国香港", "HK"),
        ("俄罗斯联邦", "RU"),
        ("印尼", "ID"),
        ("沙特", "SA"),
        ("阿拉伯联合酋长国", "AE"),
        ("吉尔吉斯斯坦", "KG"),
        # English names, codes, aliases
        ("Russian Federation", "RU"),
        ("russia", "RU"),
        ("USA", "US"),
        ("de", "DE"),
        ("BRA", "BR"),
        ("Россия", "RU"),
    ],
)
def test_names_become_iso2(text: str, iso2: str) -> None:
    assert to_iso2(text) == iso2


@pytest.mark.parametrize("text", ["", None, "火星", "Atlantis", "XX", "中国大"])
def test_unknown_names_are_not_guessed(text: str | None) -> None:
    assert to_iso2(text) is None


@pytest.mark.parametrize(
    ("iso2", "chinese", "english"),
    [
        ("RU", "俄罗斯", "Russian Federation"),
        ("US", "美国", "United States"),
        ("KR", "韩国", "Korea, Republic of"),
        ("TW", "台湾", "Taiwan, Province of China"),
        ("de", "德国", "Germany"),
        ("CN", "中国", "China"),
    ],
)
def test_codes_get_the_catalogues_chinese_name(iso2: str, chinese: str, english: str) -> None:
    assert country_name_zh(iso2) == chinese
    assert country_name(iso2) == english
    assert to_iso2(chinese) == iso2.upper()  # and back


def test_an_unknown_code_has_no_chinese_name() -> None:
    assert country_name_zh("XX") == ""
    assert country_name_zh(None) == ""
    assert country_name("XX") == "XX"


def test_the_pdfs_label_a_country_in_both_languages() -> None:
    from tracking.evidence.labels import country

    assert country("RU") == "RU · Russian Federation / 俄罗斯"
    assert country("KR") == "KR · Korea, Republic of / 韩国"
    assert country("XK") == "XK"  # not an ISO 3166-1 code: shown as given
    assert country(None) == "—"
