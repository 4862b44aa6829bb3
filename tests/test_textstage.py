"""The free-text classifier: corpus accuracy, the classic traps, and the rule table."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from carriers.textstage import RULES, classify, explain, normalize
from tracking.core.domain import Stage

CORPUS = Path(__file__).resolve().parent / "data" / "event_texts.tsv"


def load_corpus() -> list[tuple[str, Stage, str]]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        assert reader.fieldnames == ["lang", "stage", "text"]
        return [(row["lang"], Stage(row["stage"]), row["text"]) for row in reader]


ROWS = load_corpus()


def test_corpus_shape() -> None:
    assert len(ROWS) >= 300
    langs = Counter(lang for lang, _, _ in ROWS)
    assert set(langs) == {"zh", "en", "ru"}
    assert langs["zh"] / len(ROWS) >= 0.3
    assert langs["en"] / len(ROWS) >= 0.3
    assert langs["ru"] / len(ROWS) >= 0.15
    assert {stage for _, stage, _ in ROWS} == set(Stage)
    texts = [text for _, _, text in ROWS]
    assert len(set(texts)) == len(texts), "duplicate texts in the corpus"
    assert all(text.strip() == text and text for text in texts)


def test_corpus_accuracy_and_wrong_stage_rate() -> None:
    wrong: list[str] = []
    correct = 0
    for _lang, stage, text in ROWS:
        got = classify(text)
        if got is stage:
            correct += 1
        elif got is not Stage.UNKNOWN:
            wrong.append(f"{text!r}: {stage} -> {got}")
    assert correct / len(ROWS) >= 0.95
    assert len(wrong) / len(ROWS) < 0.01, wrong


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        # a pickup point is not a delivery
        pytest.param("Arrived at pickup point", Stage.AVAILABLE_FOR_PICKUP, id="en-pickup-point"),
        pytest.param("已到达自提点", Stage.AVAILABLE_FOR_PICKUP, id="zh-pickup-point"),
        pytest.param("Прибыло в пункт выдачи", Stage.AVAILABLE_FOR_PICKUP, id="ru-pickup-point"),
        pytest.param(
            "Delivered to parcel locker, awaiting collection",
            Stage.AVAILABLE_FOR_PICKUP,
            id="en-delivered-to-locker",
        ),
        pytest.param("已投递至自提点", Stage.AVAILABLE_FOR_PICKUP, id="zh-delivered-to-pickup"),
        pytest.param(
            "Доставлено в пункт выдачи", Stage.AVAILABLE_FOR_PICKUP, id="ru-delivered-pvz"
        ),
        pytest.param(
            "Held at Post Office, At Customer Request", Stage.AVAILABLE_FOR_PICKUP, id="usps-held"
        ),
        # ...but the recipient collecting it there is
        pytest.param("Picked up by recipient at pickup point", Stage.DELIVERED, id="en-collected"),
        pytest.param("收件人已从快递柜取件", Stage.DELIVERED, id="zh-collected"),
        pytest.param("Вручение адресату", Stage.DELIVERED, id="ru-handed"),
        pytest.param("Delivered, Parcel Locker", Stage.DELIVERED, id="usps-parcel-locker"),
        pytest.param(
            "Delivered, Individual Picked Up at Post Office", Stage.DELIVERED, id="usps-picked-up"
        ),
        # failed attempts mention delivery
        pytest.param("Delivery attempt failed", Stage.DELIVERY_FAILED, id="en-failed"),
        pytest.param("投递失败", Stage.DELIVERY_FAILED, id="zh-failed"),
        pytest.param("Неудачная попытка вручения", Stage.DELIVERY_FAILED, id="ru-failed"),
        pytest.param(
            "Неудачная попытка вручения адресату", Stage.DELIVERY_FAILED, id="ru-failed-addressee"
        ),
        pytest.param("未妥投", Stage.DELIVERY_FAILED, id="zh-not-delivered"),
        pytest.param("Item could not be delivered", Stage.DELIVERY_FAILED, id="en-could-not"),
        # leaving a sorting centre is not leaving the country
        pytest.param("Departed from sorting center", Stage.ORIGIN_FACILITY, id="en-sort-depart"),
        pytest.param("Departed from facility in Shenzhen", Stage.ORIGIN_FACILITY, id="en-facility"),
        pytest.param("离开【深圳分拨中心】", Stage.ORIGIN_FACILITY, id="zh-sort-depart"),
        pytest.param(
            "Покинуло сортировочный центр", Stage.DESTINATION_FACILITY, id="ru-sort-depart"
        ),
        pytest.param(
            "Departed USPS Regional Facility", Stage.DESTINATION_FACILITY, id="usps-depart"
        ),
        pytest.param(
            "Arrived at USPS Regional Origin Facility", Stage.DESTINATION_FACILITY, id="usps-origin"
        ),
        pytest.param("Handed over to airline", Stage.ORIGIN_FACILITY, id="en-airline"),
        pytest.param("Delivered to airline", Stage.ORIGIN_FACILITY, id="en-delivered-airline"),
        # leaving the origin country
        pytest.param("Flight departed", Stage.DEPARTED_ORIGIN, id="en-flight"),
        pytest.param("Departed from origin country", Stage.DEPARTED_ORIGIN, id="en-origin-country"),
        pytest.param("Departed from origin airport", Stage.DEPARTED_ORIGIN, id="en-origin-airport"),
        pytest.param("已离开始发国", Stage.DEPARTED_ORIGIN, id="zh-left-origin"),
        pytest.param("航班已起飞", Stage.DEPARTED_ORIGIN, id="zh-flight"),
        pytest.param("Покинуло страну отправления", Stage.DEPARTED_ORIGIN, id="ru-left-origin"),
        pytest.param("Вылет из страны отправителя", Stage.DEPARTED_ORIGIN, id="ru-flight"),
        pytest.param("Flight departed from transit airport", Stage.IN_TRANSIT, id="en-transit"),
        pytest.param("中转航班已起飞", Stage.IN_TRANSIT, id="zh-transit"),
        pytest.param("已交航，等待起飞", Stage.ORIGIN_FACILITY, id="zh-awaiting-takeoff"),
        # arriving in the destination country
        pytest.param("Arrived in destination country", Stage.ARRIVED_DESTINATION, id="en-arrived"),
        pytest.param("到达目的国", Stage.ARRIVED_DESTINATION, id="zh-arrived"),
        pytest.param("Прибыло в страну назначения", Stage.ARRIVED_DESTINATION, id="ru-arrived"),
        pytest.param("In transit to destination country", Stage.IN_TRANSIT, id="en-to-destination"),
        pytest.param("运往目的国途中", Stage.IN_TRANSIT, id="zh-to-destination"),
        pytest.param(
            "已到达目的国分拣中心", Stage.DESTINATION_FACILITY, id="zh-destination-sorting"
        ),
        # customs: import unless export is named
        pytest.param("Import customs clearance completed", Stage.IMPORT_CUSTOMS, id="en-import"),
        pytest.param("Customs clearance", Stage.IMPORT_CUSTOMS, id="en-customs"),
        pytest.param("清关中", Stage.IMPORT_CUSTOMS, id="zh-clearance"),
        pytest.param("Таможенное оформление", Stage.IMPORT_CUSTOMS, id="ru-clearance"),
        pytest.param("Export customs clearance", Stage.EXPORT_CUSTOMS, id="en-export"),
        pytest.param("出口报关", Stage.EXPORT_CUSTOMS, id="zh-export"),
        pytest.param("已完成出口清关", Stage.EXPORT_CUSTOMS, id="zh-export-clearance"),
        pytest.param("进口报关中", Stage.IMPORT_CUSTOMS, id="zh-import-declaration"),
        pytest.param(
            "Таможенное оформление в стране отправления", Stage.EXPORT_CUSTOMS, id="ru-export"
        ),
        # returns
        pytest.param("Returned to sender", Stage.RETURNED, id="en-returned"),
        pytest.param("Returning to sender", Stage.RETURNING, id="en-returning"),
        pytest.param("Return to sender", Stage.RETURNING, id="en-return-to-sender"),
        pytest.param("Being returned to sender", Stage.RETURNING, id="en-being-returned"),
        pytest.param("Delivered, To Original Sender", Stage.RETURNED, id="usps-original-sender"),
        pytest.param("退件已签收", Stage.RETURNED, id="zh-return-signed"),
        pytest.param("退回中", Stage.RETURNING, id="zh-returning"),
        pytest.param("Вручение отправителю", Stage.RETURNED, id="ru-returned"),
        pytest.param("Возврат", Stage.RETURNING, id="ru-returning"),
        # lost, damaged, destroyed, held, cancelled
        pytest.param("Parcel lost in transit", Stage.EXCEPTION, id="en-lost"),
        pytest.param("Item damaged", Stage.EXCEPTION, id="en-damaged"),
        pytest.param("Destroyed by customs", Stage.EXCEPTION, id="en-destroyed"),
        pytest.param("Held by customs", Stage.EXCEPTION, id="en-held"),
        pytest.param("Shipment cancelled", Stage.EXCEPTION, id="en-cancelled"),
        pytest.param("海关扣留", Stage.EXCEPTION, id="zh-held"),
        pytest.param("包裹丢失", Stage.EXCEPTION, id="zh-lost"),
        pytest.param("Задержано таможней", Stage.EXCEPTION, id="ru-held"),
        pytest.param("Уничтожение", Stage.EXCEPTION, id="ru-destroyed"),
        # promises are not events; noise stays unknown
        pytest.param("Your parcel will be delivered tomorrow", Stage.UNKNOWN, id="en-promise"),
        pytest.param("Estimated delivery date updated", Stage.UNKNOWN, id="en-estimate"),
        pytest.param("预计3-5天送达", Stage.UNKNOWN, id="zh-estimate"),
        pytest.param("Departed", Stage.UNKNOWN, id="en-bare-departed"),
        pytest.param("Arrived at destination", Stage.UNKNOWN, id="en-bare-destination"),
        pytest.param("Contact your local post office", Stage.UNKNOWN, id="en-advice"),
        pytest.param("", Stage.UNKNOWN, id="empty"),
        pytest.param("   ", Stage.UNKNOWN, id="blank"),
        pytest.param("12345", Stage.UNKNOWN, id="digits"),
    ],
)
def test_traps(text: str, stage: Stage) -> None:
    assert classify(text) is stage


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        pytest.param("ＤＥＬＩＶＥＲＥＤ", "delivered", id="full-width"),
        pytest.param("  Out   for\tdelivery ", "out for delivery", id="spaces"),
        pytest.param("Приём", "Прием", id="yo"),
        pytest.param("【深圳市】已揽收", "[深圳市]已揽收", id="cjk-brackets"),
    ],
)
def test_normalization(text: str, same_as: str) -> None:
    assert classify(text) is classify(same_as)
    assert classify(text) is not Stage.UNKNOWN


def test_normalize() -> None:
    assert normalize("  Ёлка  ПРИЁМ ") == "елка прием"


def test_rule_table() -> None:
    names = [rule.name for rule in RULES]
    assert len(set(names)) == len(names)
    covered = {rule.stage for rule in RULES}
    assert covered == set(Stage)
    for rule in RULES:
        assert rule.pattern.pattern
        assert not rule.pattern.search(""), rule.name


def test_explain_names_the_deciding_rule() -> None:
    rule = explain("Delivered, To Original Sender")
    assert rule is not None
    assert rule.name == "returned_to_sender_delivered"
    assert explain("no idea what this means") is None


def test_every_rule_decides_some_corpus_text() -> None:
    used = {rule.name for _, _, text in ROWS if (rule := explain(text)) is not None}
    unused = {rule.name for rule in RULES} - used
    assert not unused, f"rules no corpus text exercises: {sorted(unused)}"
