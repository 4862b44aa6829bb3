"""Free-text event descriptions (Chinese, English, Russian) to unified stages.

For carriers that send only text (YunExpress classic, last-mile posts relayed by them).
`RULES` is an ordered table: the first rule whose pattern matches the normalized text
decides, so the most specific wordings come first and guard the classic traps:

- a pickup point or locker is `available_for_pickup`, not `delivered`
  ("arrived at pickup point", "已到达自提点", "прибыло в пункт выдачи");
- a failed attempt is `delivery_failed` even though it mentions delivery;
- leaving a sorting centre is a facility scan; `departed_origin` needs the origin
  country, its airport or a departed flight;
- a bare "customs" / "清关" / "таможенное оформление" is import clearance; export
  clearance is named as such ("出口报关", "export customs");
- "returned to sender" is `returned`, "returning" / "return to sender" is `returning`.

Some rules map to `Stage.UNKNOWN` on purpose (a promised delivery date is not a
delivery). Text no rule matches is `unknown` too: an unknown stage is reported, a wrong
one would be evidence.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from tracking.core.domain import Stage

__all__ = ["RULES", "Rule", "classify", "explain", "normalize"]


# Scripts, to try only the alternatives written in a script the text contains.
_LATIN, _CJK, _CYRILLIC = 0, 1, 2
_SCRIPT_CHARS: tuple[re.Pattern[str], ...] = (
    re.compile(r"[a-z]"),
    re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]"),
    re.compile(r"[\u0400-\u04ff]"),
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the rule table: a named pattern and the stage it means.

    `pattern` is every alternative; `by_script` holds the same alternatives split by the
    script they are written in (Latin, CJK, Cyrillic; None where a rule has none), which
    is what `explain` runs.
    """

    name: str
    stage: Stage
    pattern: re.Pattern[str]
    by_script: tuple[re.Pattern[str] | None, ...]


def _script(alternative: str) -> int:
    for script in (_CJK, _CYRILLIC):
        if _SCRIPT_CHARS[script].search(alternative):
            return script
    return _LATIN


def _join(alternatives: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{a})" for a in alternatives)) if alternatives else None


def _rule(name: str, stage: Stage, *alternatives: str) -> Rule:
    split: tuple[list[str], ...] = ([], [], [])
    for alternative in alternatives:
        split[_script(alternative)].append(alternative)
    pattern = re.compile("|".join(f"(?:{a})" for a in alternatives))
    return Rule(name, stage, pattern, tuple(_join(part) for part in split))


# Fragments shared by several rules (normalized text is lower case).
_RECIPIENT = r"(?:recipient|addressee|consignee|customer|receiver|owner)"
_SENDER = r"(?:sender|shipper|merchant|seller|consignor)"
_PICKUP_PLACE = (
    r"(?:pick ?-?up (?:point|location|station|store|shop)|parcel (?:locker|terminal|shop|point)"
    r"|(?:smart |self-service )?locker|collection point|service point|pudo(?: point)?"
    r"|post office box|po box)"
)
_ORIGIN_CITIES_ZH = r"(?:深圳|广州|义乌|东莞|杭州|上海|北京|厦门|宁波|苏州|福州|金华|佛山|中山)"
_ORIGIN_CITIES_EN = (
    r"(?:shenzhen|guangzhou|yiwu|dongguan|hangzhou|shanghai|beijing|xiamen|ningbo|suzhou"
    r"|fuzhou|jinhua|foshan|zhongshan)"
)
_ORIGIN_MARKERS_RU = r"(?:кита|кнр|china|шэньчж|шеньчж|гуанчж|\bиу\b|ханчж|дунгуа|пекин|шанха)"
_FACILITY_RU = r"(?:сортировоч|сортировк|логистическ|склад|обработк|магистральн)"

