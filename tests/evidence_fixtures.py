"""Builders of realistic, invented `OrderEvidence` values for the evidence bundle tests.

Everything here is made up: seller, orders, tracking numbers and carrier texts imitate what
Cainiao, YunExpress, Russian Post and USPS return (Chinese first-mile texts, Russian and
English last-mile texts), with raw response bodies whose sha256 the events cite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tracking.core.domain import sha256_hex
from tracking.read.views import (
    BundleInfo,
    EventView,
    ExchangeView,
    FindingView,
    LegView,
    MilestoneView,
    OrderEvidence,
)

__all__ = [
    "CREATED_AT",
    "REFERENCE_ID",
    "RawStore",
    "delivered_multi_leg",
    "delivered_us",
    "failed_missing_departure",
    "failed_returned",
    "hostile_ids",
    "light_orders",
    "long_timeline",
    "make_info",
    "many_orders",
    "pending_in_transit",
    "sample_orders",
]

REFERENCE_ID = "EVD-2024-JM-0815-7731"
CREATED_AT = datetime(2024, 9, 2, 8, 30, tzinfo=UTC)
SELLER = "深圳市星河跨境电子商务有限公司 (Joom: XingHe Store)"
TENANT = "xinghe-joom"
CN = 480  # +08:00
MSK = 180  # +03:00


@dataclass
class RawStore:
    """Raw carrier bodies by sha256, as storage would return them."""

    bodies: dict[str, bytes] = field(default_factory=dict)

    def add(self, body: bytes) -> str:
        digest = sha256_hex(body)
        self.bodies[digest] = body
        return digest

    def __call__(self, sha256: str) -> bytes:
        return self.bodies[sha256]


def make_info(**changes: object) -> BundleInfo:
    """The cover facts of an appeal bundle for the invented seller."""
    info = BundleInfo(
        reference_id=REFERENCE_ID,
        seller=SELLER,
        window_start=datetime(2024, 5, 1, tzinfo=UTC),
        window_end=datetime(2024, 8, 1, tzinfo=UTC),
        created_at=CREATED_AT,
        policy="joom",
        tool_version="0.1.0",
        filters={"marketplace": "joom", "status": "all"},
    )
    return replace(info, **changes)  # type: ignore[arg-type]


def _at(day: int, hour: int, minute: int = 0, *, month: int = 5) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


def _exchange(
    store: RawStore,
    *,
    carrier: str,
    url: str,
    payload: object,
    fetched_at: datetime,
    content_type: str = "application/json; charset=utf-8",
) -> ExchangeView:
    if isinstance(payload, bytes):
        body = payload
    else:
        body = json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True).encode()
    digest = store.add(body)
    return ExchangeView(
        sha256=digest,
        carrier=carrier,
        method="POST" if carrier == "cainiao" else "GET",
        url=url,
        status=200,
        fetched_at=fetched_at,
        size=len(body),
        content_type=content_type,
    )


def _event(
    stage: str,
    code: str,
    text: str,
    at: datetime,
    offset: int | None,
    place: str,
    country: str | None,
    *,
    carrier: str,
    number: str,
    exchange: ExchangeView,
    time_source: str = "explicit",
) -> EventView:
    return EventView(
        stage=stage,
        code=code,
        description=text,
        occurred_at=at,
        local_offset=offset,
        time_source=time_source if offset is not None else "unknown",
        location=place,
        country=country,
        carrier=carrier,
        tracking_number=number,
        exchange_sha256=exchange.sha256,
    )


def _milestones(
    events: tuple[EventView, ...], *, infer_arrival: bool = True
) -> tuple[MilestoneView, ...]:
    out: list[MilestoneView] = []
    for stage in ("departed_origin", "arrived_destination", "delivered"):
        found = next((e for e in events if e.stage == stage), None)
        if found is not None:
            out.append(MilestoneView(stage=stage, status="explicit", event=found))
            continue
        if stage == "arrived_destination" and infer_arrival:
            later = next(
                (e for e in events if e.stage in ("import_customs", "destination_facility")), None
            )
            if later is not None:
                note = f"inferred from '{later.stage}' in {later.country}"
                out.append(MilestoneView(stage=stage, status="inferred", event=later, note=note))
                continue
        out.append(MilestoneView(stage=stage, status="missing"))
    return tuple(out)


def delivered_multi_leg(
    store: RawStore,
    *,
    order_id: str = "JM240501-88231",
    origin_number: str = "LP00612345678901",
    last_number: str = "RR123456785CN",
    day: int = 1,
    tenant: str = TENANT,
) -> OrderEvidence:
    """Cainiao to Russian Post, delivered in Moscow: Chinese first mile, Russian last mile."""
    fetched = _at(day + 20, 3, 12, month=5) if day <= 8 else _at(min(day + 5, 28), 3, month=6)
    cainiao = _exchange(
        store,
        carrier="cainiao",
        url="https://global.cainiao.com/global/detail.json?mailNos="
        + origin_number
        + "&lang=zh-CN",
        fetched_at=fetched,
        payload={
            "module": [
                {
                    "mailNo": origin_number,
                    "destCountry": "RU",
                    "detailList": [
                        {"time": f"2024-05-0{day} 10:02:11", "desc": "【深圳市】已揽收"},
                        {"time": f"2024-05-0{day + 1} 13:45:00", "desc": "离开中国 已出口直封"},
                    ],
                    "status": "DELIVERED",
                }
            ],
            "success": True,
        },
    )
    post = _exchange(
        store,
        carrier="russian_post",
        url="https://tracking.pochta.ru/api/v1/trackings/by-barcodes?language=ru&barcodes="
        + last_number,
        fetched_at=fetched + timedelta(seconds=41),
        content_type="application/xml",
        payload=(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<history barcode="{last_number}">'
            '<op type="Вручение" attr="Вручение адресату" index="101000"/></history>\n'
        ).encode(),
    )
    c = {"carrier": "cainiao", "number": origin_number, "exchange": cainiao}
    r = {"carrier": "russian_post", "number": last_number, "exchange": post}
    events = (
        _event(
            "info_received",
            "CW_ORDER",
            "【深圳市】商家已打单，等待揽收",
            _at(day, 1, 30),
            CN,
            "深圳市",
            "CN",
            **c,
        ),
        _event(
            "picked_up", "GWMS_ACCEPT", "【深圳市】已揽收", _at(day, 2, 2), CN, "深圳市", "CN", **c
        ),
        _event(
            "origin_facility",
            "SC_INBOUND",
            "快件已到达【深圳转运中心】，正在分拣",
            _at(day, 9, 40),
            CN,
            "深圳转运中心",
            "CN",
            **c,
        ),
        _event(
            "export_customs",
            "CC_EX_SUCCESS",
            "【深圳】出口清关完成",
            _at(day + 1, 1, 5),
            CN,
            "深圳",
            "CN",
            **c,
        ),
        _event(
            "departed_origin",
            "LH_DEPART",
            "离开中国 已出口直封 / Departed from origin country",
            _at(day + 1, 5, 45),
            CN,
            "深圳宝安国际机场",
            "CN",
            **c,
        ),
        _event(
            "arrived_destination",
            "LH_ARRIVE",
            "Прибыло в Россию / Arrived at destination country",
            _at(day + 3, 7, 10),
            MSK,
            "Москва, Шереметьево",
            "RU",
            **r,
        ),
        _event(
            "import_customs",
            "8-0",
            "Таможенное оформление завершено. Выпуск товаров без уплаты таможенных платежей",
            _at(day + 4, 11, 0),
            MSK,
            "Москва ММПО",
            "RU",
            **r,
        ),
        _event(
            "destination_facility",
            "8-2",
            "Прибыло в сортировочный центр",
            _at(day + 6, 2, 30),
            MSK,
            "Москва, сортировочный центр 140983",
            "RU",
            **r,
        ),
        _event(
            "out_for_delivery",
            "8-21",
            "Прибыло в место вручения",
            _at(day + 8, 6, 15),
            MSK,
            "Москва 101000",
            "RU",
            **r,
        ),
        _event(
            "delivered",
            "2-1",
            "Вручение адресату",
            _at(day + 9, 12, 48),
            MSK,
            "Москва 101000",
            "RU",
            **r,
        ),
    )
    legs = (
        LegView(
            carrier="cainiao",
            carrier_name="Cainiao 菜鸟",
            tracking_number=origin_number,
            role="origin",
            public_url="https://global.cainiao.com/newDetail.htm?mailNoList=" + origin_number,
            status="已妥投 Delivered",
            final=True,
        ),
        LegView(
            carrier="russian_post",
            carrier_name="Почта России (Russian Post)",
            tracking_number=last_number,
            role="last_mile",
            public_url="https://www.pochta.ru/tracking?barcode=" + last_number,
            status="Вручение адресату",
            final=True,
        ),
    )
    return OrderEvidence(
        tenant=tenant,
        order_id=order_id,
        marketplace="joom",
        order_date=_at(day, 0, 12) - timedelta(hours=20),
        destination_country="RU",
        tracking_number=origin_number,
        carrier="cainiao",
        carrier_name="Cainiao 菜鸟",
        public_url=legs[0].public_url,
        verdict="pass",
        policy="joom",
        milestones=_milestones(events),
        findings=(),
        events=events,
        legs=legs,
        exchanges=(cainiao, post),
        destination_city="Москва",
        destination_postal_code="101000",
        order_value=Decimal("18.40"),
        currency="USD",
        verdict_computed_at=fetched + timedelta(minutes=1),
    )


def delivered_us(
    store: RawStore, *, order_id: str = "JM240503-10977", day: int = 3
) -> OrderEvidence:
    """YunExpress to the United States, English texts, delivered to a mailbox."""
    number = "YT2412345678901234"
    fetched = _at(day + 15, 6, 0)
    yun = _exchange(
        store,
        carrier="yunexpress",
        url="https://services.yunexpress.com/api/Tracking/GetTrackAllInfo?NumberList=" + number,
        fetched_at=fetched,
        payload={
            "Item": {"WaybillNumber": number, "CountryCode": "US", "PackageState": 3},
            "Code": "0000",
        },
    )
    y = {"carrier": "yunexpress", "number": number, "exchange": yun}
    pst = -420
    events = (
        _event(
            "picked_up",
            "10",
            "【广州】快件已揽收 Shipment picked up",
            _at(day, 3, 0),
            CN,
            "Guangzhou",
            "CN",
            **y,
        ),
        _event(
            "departed_origin",
            "30",
            "Departed from airport of origin country",
            _at(day + 2, 16, 20),
            CN,
            "Guangzhou Baiyun International Airport",
            "CN",
            **y,
        ),
        _event(
            "arrived_destination",
            "40",
            "Arrived at destination country airport",
            _at(day + 4, 2, 5),
            pst,
            "Los Angeles, CA",
            "US",
            **y,
        ),
        _event(
            "import_customs",
            "45",
            "Customs clearance completed",
            _at(day + 4, 20, 0),
            pst,
            "Los Angeles, CA",
            "US",
            **y,
        ),
        _event(
            "out_for_delivery",
            "60",
            "Out for Delivery, Expected Delivery Before 9:00pm",
            _at(day + 8, 15, 2),
            pst,
            "SAN JOSE, CA 95112",
            "US",
            **y,
        ),
        _event(
            "delivered",
            "70",
            "Delivered, In/At Mailbox",
            _at(day + 9, 0, 41),
            pst,
            "SAN JOSE, CA 95112",
            "US",
            **y,
        ),
    )
    leg = LegView(
        carrier="yunexpress",
        carrier_name="YunExpress 云途",
        tracking_number=number,
        role="origin",
        public_url="https://www.yuntrack.com/parcelTracking?id=" + number,
        status="Delivered",
        final=True,
    )
    return OrderEvidence(
        tenant=TENANT,
        order_id=order_id,
        marketplace="joom",
        order_date=_at(day - 1, 8, 0),
        destination_country="US",
        tracking_number=number,
        carrier="yunexpress",
        carrier_name="YunExpress 云途",
        public_url=leg.public_url,
        verdict="pass",
        policy="joom",
        milestones=_milestones(events),
        findings=(),
        events=events,
        legs=(leg,),
        exchanges=(yun,),
        destination_city="San Jose",
        destination_postal_code="95112",
        order_value=Decimal("7.99"),
        currency="USD",
        verdict_computed_at=fetched,
    )


def failed_missing_departure(store: RawStore, *, order_id: str = "JM240510-55102") -> OrderEvidence:
    """Delivered by the last-mile carrier but no event shows the parcel leaving China."""
    order = delivered_multi_leg(
        store,
        order_id=order_id,
        origin_number="LP00698765432109",
        last_number="RR987654321CN",
        day=6,
    )
    events = tuple(e for e in order.events if e.stage not in ("departed_origin", "export_customs"))
    finding = FindingView(
        code="milestone.missing",
        severity="error",
        message="Missing milestone(s): departed from the origin country.",
        message_zh="缺少物流节点：离开始发国。",
    )
    tz = FindingView(
        code="milestone.time_unknown",
        severity="warning",
        message=(
            "The time zone of the 'delivered' event is unknown; its local time may be off by hours."
        ),
        message_zh="“妥投”节点的时区未知，本地时间可能有偏差。",
        evidence=(f"exchange:{order.exchanges[1].sha256}",),
    )
    return replace(
        order,
        events=events,
        milestones=_milestones(events),
        findings=(finding, tz),
        verdict="fail",
    )


def failed_returned(store: RawStore, *, order_id: str = "SP-2024-0613-0042") -> OrderEvidence:
    """A Shopee order whose parcel came back to the sender."""
    order = delivered_us(store, order_id=order_id, day=12)
    y = {"carrier": "yunexpress", "number": order.tracking_number, "exchange": order.exchanges[0]}
    events = (
        *order.events[:4],
        _event(
            "delivery_failed",
            "65",
            "Notice Left (No Authorized Recipient Available)",
            _at(21, 19, 30),
            -420,
            "SAN JOSE, CA 95112",
            "US",
            **y,
        ),
        _event(
            "returning",
            "80",
            "Return to Sender, Insufficient Address / 地址不详，退回寄件人",
            _at(24, 17, 0),
            -420,
            "SAN JOSE, CA 95112",
            "US",
            **y,
        ),
    )
    finding = FindingView(
        code="shipment.returned",
        severity="error",
        message="The parcel is returning to the sender. It cannot prove delivery.",
        message_zh="包裹已退回/正在退回发件人，无法证明妥投。",
        evidence=(f"exchange:{order.exchanges[0].sha256}",),
    )
    return replace(
        order,
        marketplace="shopee",
        events=events,
        milestones=_milestones(events),
        findings=(
            finding,
            FindingView(
                code="milestone.missing",
                severity="error",
                message="Missing milestone(s): delivered.",
                message_zh="缺少物流节点：妥投。",
            ),
        ),
        verdict="fail",
        legs=(replace(order.legs[0], status="Return to Sender", final=False),),
    )


def pending_in_transit(store: RawStore, *, order_id: str = "JM240725-00017") -> OrderEvidence:
    """Young order, still in international transit."""
    order = delivered_multi_leg(
        store,
        order_id=order_id,
        origin_number="LP00611112222333",
        last_number="RR111122223CN",
        day=2,
    )
    events = order.events[:5]
    return replace(
        order,
        order_date=_at(25, 3, 0, month=7),
        events=events,
        milestones=_milestones(events),
        verdict="pending",
        findings=(
            FindingView(
                code="shipment.stale",
                severity="warning",
                message="No carrier update for 9 days (last: departed_origin).",
                message_zh="承运商已 9 天没有更新。",
                evidence=(f"exchange:{order.exchanges[0].sha256}",),
            ),
        ),
        legs=(replace(order.legs[0], status="离开中国 In transit", final=False),),
        exchanges=order.exchanges[:1],
    )


def long_timeline(
    store: RawStore, *, order_id: str = "JM240502-LONG", events: int = 140
) -> OrderEvidence:
    """A multi-page timeline with one very long carrier text (row split across pages)."""
    order = delivered_multi_leg(
        store,
        order_id=order_id,
        origin_number="LP00633334444555",
        last_number="RR333344445CN",
        day=2,
    )
    base = order.events[2]
    extra = tuple(
        replace(
            base,
            stage="in_transit",
            code=f"TR{i:03d}",
            description=(
                f"【中转】快件在【广州国际转运中心】完成第 {i} 次分拣 / "
                f"Sorting scan #{i} at the Guangzhou "
                "international transit hub; next stop: Urumqi (乌鲁木齐) consolidation centre"
            ),
            occurred_at=base.occurred_at + timedelta(minutes=7 * i),
        )
        for i in range(events)
    )
    giant = replace(
        base,
        stage="exception",
        code="EXC_LONG",
        description="超长描述 "
        + " ".join(["Посылка задержана на таможне для дополнительной проверки документов;"] * 90),
        occurred_at=base.occurred_at + timedelta(minutes=7 * events + 1),
    )
    all_events = tuple(sorted((*order.events, *extra, giant), key=lambda e: e.occurred_at))
    return replace(order, events=all_events, milestones=_milestones(all_events))


def hostile_ids() -> list[str]:
    """Order ids that make naive file names dangerous, ambiguous or non-portable."""
    return [
        "../../x",
        "CON",
        "con.txt",
        "a/b",
        "a\\b",
        "订单#1",
        "订单 1",
        "x" * 300,
        "A1",
        "a1",
        "",
        "...",
        " lead and trail ",
        "ends.",
        "名" * 120,
        "e\u0301t\u00e9",
        "LPT1",
        "nul",
        "tab\there",
        "emoji📦",
        "A1-5d7e3a9c",
    ]


def sample_orders(store: RawStore) -> list[OrderEvidence]:
    """One of each kind: delivered (RU, US), failed (2 reasons), pending."""
    return [
        delivered_multi_leg(store),
        delivered_us(store),
        failed_missing_departure(store),
        failed_returned(store),
        pending_in_transit(store),
    ]


def light_orders(
    store: RawStore, count: int, *, delivered_every: int = 10
) -> Iterator[OrderEvidence]:
    """`count` small single-leg orders (a generator): one in `delivered_every` delivered, the
    rest failing or pending, for exports of thousands of orders that must stay quick."""
    base = delivered_us(store)
    transit = base.events[:3]
    for i in range(count):
        order_id = f"SP{2400000 + i:07d}"
        number = f"YT24{i:014d}"
        if i % delivered_every == 0:
            yield replace(base, order_id=order_id, tracking_number=number)
            continue
        pending = i % 3 == 0
        events = transit if pending else transit[:1]
        findings = (
            FindingView(
                code="milestone.missing",
                severity="info" if pending else "error",
                message=("Not yet proven" if pending else "Missing milestone(s)")
                + (": delivered." if pending else ": departed from the origin country, delivered."),
                message_zh="缺少物流节点：" + ("妥投。" if pending else "离开始发国、妥投。"),
            ),
        )
        yield replace(
            base,
            order_id=order_id,
            tracking_number=number,
            destination_country=("US", "RU", "BR", "ES", "IL")[i % 5],
            events=events,
            milestones=_milestones(events, infer_arrival=False),
            findings=findings,
            verdict="pending" if pending else "fail",
            legs=(replace(base.legs[0], tracking_number=number, status="In transit", final=False),),
        )


def many_orders(store: RawStore, count: int, *, prefix: str = "JM") -> Iterator[OrderEvidence]:
    """`count` varied orders, streamed (a generator), each with its own raw bodies."""
    makers = (
        delivered_multi_leg,
        delivered_us,
        failed_missing_departure,
        failed_returned,
        pending_in_transit,
    )
    for i in range(count):
        kind = i % len(makers)
        order_id = f"{prefix}{240000 + i:06d}-{i % 97:02d}"
        if kind == 0:
            order = delivered_multi_leg(
                store,
                order_id=order_id,
                origin_number=f"LP{i:014d}",
                last_number=f"RR{i % 100_000_000:08d}5CN",
                day=1 + i % 7,
            )
        else:
            order = makers[kind](store, order_id=order_id)
        yield order
