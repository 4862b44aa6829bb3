"""Country names and codes (ISO2, ISO3, English and Chinese names) to ISO 3166-1 alpha-2, and
China's time, where the parcels leave from."""

from __future__ import annotations

import gettext
import unicodedata
from datetime import timedelta, timezone
from functools import lru_cache

import pycountry

__all__ = ["CHINA_OFFSET", "CHINA_TZ", "country_name", "country_name_zh", "to_iso2"]

CHINA_OFFSET = 480
"""China's offset east of UTC in minutes (UTC+8 all year, one zone for the whole country): the
time Chinese carriers write without a zone, and the default of an orders file's dates."""

CHINA_TZ = timezone(timedelta(minutes=CHINA_OFFSET))
"""China's time as a fixed-offset zone."""

# Names carriers and marketplaces use that pycountry does not know by that spelling.
_ALIASES: dict[str, str] = {
    "mainland china": "CN",
    "china mainland": "CN",
    "prc": "CN",
    "hongkong": "HK",
    "hong kong sar": "HK",
    "hong kong, china": "HK",
    "macau": "MO",
    "taiwan, china": "TW",
    "russia": "RU",
    "the russian federation": "RU",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "united states of america": "US",
    "america": "US",
    "uk": "GB",
    "u.k.": "GB",
    "england": "GB",
    "great britain": "GB",
    "south korea": "KR",
    "korea": "KR",
    "republic of korea": "KR",
    "czech republic": "CZ",
    "turkey": "TR",
    "vietnam": "VN",
    "iran": "IR",
    "moldova": "MD",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "syria": "SY",
    "laos": "LA",
    "ivory coast": "CI",
    "the netherlands": "NL",
    "holland": "NL",
    "uae": "AE",
    "brasil": "BR",
    "deutschland": "DE",
    "espana": "ES",
    "españa": "ES",
    "polska": "PL",
    "россия": "RU",
    "рф": "RU",
    "украина": "UA",
    "казахстан": "KZ",
    "беларусь": "BY",
}

# Chinese names come from pycountry's own `iso3166-1` gettext catalogue (zh_CN: the names of
# `name`, `official_name` and `common_name`, e.g. 俄罗斯, 美国, 大韩民国, 韩国). Kept here only the
# names Chinese marketplace and ERP exports write that the catalogue lacks, each with why.
_CHINESE_EXTRAS: dict[str, str] = {
    "中国大陆": "CN",  # "mainland China" in domestic exports; the catalogue: 中国, 中华人民共和国
    "中国香港": "HK",  # the catalogue: 香港, 中国香港特别行政区
    "中国澳门": "MO",  # the catalogue: 澳门, 中国澳门特别行政区
    "中国台湾": "TW",  # the catalogue: 台湾, 中国台湾省
    "俄罗斯联邦": "RU",  # the full name; the catalogue has only 俄罗斯
    "阿拉伯联合酋长国": "AE",  # the full name; the catalogue has only 阿联酋
    "印尼": "ID",  # the usual short form of 印度尼西亚
    "沙特": "SA",  # the usual short form of 沙特阿拉伯
    "吉尔吉斯斯坦": "KG",  # the standard PRC name; the catalogue writes 吉尔吉斯坦
    "玻利维亚": "BO",  # the usual spelling; the catalogue writes 波利维亚 (and 玻利维亚共和国)
}
_NAME_FIELDS = ("name", "official_name", "common_name")


@lru_cache(maxsize=1)
def _zh_catalogue() -> gettext.NullTranslations:
    """pycountry's zh_CN translations of ISO 3166-1 names (its wheels ship the .mo files)."""
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["zh_CN"])


@lru_cache(maxsize=1)
def _chinese_names() -> dict[str, str]:
    """Chinese name -> ISO2: the catalogue's names, less any two countries share, plus extras."""
    catalogue = _zh_catalogue()
    found: dict[str, set[str]] = {}
    for country in pycountry.countries:
        for field in _NAME_FIELDS:
            english = getattr(country, field, None)
            if english:
                chinese = catalogue.gettext(english)
                if chinese != english:
                    found.setdefault(chinese, set()).add(str(country.alpha_2))
    # An ambiguous name is dropped: a guessed country would put a parcel in the wrong place.
    names = {name: codes.pop() for name, codes in found.items() if len(codes) == 1}
    names.update(_CHINESE_EXTRAS)
    return names


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return " ".join(text.replace("_", " ").split())


@lru_cache(maxsize=4096)
def to_iso2(text: str | None) -> str | None:
    """ISO2 code for a country code or name (English or Chinese); None when not recognized."""
    if not text:
        return None
    raw = unicodedata.normalize("NFKC", text).strip()
    chinese = _chinese_names().get(raw)
    if chinese:
        return chinese
    folded = _fold(raw)
    if not folded:
        return None
    if folded in _ALIASES:
        return _ALIASES[folded]
    if len(folded) == 2 and folded.isalpha():
        hit = pycountry.countries.get(alpha_2=folded.upper())
        return hit.alpha_2 if hit else ("GB" if folded == "uk" else None)
    if len(folded) == 3 and folded.isalpha():
        hit = pycountry.countries.get(alpha_3=folded.upper())
        if hit:
            return str(hit.alpha_2)
    try:
        return str(pycountry.countries.lookup(folded).alpha_2)
    except LookupError:
        pass
    # No fuzzy matching: a guessed country would put a parcel in the wrong place.
    return None


def country_name(iso2: str | None) -> str:
    """English short name of an ISO2 code ("" when unknown)."""
    if not iso2:
        return ""
    hit = pycountry.countries.get(alpha_2=iso2.upper())
    return str(hit.name) if hit else iso2


def country_name_zh(iso2: str | None) -> str:
    """Chinese name of an ISO2 code as pycountry's zh_CN catalogue gives it ("" when unknown):
    `RU` -> 俄罗斯, `KR` -> 韩国, `TW` -> 台湾 (the short `common_name` where there is one)."""
    if not iso2:
        return ""
    hit = pycountry.countries.get(alpha_2=iso2.upper())
    if hit is None:
        return ""
    english = getattr(hit, "common_name", None) or hit.name
    chinese = _zh_catalogue().gettext(english)
    return chinese if chinese != english else ""
