"""The texts YunExpress's sandbox writes for simulated events, in English and in Chinese.

Shared by the classic renderer (`sandbox.py`) and the Open Platform's (`openapi_sandbox.py`).
"""

from __future__ import annotations

from carriers.kit.sandboxes import variant_of
from carriers.kit.simulated import SimEvent
from tracking.core.domain import Stage

__all__ = ["TEXTS_EN", "TEXTS_ZH", "event_text"]

TEXTS_EN: dict[Stage, tuple[str, ...]] = {
    Stage.INFO_RECEIVED: (
        "Shipment information received",
        "Order information received, awaiting parcel",
        "Electronic shipping information submitted",
    ),
    Stage.PICKED_UP: (
        "Picked up by YunExpress in {city}",
        "Parcel received at warehouse {city}",
        "Collected by carrier",
    ),
    Stage.ORIGIN_FACILITY: (
        "Departed from sorting center {city}",
        "Arrived at sorting center {city}",
        "Processing at origin facility",
    ),
    Stage.EXPORT_CUSTOMS: (
        "Export customs clearance completed",
        "Export declaration in progress",
        "Export clearance success",
    ),
    Stage.DEPARTED_ORIGIN: (
        "Flight departed from origin airport",
        "Departed from origin country",
        "Handed over to airline, flight departed",
    ),
    Stage.IN_TRANSIT: (
        "Arrived at transit hub {city}",
        "In transit to destination country",
        "Departed transit airport {city}",
    ),
    Stage.ARRIVED_DESTINATION: (
        "Arrived in destination country",
        "Flight arrived at destination airport",
        "Arrival at destination country, {city}",
    ),
    Stage.IMPORT_CUSTOMS: (
        "Customs clearance in progress",
        "Import customs clearance completed",
        "Released by customs",
    ),
    Stage.DESTINATION_FACILITY: (
        "Arrived at local delivery facility {city}",
        "Handed over to last-mile carrier",
        "Processed at destination sorting center",
    ),
    Stage.OUT_FOR_DELIVERY: (
        "Out for delivery",
        "With courier for delivery",
        "On vehicle for delivery",
    ),
    Stage.AVAILABLE_FOR_PICKUP: (
        "Arrived at pickup point, awaiting collection",
        "Available for pickup at post office",
        "Delivered to parcel locker, awaiting collection by recipient",
    ),
    Stage.DELIVERY_FAILED: (
        "Delivery attempt failed: recipient not available",
        "Unsuccessful delivery attempt",
        "Delivery failed, incorrect address",
    ),
    Stage.DELIVERED: (
        "Delivered",
        "Delivered, signed by recipient",
        "Parcel delivered to recipient",
    ),
    Stage.RETURNING: (
        "Returning to sender",
        "Return in progress",
        "Being returned to sender",
    ),
    Stage.RETURNED: (
        "Returned to sender",
        "Return delivered to shipper",
        "Parcel returned to sender",
    ),
}
"""English `ProcessContent` per stage; `SimEvent.variant` picks one."""

TEXTS_ZH: dict[Stage, tuple[str, ...]] = {
    Stage.INFO_RECEIVED: (
        "订单信息已接收，等待包裹入库",
        "已接收电子运单信息",
        "运单已生成，等待揽收",
    ),
    Stage.PICKED_UP: ("【{city}】已揽收", "云途{city}仓库已收货", "快件已被收寄"),
    Stage.ORIGIN_FACILITY: ("离开【{city}分拨中心】", "到达【{city}转运中心】", "包裹已完成分拣"),
    Stage.EXPORT_CUSTOMS: ("出口报关完成", "出口报关中", "已完成出口清关"),
    Stage.DEPARTED_ORIGIN: ("航班已起飞", "已离开始发国", "已交航空公司，航班已起飞"),
    Stage.IN_TRANSIT: ("到达中转站【{city}】", "运往目的国途中", "已离开中转机场【{city}】"),
    Stage.ARRIVED_DESTINATION: ("已到达目的国", "航班已抵达目的国机场", "到达目的地国家"),
    Stage.IMPORT_CUSTOMS: ("目的国清关中", "清关完成", "进口清关已放行"),
    Stage.DESTINATION_FACILITY: ("已到达目的国分拣中心", "已交付末端派送商", "到达当地派送站"),
    Stage.OUT_FOR_DELIVERY: ("派送中", "快递员正在派件", "已安排投递"),
    Stage.AVAILABLE_FOR_PICKUP: (
        "已到达自提点，请及时取件",
        "包裹已放入快递柜",
        "已投递至自提点，等待收件人取件",
    ),
    Stage.DELIVERY_FAILED: ("投递失败：收件人不在", "派送不成功，地址错误", "未妥投"),
    Stage.DELIVERED: ("已签收", "已妥投", "签收人：本人签收"),
    Stage.RETURNING: ("退回中", "包裹正在退回发件人", "退件处理中"),
    Stage.RETURNED: ("已退回发件人", "退件已签收", "包裹已退回"),
}
"""Chinese `ProcessContent` per stage (`Accept-Language: zh-cn`)."""

_EXCEPTION_EN: dict[str, tuple[str, ...]] = {
    "lost": ("Parcel lost in transit", "Shipment reported lost"),
    "customs_held": (
        "Held by customs: detained pending inspection",
        "Customs hold - documents required",
    ),
    "": ("Shipment exception",),
}
_EXCEPTION_ZH: dict[str, tuple[str, ...]] = {
    "lost": ("包裹丢失", "快件已确认遗失"),
    "customs_held": ("海关扣留", "包裹被海关扣关，等待补充资料"),
    "": ("运输异常",),
}

_CITIES_ZH: dict[str, str] = {
    "Shenzhen": "深圳",
    "Guangzhou": "广州",
    "Yiwu": "义乌",
    "Dongguan": "东莞",
    "Hangzhou": "杭州",
    "Hong Kong": "香港",
    "Almaty": "阿拉木图",
    "Liege": "列日",
    "Dubai": "迪拜",
}

# `TrackingStatus` per stage, after one third-party mapping (carrier-apis §4.1, low
# confidence): 10 info received, 20 in transit, 30 pickup, 40 failure, 50 delivered,
# 60 exception, 80 customs, 90 returned. The parser does not read it.


def event_text(event: SimEvent, *, chinese: bool) -> str:
    """The `ProcessContent` the sandbox writes for a simulated event."""
    if event.stage is Stage.EXCEPTION:
        table = _EXCEPTION_ZH if chinese else _EXCEPTION_EN
        options = table.get(event.detail, table[""])
    else:
        options = (TEXTS_ZH if chinese else TEXTS_EN)[event.stage]
    city = _CITIES_ZH.get(event.city, event.city) if chinese else event.city
    return variant_of(options, event).format(city=city)
