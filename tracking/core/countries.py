"""Country names and codes (ISO2, ISO3, English and Chinese names) to ISO 3166-1 alpha-2."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pycountry

__all__ = ["country_name", "to_iso2"]

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

# Chinese names as Chinese marketplace and ERP exports write them.
_CHINESE: dict[str, str] = {
    "中国": "CN",
    "中国大陆": "CN",
    "香港": "HK",
    "中国香港": "HK",
    "澳门": "MO",
    "台湾": "TW",
    "俄罗斯": "RU",
    "俄罗斯联邦": "RU",
    "美国": "US",
    "英国": "GB",
    "法国": "FR",
    "德国": "DE",
    "西班牙": "ES",
    "意大利": "IT",
    "葡萄牙": "PT",
    "荷兰": "NL",
    "比利时": "BE",
    "波兰": "PL",
    "乌克兰": "UA",
    "白俄罗斯": "BY",
    "哈萨克斯坦": "KZ",
    "乌兹别克斯坦": "UZ",
    "以色列": "IL",
    "巴西": "BR",
    "智利": "CL",
    "墨西哥": "MX",
    "阿根廷": "AR",
    "哥伦比亚": "CO",
    "秘鲁": "PE",
    "加拿大": "CA",
    "澳大利亚": "AU",
    "新西兰": "NZ",
    "日本": "JP",
    "韩国": "KR",
    "新加坡": "SG",
    "马来西亚": "MY",
    "泰国": "TH",
    "越南": "VN",
    "菲律宾": "PH",
    "印度尼西亚": "ID",
    "印尼": "ID",
    "印度": "IN",
    "土耳其": "TR",
    "沙特阿拉伯": "SA",
    "沙特": "SA",
    "阿联酋": "AE",
    "阿拉伯联合酋长国": "AE",
    "瑞典": "SE",
    "挪威": "NO",
    "丹麦": "DK",
    "芬兰": "FI",
    "瑞士": "CH",
    "奥地利": "AT",
    "捷克": "CZ",
    "斯洛伐克": "SK",
    "匈牙利": "HU",
    "罗马尼亚": "RO",
    "保加利亚": "BG",
    "希腊": "GR",
    "爱尔兰": "IE",
    "立陶宛": "LT",
    "拉脱维亚": "LV",
    "爱沙尼亚": "EE",
    "摩尔多瓦": "MD",
    "格鲁吉亚": "GE",
    "亚美尼亚": "AM",
    "阿塞拜疆": "AZ",
    "吉尔吉斯斯坦": "KG",
    "塔吉克斯坦": "TJ",
    "南非": "ZA",
    "埃及": "EG",
    "尼日利亚": "NG",
    "摩洛哥": "MA",
    "克罗地亚": "HR",
    "斯洛文尼亚": "SI",
    "塞尔维亚": "RS",
    "卢森堡": "LU",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().lower()
    return " ".join(text.replace("_", " ").split())


@lru_cache(maxsize=4096)
def to_iso2(text: str | None) -> str | None:
    """ISO2 code for a country code or name (English or Chinese); None when not recognized."""
    if not text:
        return None
    raw = unicodedata.normalize("NFKC", text).strip()
    if raw in _CHINESE:
        return _CHINESE[raw]
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
