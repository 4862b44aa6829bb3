"""Header names as exports write them -> order fields (English, Chinese, Russian)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Final

from tracking.core.exceptions import InputError
from tracking.ingest.carriers import _name_key
from tracking.ingest.profiles import FIELDS, REQUIRED_FIELDS, ExportProfile, header_key, recognize
from tracking.ingest.values import _show

_FIELD_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "order_id": (
        "order_id",
        "order id",
        "order no",
        "order number",
        "order sn",
        "订单号",
        "订单编号",
        "平台订单号",
        # Russian (Ozon's and Wildberries' exports: alexOdin18/ozon_api:orders/README.md lists
        # "Номер заказа, Номер отправления, Дата создания, ... Город")
        "номер заказа",
        "номер отправления",
        "id заказа",
        "заказ",
    ),
    "tracking_number": (
        "tracking_number",
        "tracking no",
        "tracking",
        "tracking code",
        "tracking id",
        "waybill",
        "waybill no",
        "运单号",
        "跟踪号",
        "物流单号",
        "追踪号",
        "快递单号",
        "跟踪单号",
        "国际运单号",
        "物流跟踪号",
        "货运单号",
        "tracking number",
        "трек-номер",
        "трек номер",
        "трек",
        "номер отслеживания",
        "трек-номер отправления",
        "почтовый идентификатор",
    ),
    "carrier": (
        "carrier",
        "logistics",
        "shipping method",
        "shipping carrier",
        "logistics provider",
        "物流商",
        "承运商",
        "物流渠道",
        "物流方式",
        "shipping provider",
        "物流公司",
        "快递公司",
        # the bare 物流 ("logistics") beside 运单号, as Chinese seller tools label the carrier
        # column: a public Ozon seller tool (exact-string search hit, repository not
        # identifiable) shows its shipped orders as 订单, 商品, 物流, 运单号. Last: a more
        # specific header (物流方式, 物流商, 承运商 ...) wins when both are there.
        "物流",
        "служба доставки",
        "способ доставки",
        "перевозчик",
    ),
    "order_date": (
        "order_date",
        "order time",
        "created",
        "created at",
        "purchase date",
        "下单时间",
        "订单时间",
        "下单日期",
        "订单日期",
        "order created",
        "创建时间",
        "created time",
        "order creation date",
        "transaction date",
        "order date",
        "дата заказа",
        "дата создания",
        "принят в обработку",
        "дата оформления",
    ),
    "ship_date": (
        "ship_date",
        "shipped at",
        "shipping date",
        "ship time",
        "发货时间",
        "发货日期",
        "дата отгрузки",
        "дата отправки",
    ),
    "destination_country": (
        "destination_country",
        "country",
        "ship to country",
        "country code",
        "目的国",
        "收货国家",
        "目的国家",
        "国家",
        "shipping country",
        "ship country",
        "收件国家",
        "收件人国家",
        "收货人国家",
        "国家二字码",
        "中文国家名",
        "страна",
        "страна доставки",
        "страна получателя",
    ),
    "destination_postal_code": (
        "destination_postal_code",
        "postcode",
        "postal code",
        "zip",
        "zip code",
        "ship to postal code",
        "邮编",
        "邮政编码",
        "收件人邮编",
        "индекс",
        "почтовый индекс",
    ),
    "destination_city": (
        "destination_city",
        "city",
        "ship to city",
        "城市",
        "收货城市",
        "收件人城市",
        "город",
        "город доставки",
    ),
    "order_value": (
        "order_value",
        "amount",
        "total",
        "order total",
        "order amount",
        "订单金额",
        "金额",
        "сумма заказа",
        "сумма",
        "стоимость",
    ),
    "currency": ("currency", "currency code", "币种", "货币", "валюта"),
    "marketplace": ("marketplace", "platform", "平台", "销售平台", "площадка", "маркетплейс"),
    "tenant": ("store", "shop", "store name", "shop name", "tenant", "店铺", "店铺名称", "магазин"),
}
_REQUIRED: Final = REQUIRED_FIELDS  # one list of required fields, shared with the profiles
_HEADER_SPLIT: Final = re.compile(r"[/|()（）\[\]【】\n:：]+")
_HEADER_PAREN: Final = re.compile(r"[(（\[【]([^)）\]】]*)[)）\]】]\s*$")


# normalized alias -> (field, priority): a lower priority wins when two columns claim a field
def _header_index() -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for field, aliases in _FIELD_ALIASES.items():
        for rank, alias in enumerate(aliases):
            index.setdefault(_name_key(alias), (field, rank))
    return index


_HEADER_INDEX: Final = _header_index()


def _header_field(header: str) -> tuple[str, int] | None:
    """(field, priority) a header names, trying bilingual parts ("订单号/Order ID") too."""
    hit = _HEADER_INDEX.get(_name_key(header))
    if hit is not None:
        return hit
    for part in _HEADER_SPLIT.split(header):
        hit = _HEADER_INDEX.get(_name_key(part))
        if hit is not None:
            return hit
    return None


def _match_headers(record: list[str]) -> dict[str, int]:
    """field -> column index for one candidate header record."""
    best: dict[str, tuple[int, int]] = {}
    for index, cell in enumerate(record):
        if not cell.strip() or len(cell) > 200:
            continue
        hit = _header_field(cell.replace("\ufeff", ""))
        if hit is None:
            continue
        field, rank = hit
        if field == "tracking_number" and is_first_mile(cell):
            continue
        if field not in best or rank < best[field][0]:
            best[field] = (rank, index)
    return {field: index for field, (_, index) in best.items()}


def _alias_hint(field: str) -> str:
    aliases = _FIELD_ALIASES[field]
    chinese = next((a for a in aliases if not a.isascii()), "")
    return f"{field} (a header such as '{aliases[0]}', '{aliases[1]}' or '{chinese}')"


# Headers of a domestic first-mile courier number (Lazada's "Tracking Code (first mile)",
# the ERPs' 头程 "head haul" number): never the tracking number that proves delivery abroad.
_FIRST_MILE: Final = ("firstmile", "头程", "fmtracking", "trackingcodefm", "国内快递", "国内运单")


def is_first_mile(header: str) -> bool:
    key = _name_key(header)
    return any(marker in key for marker in _FIRST_MILE)


def columns_for(
    record: Sequence[str], overrides: Mapping[str, str]
) -> tuple[dict[str, int], ExportProfile | None]:
    """(field -> column index, the export profile recognized) for one candidate header row.

    A recognized export's own header names win over the generic aliases; the seller's
    `--map field="Header"` wins over both. A profile's ignored tracking columns (a first-mile
    number) are never used as the tracking number, whatever matched them.
    """
    cells = [cell.replace("\ufeff", "") for cell in record]
    mapping = _match_headers(cells)
    profile = recognize(cells) if any(cells) else None
    if profile is not None:
        ignored = {header_key(h) for h in profile.ignore_tracking}
        track = mapping.get("tracking_number")
        if track is not None and header_key(cells[track]) in ignored:
            del mapping["tracking_number"]
        mapping.update(profile.locate(cells))
    if overrides:
        keys = {header_key(cell): index for index, cell in reversed(list(enumerate(cells)))}
        for field, header in overrides.items():
            index = keys.get(header_key(header))
            if index is not None:
                mapping[field] = index
    return mapping, profile


def check_overrides(overrides: Mapping[str, str]) -> None:
    """Raise InputError for a `--map` naming a field that does not exist."""
    for field, header in overrides.items():
        if field not in FIELDS:
            raise InputError(
                f"--map {field}={header!r}: {field!r} is not an order field; the fields are "
                + ", ".join(FIELDS)
            )
        if not header.strip():
            raise InputError(f"--map {field}=: the header name is empty")


def _closest(field: str, headers: Sequence[str]) -> list[str]:
    """The found headers most like the field's aliases (difflib ratio >= 0.5), best first."""
    aliases = [header_key(alias.replace("_", " ")) for alias in _FIELD_ALIASES[field]]
    scored: list[tuple[float, str]] = []
    for header in headers:
        key = header_key(header)
        if not key:
            continue
        best = max(difflib.SequenceMatcher(None, key, alias).ratio() for alias in aliases)
        if best >= 0.5 and len(key) >= 4:
            scored.append((best, header.strip()))
    scored.sort(key=lambda item: -item[0])
    return [header for _, header in scored[:3]]


