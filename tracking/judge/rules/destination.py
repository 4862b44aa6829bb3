"""destination.*: the parcel shipped to, or delivered in, another country, postal code or city.

Only a clear contradiction is reported; nothing is transliterated or guessed.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

from tracking.core.countries import country_name
from tracking.core.domain import Stage
from tracking.judge.facts import OrderFacts, ShipmentFacts
from tracking.judge.rules.common import finding_at, first_explicit, ref
from tracking.read.views import EventView, FindingView, MilestoneView

__all__ = ["place_findings", "wrong_country"]


def wrong_country(
    order: OrderFacts, shipments: Sequence[ShipmentFacts], events: Sequence[EventView]
) -> tuple[list[FindingView], bool]:
    """A leg shipped to, or a delivery in, another country than the order's; both terminal."""
    findings: list[FindingView] = []
    terminal = False
    for leg in shipments:
        if (
            leg.destination_country
            and order.destination_country
            and leg.destination_country != order.destination_country
        ):
            findings.append(
                finding_at(
                    "destination.mismatch",
                    "error",
                    f"The carrier ships {leg.tracking_number} to {leg.destination_country}, "
                    f"but the order is for {order.destination_country}.",
                    f"运单目的国（{leg.destination_country}）与订单目的国"
                    f"（{order.destination_country}）不一致。",
                )
            )
            terminal = True
    delivered = next((e for e in events if e.stage == Stage.DELIVERED), None)
    if delivered and delivered.country and delivered.country != order.destination_country:
        findings.append(
            finding_at(
                "destination.delivered_elsewhere",
                "error",
                f"Delivered in {delivered.country}, but the order is for "
                f"{order.destination_country}.",
                "妥投国家与订单目的国不一致。",
                [ref(delivered)],
            )
        )
        terminal = True
    return findings, terminal


@functools.lru_cache(maxsize=8192)  # city and place names repeat across orders
def _fold(text: str) -> str:
    """Lower case, accents removed, punctuation as spaces, single-spaced."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch)
    )
    return " ".join(kept.casefold().split())


def _scripts(text: str) -> set[str]:
    """The scripts of the letters in `text` (LATIN, CYRILLIC, CJK, ...)."""
    found: set[str] = set()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            found.add(name.split(" ", 1)[0] if name else "?")
    return found


def _shape(token: str) -> str:
    return "".join("9" if ch.isdigit() else "A" for ch in token)


# Words that name a kind of place rather than a place (a post office, a sorting centre).
_GENERIC_PLACE_WORDS = frozenset(
    (
        *("post", "office", "branch", "centre", "center", "sorting", "hub", "delivery"),
        *("depot", "facility", "station", "point", "pickup", "locker", "warehouse"),
        *("terminal", "service", "unit", "distribution", "city", "area", "zone"),
        *("parcel", "mail", "postal", "st", "saint", "the", "and", "for"),
        *("отделение", "почтовой", "связи", "почтовое", "опс", "сортировочный"),
        *("центр", "пункт", "выдачи"),
    )
)

# Short names carriers print for a country that its ISO name does not contain.
_COUNTRY_WORDS: dict[str, tuple[str, ...]] = {
    "RU": ("russia", "россия", "рф"),
    "US": ("usa", "america"),
    "GB": ("uk", "britain", "england"),
    "KR": ("korea",),
}


def place_findings(order: OrderFacts, milestones: Sequence[MilestoneView]) -> list[FindingView]:
    """Postal code and city of the delivery scan against the order's, when both are known.

    Only a clear contradiction is reported: the location carries a postal code of the same
    shape as the order's but a different one, or it names (in the same script as the order's
    city) a short place that is not the order's city. Nothing is transliterated or guessed.
    """
    delivered = first_explicit(milestones, Stage.DELIVERED)
    if delivered is None or not delivered.location.strip():
        return []
    findings: list[FindingView] = []
    location = delivered.location.strip()
    folded = _fold(location)
    tokens = folded.upper().split()
    postal = order.destination_postal_code.strip().upper()
    if postal:
        wanted = "".join(ch for ch in postal if ch.isalnum())
        primary = "".join(ch for ch in re.split(r"[\s-]", postal)[0] if ch.isalnum())
        joined = "".join(tokens)
        candidates = [
            t for t in tokens if _shape(t) == _shape(primary) and any(ch.isdigit() for ch in t)
        ]
        if wanted and wanted not in joined and primary not in tokens and candidates:
            findings.append(
                finding_at(
                    "destination.postal_mismatch",
                    "warning",
                    f"The delivery scan's location {location!r} shows postal code "
                    f"{candidates[0]}, but the order ships to {order.destination_postal_code}.",
                    f"妥投地点“{location}”的邮编为 {candidates[0]}，与订单邮编 "
                    f"{order.destination_postal_code} 不一致。",
                    [ref(delivered)],
                )
            )
    city = _fold(order.destination_city)
    if city:
        country_words = {
            order.destination_country.casefold(),
            *_fold(country_name(order.destination_country) or "").split(),
            *_COUNTRY_WORDS.get(order.destination_country, ()),
        }
        words = [
            w
            for w in folded.split()
            if not any(ch.isdigit() for ch in w)
            and len(w) > 2
            and w not in _GENERIC_PLACE_WORDS
            and w not in country_words
        ]
        city_scripts = _scripts(city)
        city_words = [w for w in city.split() if w not in _GENERIC_PLACE_WORDS]
        present = set(folded.split())
        mentioned = bool(city_words) and all(w in present for w in city_words)
        mentioned = mentioned or city.replace(" ", "") in folded.replace(" ", "")
        if (
            not mentioned
            and words
            and len(words) <= 3
            and len(city_scripts) == 1
            and _scripts(" ".join(words)) == city_scripts
        ):
            findings.append(
                finding_at(
                    "destination.city_mismatch",
                    "warning",
                    f"The delivery scan's location {location!r} does not name the order's city "
                    f"{order.destination_city!r}.",
                    f"妥投地点“{location}”与订单城市“{order.destination_city}”不一致。",
                    [ref(delivered)],
                )
            )
    return findings
