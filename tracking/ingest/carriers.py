"""Carrier names as exports write them -> our carrier codes; the name key shared by headers."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

CARRIER_ALIASES: Final[dict[str, str]] = {
    # Cainiao (AliExpress logistics)
    "Cainiao": "cainiao",
    "Cainiao Logistics": "cainiao",
    "Cainiao Network": "cainiao",
    "Cainiao Standard": "cainiao",
    "Cainiao Super Economy": "cainiao",
    "Cainiao Expedited Economy": "cainiao",
    "AliExpress Standard Shipping": "cainiao",
    "AliExpress Standard": "cainiao",
    "AliExpress Saver Shipping": "cainiao",
    "AliExpress Premium Shipping": "cainiao",
    "AliExpress Selection Shipping": "cainiao",
    "菜鸟": "cainiao",
    "菜鸟物流": "cainiao",
    "菜鸟网络": "cainiao",
    "菜鸟无忧": "cainiao",
    "菜鸟无忧标准": "cainiao",
    "菜鸟无忧物流": "cainiao",
    "无忧物流": "cainiao",
    "无忧标准": "cainiao",
    "无忧优先": "cainiao",
    "无忧简易": "cainiao",
    "无忧集运": "cainiao",
    # YunExpress
    "YunExpress": "yunexpress",
    "Yun Express": "yunexpress",
    "YunExpress Global Direct": "yunexpress",
    "云途": "yunexpress",
    "云途物流": "yunexpress",
    "云途全球专线": "yunexpress",
    # 17TRACK (aggregator)
    "17TRACK": "17track",
    "17 Track": "17track",
    # Yanwen
    "Yanwen": "yanwen",
    "Yanwen Logistics": "yanwen",
    "Yanwen Express": "yanwen",
    "燕文": "yanwen",
    "燕文物流": "yanwen",
    "燕文专线": "yanwen",
    # 4PX
    "4PX": "4px",
    "4PX Express": "4px",
    "4PX Worldwide Express": "4px",
    "递四方": "4px",
    "递四方速递": "4px",
    "递四方物流": "4px",
}
"""Carrier and channel names as sellers write them (English and Chinese) -> carrier code.

Matching ignores case, spaces and punctuation; names not listed here are also recognized when
they contain an unmistakable brand ("Cainiao", "菜鸟", "AliExpress", "云途", "燕文", "递四方",
"4PX", "YunExpress", "Yanwen", "17TRACK"). Anything else keeps `carrier=None` and is kept
verbatim in `carrier_declared` (e.g. "Joom Logistics")."""

_CARRIER_KEYWORDS: Final = (
    ("cainiao", "cainiao"),
    ("菜鸟", "cainiao"),
    ("aliexpress", "cainiao"),
    ("yunexpress", "yunexpress"),
    ("云途", "yunexpress"),
    ("yanwen", "yanwen"),
    ("燕文", "yanwen"),
    ("递四方", "4px"),
    ("4px", "4px"),
    ("17track", "17track"),
)


# Traditional Chinese (Hong Kong, Taiwan exports) -> simplified, for the characters of the
# header, carrier and country names matched here.
_SIMPLIFY: Final = str.maketrans(
    "訂單號編運蹤時間發貨國郵碼額幣種鋪稱遞創銷臺雲鳥羅蘭亞爾聯灣門烏倫韓麥馬來蘇維愛紐歐義",
    "订单号编运踪时间发货国邮码额币种铺称递创销台云鸟罗兰亚尔联湾门乌伦韩麦马来苏维爱纽欧义",
)


def _name_key(text: str) -> str:
    """Case-, width-, space-, punctuation- and script-insensitive key of a name."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_SIMPLIFY)
    return "".join(ch for ch in text if ch.isalnum())


_CARRIER_INDEX: Final = {_name_key(name): code for name, code in CARRIER_ALIASES.items()}


@lru_cache(maxsize=1024)
def carrier_code(name: str) -> str | None:
    """The carrier code for a declared carrier/channel name, or None when not recognized."""
    key = _name_key(name)
    if not key:
        return None
    code = _CARRIER_INDEX.get(key)
    if code is not None:
        return code
    for keyword, code in _CARRIER_KEYWORDS:
        if keyword in key:
            return code
    return None