RULES: tuple[Rule, ...] = (
    # -- back with the sender (must precede every "delivered" rule) ---------------------
    _rule(
        "returned_to_sender_delivered",
        Stage.RETURNED,
        rf"\bdelivered,? to (?:the )?(?:original )?{_SENDER}",
        rf"\breturn(?:ed)? (?:parcel |item |shipment |package )?(?:was |has been )?"
        rf"(?:delivered to|received by|signed for by|collected by) (?:the )?{_SENDER}",
        rf"(?<!be )\b(?:received|signed for|collected) by (?:the )?(?:original )?{_SENDER}\b",
        r"退件已?(?:签收|妥投|送达)|退回件?已?(?:签收|妥投)|已退回|已退还|退回成功|退件完成",
        r"вручен\w* отправителю|получено отправителем|возвращен\w* отправителю"
        r"|доставлено отправителю",
    ),
    _rule(
        "returning",
        Stage.RETURNING,
        r"\breturning\b",
        r"\b(?:being|will be|to be) returned\b",
        rf"\breturn (?:to|towards) (?:the )?(?:{_SENDER}|origin)\b",
        r"\breturn(?:ed)? (?:shipment |parcel |item |package )?(?:is )?(?:in transit|en route)\b",
        r"\breturn (?:initiated|in progress|processed|started|requested|dispatched)\b",
        r"\bsent back\b|\bon (?:its|the) way back\b",
        r"退回中|正在退回|退回途中|退件中|退件处理中|退回处理中|退件运输中|安排退回|拒收退回"
        r"|准备退回|退运|(?:开始|已开始)退回|退回.{0,10}途中|(?:正在)?返回(?:发件|寄件|卖家|商家|始发)",
        r"\bвозврат\b|возвращается|истечени\w* срока хранения|истек срок хранения"
        r"|отправлено обратно|передано на возврат|следует к отправителю",
    ),
    _rule(
        "returned",
        Stage.RETURNED,
        rf"\breturned to (?:the )?(?:{_SENDER}|origin)\b",
        r"\b(?:parcel|item|shipment|package) (?:has been |was )?returned\b",
        r"^returned$",
    ),
    # -- "held" at a post office is a pickup, not an exception ---------------------------
    _rule(
        "held_for_pickup",
        Stage.AVAILABLE_FOR_PICKUP,
        r"\bheld at (?:the )?post office\b",
        r"\b(?:held|hold) for (?:pick ?-?up|collection)\b",
    ),
    # -- failed attempts (mention delivery; must precede "delivered") --------------------
    _rule(
        "delivery_failed",
        Stage.DELIVERY_FAILED,
        r"\b(?:delivery|deliver)(?: attempt)? (?:failed|unsuccessful|not successful)\b",
        r"\b(?:failed|unsuccessful|missed) (?:delivery|attempt)",
        r"\b(?:delivery attempted|attempted delivery)\b",
        r"\b(?:not|never) (?:been |yet )?delivered\b",
        r"\b(?:could|can)(?:not|n't| not) be delivered\b|\bunable to deliver\b|\bundeliverable\b",
        r"\bdelivery could not be (?:made|completed)\b",
        r"\bnotice left\b|\bno authori[sz]ed recipient\b",
        rf"\b{_RECIPIENT} (?:not (?:available|at home|present|home)|unavailable|absent|moved)\b",
        rf"\b(?:refused|rejected) by (?:the )?{_RECIPIENT}\b|\b{_RECIPIENT} refused\b",
        r"\b(?:incorrect|insufficient|wrong|incomplete|bad|unknown) address\b",
        r"\baddressee unknown\b|\bbusiness closed\b|\bno access to delivery location\b",
        r"\bdelivery exception\b|\bpostman not attended\b",
        r"投递失败|派送失败|派送不成功|投递不成功|(?:投递|派送)未成功|未妥投|未能(?:投递|派送|送达|签收)"
        r"|无法(?:投递|派送|送达)|派送异常|投递异常|拒收|拒签|收件人不在|联系不上收件人"
        r"|无人签收|地址(?:错误|不详|不全|有误)|签收失败",
        r"неудачн\w* попытк|попытка вручения не удалась|отсутстви\w* адресата"
        r"|адресат отсутствует|отказ (?:адресата|получателя|от получения)|адресат отказался"
        r"|не удалось (?:вручить|доставить)|неверный адрес|адрес не (?:найден|существует)"
        r"|невозможно (?:доставить|вручить)|не вручено|доставка не состоялась|\bневручение\b",
    ),
    # -- lost, damaged, destroyed, held, cancelled ----------------------------------------
    _rule(
        "exception",
        Stage.EXCEPTION,
        r"\b(?:lost|missing|damaged|destroyed|disposed|stolen|confiscated|seized|abandoned)\b",
        r"\b(?:cancell?ed|cancellation)\b",
        r"\b(?:held|hold|detained|detention|on hold)\b",
        r"\b(?:exception|prohibited|contraband)\b",
        r"丢失|遗失|丢件|破损|损坏|销毁|扣留|扣关|扣押|没收|取消|违禁|禁运|滞留|(?<!派送)(?<!投递)异常",
        r"утерян|утрачен|утрат|поврежд|уничтож|изъят|конфиск|задержан|отмен|аннулир|запрещ",
    ),
    # -- delivered to the recipient at a pickup point or locker ---------------------------
    _rule(
        "delivered_to_recipient",
        Stage.DELIVERED,
        rf"(?<!be )\b(?:picked up|collected|received|signed for) by (?:the )?{_RECIPIENT}\b",
        rf"\bdelivered to (?:the )?{_RECIPIENT}\b",
        rf"\bhanded (?:over )?to (?:the )?{_RECIPIENT}\b",
        r"\bdelivered,? (?:individual picked up|in/at mailbox|parcel locker|front door"
        r"|front desk|porch|left with individual|mail room|garage)",
        r"\bindividual picked up\b",
        r"收件人已(?:取件|提货|领取|签收|取走)|已被收件人(?:取走|取件|领取|签收)"
        r"|(?:已从|从)(?:自提点|自提柜|快递柜|驿站|提货点|智能柜)取(?:件|出|走)",
        r"вручен\w* (?:адресату|получателю)|вручение (?:адресату|получателю)"
        r"|получено (?:адресатом|получателем)|выдано (?:адресату|получателю)|получатель забрал",
    ),
    # -- at a pickup point: not delivered yet ---------------------------------------------
    _rule(
        "available_for_pickup",
        Stage.AVAILABLE_FOR_PICKUP,
        r"\b(?:ready|available) for (?:pick ?-?up|collection)\b",
        r"\bready to be (?:collected|picked up)\b",
        rf"\bawaiting (?:collection|pick ?-?up|withdrawal)"
        rf"(?: (?:by|from) (?:the )?{_RECIPIENT}| at)\b",
        r"\bawaiting collection\b|\bwaiting for you\b|\bawaiting you\b",
        rf"\bwaiting for (?:the )?{_RECIPIENT}\b",
        rf"\b(?:arrive[ds]?|delivered|placed|deposited|stored|received|dropped) (?:at|in|into|to) "
        rf"(?:the |a |your )?{_PICKUP_PLACE}",
        rf"\b{_PICKUP_PLACE}\b",
        r"自提点|自提柜|快递柜|智能柜|丰巢|驿站|代收点|提货点|自取点|取件码|待取件|待自提"
        r"|请(?:及时|尽快)?(?:到|至|前往)?.{0,12}(?:取件|领取|提取)",
        r"пункт\w* выдачи|\bпвз\b|постамат|почтомат|ожидает (?:адресата|получателя|вручения"
        r"|получения|выдачи)|готов\w* к выдаче|прибыло в место вручения|в месте вручения"
        r"|можно забрать|доставлено в (?:пункт|постамат|отделение)",
    ),
    # -- out for delivery -----------------------------------------------------------------
    _rule(
        "out_for_delivery",
        Stage.OUT_FOR_DELIVERY,
        r"\bout for delivery\b",
        r"\bon (?:the )?(?:vehicle|van|truck) for delivery\b",
        r"\bwith (?:the )?(?:delivery )?(?:courier|driver|postman|mail carrier|letter carrier)"
        r"(?: for delivery)?\b",
        r"\b(?:courier|driver|postman) (?:is )?(?:on (?:the|his|her) way|delivering)\b",
        r"\bbeing delivered\b|\bdelivery in progress\b|\bscheduled for delivery today\b",
        r"\barriving today\b",
        r"\bhanded (?:over )?to (?:the )?(?:courier|postman|driver) for delivery\b",
        r"派送中|派件中|正在派送|正在派件|安排派送|开始派送|投递中|正在投递|安排投递|出班投递"
        r"|配送中|正在配送|(?:快递员|派送员|投递员|派件员|配送员).{0,6}(?:派送|派件|投递|配送)",
        r"передано (?:почтальону|курьеру)|выдано (?:почтальону|курьеру)"
        r"|доставляется (?:курьером|почтальоном)|курьер (?:везет|доставляет|в пути)"
        r"|передано (?:для|на) доставк|отправлено на доставку|\bв доставке\b",
    ),
    # -- handed to an airline: still at origin ("delivered to airline" is not delivered) ---
    _rule(
        "handed_to_airline",
        Stage.ORIGIN_FACILITY,
        r"^(?!.*\bexport (?:\w+ )?(?:customs|clearance|declaration))(?!.*\bdeparted\b)"
        r".*\b(?:handed (?:over )?|delivered |tendered )to (?:the )?(?:airline|air carrier)\b",
        r"(?:已交|交付|移交)(?:给)?航空公司(?!.*(?:已起飞|航班起飞))|交航(?!.*(?:已起飞|航班起飞))",
        r"передано авиаперевозчику(?!.*вылет)",
    ),
    # -- promises and facility hand-overs that only look like deliveries -------------------
    _rule(
        "not_a_delivery",
        Stage.UNKNOWN,
        r"\b(?:will|to|should|may|can|could|would) be delivered\b",
        r"\b(?:estimated|expected|scheduled|new|updated|planned) delivery\b",
        r"\bdelivered to (?:the )?(?:\w+ ){0,2}(?:sorting|facility|hub|warehouse|airport"
        r"|airline|carrier|customs|depot|terminal|center|centre|station)\b",
        r"预计|预估|将于|待签收",
        r"ожидаемая дата|планируемая дата|будет (?:доставлено|вручено)",
    ),
    # -- a warehouse signing for a parcel is a first-mile scan -----------------------------
    _rule(
        "warehouse_received",
        Stage.PICKED_UP,
        r"仓库?已(?:签收|收货|接收)",
    ),
    _rule(
        "delivered",
        Stage.DELIVERED,
        r"\bdelivered\b|\bsigned for\b|\bproof of delivery\b",
        r"\bdelivery (?:completed|successful|confirmed)\b",
        r"签收|妥投|已送达(?!.{0,6}(?:国|机场|中心|仓|站|海关|港))|派送成功|投递成功|送达成功"
        r"|配送成功|已交付收件人",
        r"\bвручен|\bвручение\b|\bдоставлено\b(?! в )|\bполучено адресатом",
    ),
    # -- advice to the reader, not an event ---------------------------------------------
    _rule(
        "advice_only",
        Stage.UNKNOWN,
        r"^(?:please )?contact\b|\bcontact (?:your|the|us|customer)\b|\bplease call\b",
        r"请?联系(?:客服|我们|当地)",
        r"свяжитесь|обратитесь",
    ),
    # -- data before the parcel --------------------------------------------------------------
    _rule(
        "info_received",
        Stage.INFO_RECEIVED,
        r"\b(?:shipment|order|electronic|shipping|shipper|label|item|parcel)? ?"
        r"(?:information|info|data|details|notification) (?:received|submitted|transmitted|sent)\b",
        r"\bpre-?shipment\b|\bpre-?advice\b|\bpre-?alert\b",
        r"\blabel (?:created|printed|generated)\b|\bshipping label\b",
        r"\border (?:created|placed|received|submitted|processed|confirmed)\b",
        r"\b(?:shipment|waybill|label) created\b|\bawaiting carrier scan\b",
        r"\bawaiting (?:the )?(?:item|parcel|drop[- ]off|shipment|carrier pick ?-?up)\b",
        r"\bawaiting pick ?-?up by (?:the )?(?:carrier|courier)\b",
        r"\b(?:sender|seller|shipper) (?:is )?preparing\b|\bawaiting seller\b",
        r"\b(?:waybill|tracking number) (?:created|generated|assigned)\b",
        r"订单(?:已)?创建|已下单|订单(?:信息)?已?(?:提交|生成|接收|收到)|电子(?:信息|运单|数据|面单)"
        r"|运单(?:信息)?已?(?:生成|创建|提交)|(?:等待|待)(?:卖家|商家)?(?:揽收|揽件|收件|取件|入库|发货|交寄)"
        r"|已打单|面单已?(?:生成|打印)|已接收(?:订单|运单)"
        r"|(?<!清关)(?<!报关)(?:包裹|物流|运单)?信息已?(?:推送|提交|接收|收到|上传)",
        r"получен\w* (?:данн|информац)\w* об отправлени"
        r"|электронн\w* (?:информац|данн|регистрац)|присвоен\w* (?:трек|идентификатор|номер)"
        r"|регистрация отправления|зарегистрирован|ожидает поступления|ожидается поступление"
        r"|создан\w* (?:заказ|отправлени)|заказ создан",
    ),
    # -- USPS calls the foreign post the "origin post" -------------------------------------
    _rule(
        "origin_post_preparing",
        Stage.ORIGIN_FACILITY,
        r"\borigin post is preparing\b",
    ),
    # -- transit hubs between the two countries ---------------------------------------------
    _rule(
        "transit_hub",
        Stage.IN_TRANSIT,
        r"\btransit (?:hub|center|centre|airport|country|point|facility|station|port|city"
        r"|office)\b",
        r"\b(?:arrive[ds]?|depart(?:ed|s)?|left) (?:at |from |in )?(?:the )?transit\b",
        r"\btrans-?shipment\b|\bin transit via\b",
        r"中转|经停|转机",
        r"транзит|место международного обмена",
    ),
    # -- left the origin country -------------------------------------------------------------
    _rule(
        "departed_origin",
        Stage.DEPARTED_ORIGIN,
        r"\b(?:depart(?:ed|s|ure)?|left|dispatched|leaving|exported) (?:from )?(?:the )?"
        r"(?:country of origin|origin country|origin airport|airport of origin|origin port"
        r"|port of origin|originating country|exporting country|(?:mainland )?china"
        r"|outward office of exchange)\b",
        r"\bflight (?:has )?(?:departed|took off|taken off)\b",
        r"\b(?:departed|left) (?:on|by) (?:the )?flight\b",
        r"\b(?:linehaul|line-haul|export) (?:flight )?departed\b",
        r"(?:已)?离开(?:始发国|始发地国家|原寄国|寄件国|中国(?!香港)|出发国|出口国|始发机场)"
        r"|(?<!等待)(?<!待)起飞|离港|已出港|已出境|已发运出境|国际航班已?出发",
        rf"покинул\w* (?:страну|территорию) (?:отправлени|отправител|{_ORIGIN_MARKERS_RU})"
        rf"|покинул\w* {_ORIGIN_MARKERS_RU}"
        rf"|вылет (?:из|самолета из) (?:страны|{_ORIGIN_MARKERS_RU})"
        r"|вылет рейса|самол[её]т вылетел|рейс вылетел|отправлено из страны отправлени"
        r"|экспорт международной почты",
    ),
    # -- a destination sorting centre, even when the text says "arrived" ---------------------
    _rule(
        "destination_sorting",
        Stage.DESTINATION_FACILITY,
        r"\b(?:sorting|sort|processing|distribution|delivery|mail) (?:center|centre|facility|hub)"
        r" (?:in|of) (?:the )?destination\b",
        r"\bdestination (?:country )?(?:sorting|processing|distribution|delivery) "
        r"(?:center|centre|facility|hub)\b",
        r"\bdestination (?:country )?(?:facility|hub|depot|post office|warehouse)\b",
        r"(?:目的国|目的地国家|收件国|寄达国).{0,6}(?:分拣|分拨|处理中心|派送站|网点|仓|邮局|转运中心)",
    ),
    _rule(
        "arrived_at_customs",
        Stage.IMPORT_CUSTOMS,
        r"\b(?:arrive[ds]?|received) (?:at|in) (?:the )?(?:destination |import )?customs\b",
        r"\binbound into customs\b",
    ),
    # -- arrived in the destination country -----------------------------------------------
    _rule(
        "arrived_destination",
        Stage.ARRIVED_DESTINATION,
        r"\b(?:arrive[ds]?|arrival|landed|received) (?:at|in|into) (?:the )?(?:destination country"
        r"|country of destination|destination airport|airport of destination|destination port"
        r"|port of destination|importing country|inward office of exchange)\b",
        r"\bflight (?:has )?(?:arrive[ds]?|landed) (?:at|in) (?:the )?destination\b",
        r"\b(?:arrived at|processed through)(?: \w+)?(?: facility)?,? isc\b"
        r"|\binternational service center\b",
        # Destination posts naming their own country; hubs (HK, KZ, BE, AE...) stay out.
        r"\barrived in (?:israel|russia|the russian federation|brazil|the united states|the usa)\b",
        r"(?:到达|抵达|已到|进入|送达)了?(?:目的国|目的地国家|目的国家|收件国|寄达国)"
        r"|(?:航班|飞机)已?(?:到达|抵达|落地)(?:目的国|目的地(?:国家|机场))"
        r"|目的国(?:机场)?已?(?:到达|落地|接收)|抵达目的港|已?到达目的地机场",
        r"прибыл\w* (?:в|на) (?:страну назначения|территорию (?:рф|россии|страны назначения)"
        r"|россию|аэропорт (?:страны )?назначения)|прибытие в (?:страну назначения|россию)"
        r"|прил[её]т в (?:страну назначения|россию)|импорт международной почты",
    ),
    # -- customs: export named as such, anything else is import -----------------------------
    _rule(
        "export_customs",
        Stage.EXPORT_CUSTOMS,
        r"\bexport(?:ed)? (?:\w+ )?(?:customs|clearance|declaration|declared|inspection)\b",
        r"\bcustoms (?:export|declaration for export)\b",
        r"\b(?:origin|outbound) customs\b|\bcustoms (?:at|in) (?:the )?(?:origin|china"
        r"|country of origin)\b",
        r"出口(?:报关|清关|海关|申报|查验|放行)|(?<!进口)报关|(?:始发国|起运国|出口国)(?:海关|清关)",
        r"экспортн\w* (?:таможен|декларац|оформлен|контрол)"
        r"|таможен\w* (?:\w+ )?(?:в )?стран\w* отправлени",
    ),
    _rule(
        "import_customs",
        Stage.IMPORT_CUSTOMS,
        r"\bcustoms\b|\bclearance\b|\bduties\b|\bimport (?:duty|tax|clearance)\b",
        r"\bawaiting payment\b|\btax(?:es)? (?:paid|payment|due)\b",
        r"清关|海关|进口|关税|税金|缴税",
        r"таможен|таможн|пошлин",
    ),
    # -- destination facilities and last-mile hand-over --------------------------------------
    _rule(
        "destination_facility",
        Stage.DESTINATION_FACILITY,
        r"\busps\b|\bpost office\b|\bdelivery (?:office|unit|station|depot|facility)\b",
        r"\b(?:israel post|royal mail|correios|russian post|ukrposhta|poczta polska|la poste"
        r"|colissimo|deutsche post|correos|kazpost)\b",
        r"\b(?:local|last[- ]mile|domestic|regional) (?:\w+ )?(?:facility|hub|depot|station"
        r"|office|sorting|center|centre|terminal|carrier|post|courier|partner)\b",
        r"\bhanded (?:over )?to (?:the )?(?:last[- ]mile|local|destination|domestic)\b",
        r"\bforwarded\b|\bprocessed through (?:regional )?facility\b",
        r"(?:当地|海外|境外|末端|尾程).{0,8}(?:分拣|分拨|处理中心|派送|网点|仓|邮局|转运|站点|快递"
        r"|邮政|配送)|派送站|派件站|投递站|营业部|投递部|派送网点|配送站|配送中心"
        r"|(?:已?交(?:付|给|接)|移交)(?:当地|末端|尾程|目的国)",
    ),
    # -- somewhere in between -------------------------------------------------------------
    _rule(
        "in_transit",
        Stage.IN_TRANSIT,
        r"\bin transit\b|\ben route\b|\bon (?:its|the) way\b|\bin flight\b",
        r"运输中|运输途中|在途|途中|转运中(?!心)|飞往|运往",
        r"\bв пути\b|следует в",
    ),
    # -- first mile ------------------------------------------------------------------------
    _rule(
        "picked_up",
        Stage.PICKED_UP,
        r"\bpicked up\b|\bcollected\b|\bpick ?-?up (?:scan|completed|successful)\b",
        r"\b(?:shipment|parcel|item|package|object) (?:has been |was )?(?:accepted|posted)\b",
        r"\baccepted (?:by|at)\b|\bacceptance\b|\bposted\b",
        r"\breceived (?:at|in|into|by) (?:the )?(?:\w+ ){0,2}(?:warehouse|carrier|courier)\b",
        r"\breceived by yunexpress\b",
        r"已?揽收|揽件|收寄|交寄|已收件|快递员已取件|上门取件成功|已收货",
        r"\bпри[её]м\b|принят\w* (?:в отделени|перевозчик|на склад|к пересылке|от отправител)"
        r"|получено (?:перевозчиком|на склад|от отправителя)|забрано у отправителя"
        r"|передано перевозчику",
    ),
    _rule(
        "origin_facility",
        Stage.ORIGIN_FACILITY,
        r"\b(?:origin|sorting|sort|processing|distribution|transfer|consolidation)"
        r" (?:center|centre|facility|hub|warehouse|depot)\b",
        r"\b(?:facility|warehouse|depot)\b",
        rf"\b{_ORIGIN_CITIES_EN}\b.*\b(?:hub|center|centre|gateway)\b"
        rf"|\b(?:hub|center|centre|gateway)\b.*\b{_ORIGIN_CITIES_EN}\b",
        r"\b(?:packed|bagged|sorting completed|sorted)\b",
        r"\bawaiting (?:flight|departure|linehaul)\b|\bbooked on (?:a )?flight\b",
        rf"分拣|分拨|转运中心|集散中心|处理中心|仓库|入库|出库|打包|装袋|集货|等待航班|订舱"
        rf"|{_ORIGIN_CITIES_ZH}.{{0,4}}(?:仓|中心)",
        rf"{_FACILITY_RU}\w*.*{_ORIGIN_MARKERS_RU}|{_ORIGIN_MARKERS_RU}.*{_FACILITY_RU}",
    ),
    _rule(
        "destination_facility_ru",
        Stage.DESTINATION_FACILITY,
        rf"{_FACILITY_RU}|почтов\w* отделени|отделени\w* связи|прибыло в (?:город|отделение)"
        r"|\bммпо\b|\bмсц\b|\bдосылка\b|передано в (?:службу доставки|курьерскую службу)",
    ),
)
"""The rule table, most specific first; `classify` returns the first match's stage."""


def normalize(text: str) -> str:
    """Fold `text` for matching: NFKC, lower case, `ё` as `е`, single spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    return " ".join(folded.split())


@lru_cache(maxsize=65_536)
def explain(text: str) -> Rule | None:
    """The rule that decides `text`, or None when no rule matches."""
    folded = normalize(text)
    scripts = [i for i, chars in enumerate(_SCRIPT_CHARS) if chars.search(folded)]
    for rule in RULES:
        for script in scripts:
            pattern = rule.by_script[script]
            if pattern is not None and pattern.search(folded):
                return rule
    return None


def classify(text: str) -> Stage:
    """The stage a free-text event description means; `Stage.UNKNOWN` when not understood."""
    rule = explain(text)
    return rule.stage if rule is not None else Stage.UNKNOWN