class MissingColumns(InputError):
    """A header row without every needed column; what a mapping step needs to ask for them.

    `missing` (the fields not found), `headers` (every non-empty header of the best row),
    `suggested` (field -> the closest header, when one is close).
    """

    def __init__(
        self,
        message: str,
        *,
        missing: Sequence[str],
        headers: Sequence[str],
        suggested: Mapping[str, str],
    ) -> None:
        super().__init__(message)
        self.missing = tuple(missing)
        self.headers = tuple(headers)
        self.suggested = dict(suggested)


def missing_columns(
    name: str,
    found: Sequence[str],
    mapping: Mapping[str, int],
    overrides: Mapping[str, str],
    where: str = "",
) -> MissingColumns:
    """The one-line error for a header row without every needed column.

    Names each missing field, the closest headers found and the exact `--map` to type.
    """
    missing = [f for f in _REQUIRED if f not in mapping]
    used = set(mapping.values())
    free = [h for i, h in enumerate(found) if i not in used and h.strip()]
    parts: list[str] = []
    maps: list[str] = []
    suggested: set[str] = set()
    closest: dict[str, str] = {}
    for field in missing:
        hint = _alias_hint(field)
        header = overrides.get(field)
        if header is not None:
            parts.append(f"{field} (--map {field}={_quote(header)} names no column here)")
            continue
        close = [h for h in _closest(field, free) if h not in suggested]
        if close:
            hint += "; closest found: " + ", ".join(_show(h) for h in close)
            maps.append(f"--map {field}={_quote(close[0])}")
            suggested.add(close[0])
            closest[field] = close[0]
        parts.append(hint)
    shown = ", ".join(_show(h.strip()) for h in found[:20] if h.strip()) or "none"
    if len(found) > 20:
        shown += f" and {len(found) - 20} more"
    if len(missing) == len(_REQUIRED):
        what = "this does not look like an orders export: no header row" + where
    else:
        what = "no header row" + where
    if maps:
        advice = f" If those are the right columns, run again with {' '.join(maps)}."
    else:
        example = f" (e.g. --map {missing[0]}={_quote(free[0])})" if free else ""
        advice = f' Name each missing column with --map field="Header"{example}.'
    return MissingColumns(
        f"{name}: {what} has the needed columns; missing "
        + "; ".join(parts)
        + f". Headers found: {shown}.{advice}",
        missing=missing,
        headers=[h.strip() for h in found if h.strip()],
        suggested=closest,
    )


def _quote(header: str) -> str:
    return '"' + header.replace('"', '\\"') + '"'


def no_tracking(name: str, profile: ExportProfile) -> InputError:
    """The error for a recognized report that never carries tracking numbers."""
    return InputError(
        f"{name}: this is {profile.name}, which has no tracking numbers; {profile.no_tracking}"
    )
