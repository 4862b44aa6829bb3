"""Bilingual labels (English first, Chinese second) and the plain-words formatting of values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from tracking.core.countries import country_name, country_name_zh
from tracking.core.domain import MILESTONES
from tracking.read.views import EventView, ExchangeView, OrderEvidence

__all__ = [
    "MILESTONE_LABELS",
    "ROLE_LABELS",
    "SEVERITY_LABELS",
    "STAGE_LABELS",
    "STATUS_LABELS",
    "TIME_SOURCE_LABELS",
    "VERDICT_LABELS",
    "bi",
    "country",
    "event_ref",
    "exchange_for",
    "fail_reasons",
    "fmt_local",
    "fmt_money",
    "fmt_size",
    "fmt_utc",
    "stage_label",
]

STAGE_LABELS: dict[str, tuple[str, str]] = {
    "info_received": ("Info received", "已接收信息"),
    "picked_up": ("Picked up", "已揽收"),
    "origin_facility": ("Origin facility", "始发地处理"),
    "export_customs": ("Export customs", "出口报关"),
    "departed_origin": ("Departed origin country", "离开始发国"),
    "in_transit": ("In transit", "运输途中"),
    "arrived_destination": ("Arrived in destination country", "到达目的国"),
    "import_customs": ("Import customs", "进口清关"),
    "destination_facility": ("Destination facility", "目的地处理"),
    "out_for_delivery": ("Out for delivery", "派送中"),
    "available_for_pickup": ("At pickup point", "待自提"),
    "delivery_failed": ("Delivery failed", "投递失败"),
    "delivered": ("Delivered", "已妥投"),
    "returning": ("Returning", "退回中"),
    "returned": ("Returned", "已退回"),
    "exception": ("Exception", "异常"),
    "unknown": ("Unrecognized", "未识别"),
}

MILESTONE_LABELS: dict[str, tuple[str, str]] = {
    stage.value: STAGE_LABELS[stage.value] for stage in MILESTONES
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "explicit": ("explicit", "明确"),
    "inferred": ("inferred", "推断"),
    "missing": ("missing", "缺失"),
}

VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "pass": ("PASS", "通过"),
    "fail": ("FAIL", "未通过"),
    "pending": ("PENDING", "待定"),
}

SEVERITY_LABELS: dict[str, tuple[str, str]] = {
    "error": ("error", "错误"),
    "warning": ("warning", "警告"),
    "info": ("info", "提示"),
}

ROLE_LABELS: dict[str, tuple[str, str]] = {
    "origin": ("origin", "头程"),
    "last_mile": ("last mile", "尾程"),
}

TIME_SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "explicit": ("offset given by the carrier", "承运商给出时区"),
    "carrier_convention": ("carrier's documented time zone", "承运商约定时区"),
    "inferred": ("offset inferred from the place", "按地点推断时区"),
    "unknown": ("local offset unknown", "时区未知"),
}


def bi(pair: tuple[str, str], sep: str = " / ") -> str:
    """`English / 中文`."""
    return f"{pair[0]}{sep}{pair[1]}" if pair[1] else pair[0]


def stage_label(stage: str) -> tuple[str, str]:
    """Bilingual label of a stage (the raw name for stages this version does not know)."""
    return STAGE_LABELS.get(stage, (stage, ""))


def fmt_utc(moment: datetime | None, *, seconds: bool = False) -> str:
    """`2024-05-01 02:00Z` (`—` for None)."""
    if moment is None:
        return "—"
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%SZ" if seconds else "%Y-%m-%d %H:%MZ")


def fmt_local(moment: datetime | None, offset_minutes: int | None) -> str:
    """`2024-05-01 10:00 +08:00`; with an unknown offset the UTC time, marked as such."""
    if moment is None:
        return "—"
    if offset_minutes is None:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") + " UTC?"
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local:%Y-%m-%d %H:%M} {sign}{hours:02d}:{minutes:02d}"


def fmt_size(size: int) -> str:
    """`812 B`, `14.2 KB`, `3.1 MB`."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def fmt_money(value: Decimal | None, currency: str) -> str:
    """`12.50 USD` (`—` when unknown)."""
    if value is None:
        return "—"
    return f"{value:.2f} {currency}".strip()


def country(code: str | None) -> str:
    """`RU · Russian Federation / 俄罗斯` (the code alone when it is not a known country)."""
    if not code:
        return "—"
    name = country_name(code)
    return f"{code} · {bi((name, country_name_zh(code)))}" if name and name != code else code


def event_ref(events: tuple[EventView, ...], event: EventView | None) -> int | None:
    """1-based number of `event` in the order's timeline (None when absent)."""
    if event is None:
        return None
    for number, candidate in enumerate(events, start=1):
        if candidate == event:
            return number
    return None


def fail_reasons(order: OrderEvidence) -> tuple[list[str], list[str]]:
    """Why an order does not pass, in plain words: English lines and Chinese lines."""
    english: list[str] = []
    chinese: list[str] = []
    for finding in order.findings:
        if finding.severity == "error":
            english.append(finding.message)
            if finding.message_zh:
                chinese.append(finding.message_zh)
    missing = [m.stage for m in order.milestones if m.status == "missing"]
    if missing and not any(
        f.code == "milestone.missing" and f.severity == "error" for f in order.findings
    ):
        names = [MILESTONE_LABELS.get(stage, (stage, stage)) for stage in missing]
        english.append("No carrier event shows: " + ", ".join(n[0].lower() for n in names) + ".")
        chinese.append("缺少物流节点：" + "、".join(n[1] for n in names) + "。")
    if not english and order.verdict == "pending":
        english.append("Still in transit; the verdict is not final yet.")
        chinese.append("仍在运输途中，尚未得出最终结论。")
    if not english and order.verdict == "fail":
        english.append("Does not meet the policy's requirements.")
        chinese.append("不满足规则要求。")
    return english, chinese


def exchange_for(order: OrderEvidence, sha256: str) -> ExchangeView | None:
    """The earliest fetch of the raw response `sha256` among the order's exchanges."""
    found = [x for x in order.exchanges if x.sha256 == sha256]
    return min(found, key=lambda x: (x.fetched_at, x.url)) if found else None
