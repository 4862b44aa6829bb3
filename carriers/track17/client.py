"""17TRACK network client: `gettrackinfo`, then `register` or `changecarrier` only when needed.

17TRACK keeps each registered number on the account and fetches its carrier on its own
schedule; registering costs quota, reading is free (carrier-apis §5; godely/aio17track
`SPEC.md` §2). So a batch is read first; a number 17TRACK answers "not registered"
(`-18019902`) is registered then (once: 17TRACK's own list is the stored state, so later
polls never register it again) and is *awaiting data*: 17TRACK answers it after its first
fetch, normally within minutes. A number whose shape names its carrier beyond doubt
(`codes.expected_carrier`) is registered under that carrier's key, and moved to it with
`changecarrier` when 17TRACK tracks it under another and finds nothing there.

Request shapes (URL, `17token` header, JSON array bodies) follow the v2.2 documentation,
https://asset.17track.net/api/document/v2.2_en/index.html. `changecarrier` items are
`{"number", "carrier_old", "carrier_new"}` as independent clients send them
(godely/aio17track `client.py`, a Go client's `ChangeCarrierRequest`) [clients]; the
documentation's own example was not at hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import answer_error, http_status_error, kept_exchanges
from carriers.track17.codes import NOT_REGISTERED, expected_carrier
from carriers.track17.parse import parse_register, read_answer
from tracking.core.config import CarrierSettings
from tracking.core.domain import CarrierFailure, ErrorKind, Exchange, NumberResult, TrackResult
from tracking.core.exceptions import CarrierError
from tracking.core.numbers import normalize_number

__all__ = [
    "CHANGECARRIER_PATH",
    "REGISTER_PATH",
    "TOKEN_HEADER",
    "TRACKINFO_PATH",
    "Track17Adapter",
    "Track17Settings",
]

REGISTER_PATH = "/register"
TRACKINFO_PATH = "/gettrackinfo"
CHANGECARRIER_PATH = "/changecarrier"
TOKEN_HEADER = "17token"
_CODE = "17track"

Outcome = TrackResult | CarrierFailure


class Track17Settings(CarrierSettings):
    """17TRACK settings.

    **Parameters:**

    * **token** - the API key, sent in the `17token` header (never stored or logged).
    * **push_key** - the key 17TRACK signs pushes with, when it is not `token`: 17TRACK
      signs each push with the account's API key (`sign` = sha256 hex of the raw body,
      "/", the key), so this is needed only when pushes come from another account or the
      key was just changed (`TRACK_EVIDENCE_17TRACK__PUSH_KEY`).
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_17TRACK__", extra="ignore")

    token: SecretStr | None = None
    push_key: SecretStr | None = None


class Track17Adapter(HttpAdapter[Track17Settings]):
    """Tracks batches of numbers through 17TRACK's v2.2 API.

    Per batch: one `gettrackinfo`; then one `register` for the numbers 17TRACK does not
    know yet (they come back `awaiting_data`) and one `changecarrier` for numbers tracked
    under the wrong carrier (`awaiting_data` too). A number's result keeps the exchanges
    that concern it; the one its events come from is last (events cite the last).
    """

    code = "17track"

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a whole-batch failure fails every number.

        Raises `ValueError` for more than `batch_size` numbers, before sending anything.
        """
        if not numbers:
            return []
        unique = list(dict.fromkeys(numbers))
        self.check_batch(unique)
        token = self.settings.token.get_secret_value() if self.settings.token else ""
        if not token:
            message = "17track: no API token (set TRACK_EVIDENCE_17TRACK__TOKEN)"
            return [
                NumberResult(n, (), CarrierFailure(n, ErrorKind.AUTH, message)) for n in numbers
            ]
        headers = {TOKEN_HEADER: token}
        try:
            info = await self._post(TRACKINFO_PATH, [{"number": n} for n in unique], headers)
        except CarrierError as err:
            return _failed(numbers, kept_exchanges(err), err)
        try:
            reading = read_answer(info.body, requested=unique)
        except CarrierError as err:
            return _failed(numbers, (info,), answer_error(_CODE, info, err))
        if (error := http_status_error(_CODE, info)) is not None:
            return _failed(numbers, (info,), error)
        outcomes: dict[str, Outcome] = dict(reading.outcomes)
        exchanges: dict[str, tuple[Exchange, ...]] = dict.fromkeys(unique, (info,))
        unregistered = [
            n for n in unique if reading.codes.get(normalize_number(n)) == NOT_REGISTERED
        ]
        if unregistered:
            await self._register(unregistered, headers, outcomes, exchanges)
        moves = _moves(unique, reading.carriers, outcomes)
        if moves:
            await self._change_carrier(moves, headers, outcomes, exchanges)
        return [
            NumberResult(
                n,
                exchanges[n],
                outcomes.get(n)
                or CarrierFailure(n, ErrorKind.NOT_FOUND, "not in 17TRACK's answer"),
            )
            for n in numbers
        ]

    async def _post(
        self, path: str, body: list[dict[str, Any]], headers: dict[str, str]
    ) -> Exchange:
        return await self.http.request(
            "POST", f"{self.base_url}{path}", headers=headers, json_body=body
        )

    async def _register(
        self,
        numbers: list[str],
        headers: dict[str, str],
        outcomes: dict[str, Outcome],
        exchanges: dict[str, tuple[Exchange, ...]],
    ) -> None:
        """Register numbers 17TRACK does not know; each ends `awaiting_data` or refused."""
        body: list[dict[str, Any]] = []
        for number in numbers:
            known = expected_carrier(number)
            body.append({"number": number, "carrier": known[0]} if known else {"number": number})
        try:
            register = await self._post(REGISTER_PATH, body, headers)
        except CarrierError as err:
            _fail_each(numbers, kept_exchanges(err), err, outcomes, exchanges)
            return
        try:
            refused = parse_register(register.body, requested=numbers)
        except CarrierError as err:
            _fail_each(
                numbers, (register,), answer_error(_CODE, register, err), outcomes, exchanges
            )
            return
        if (error := http_status_error(_CODE, register)) is not None:
            _fail_each(numbers, (register,), error, outcomes, exchanges)
            return
        for number in numbers:
            exchanges[number] = (*exchanges[number], register)
            outcomes[number] = refused.get(number) or CarrierFailure(
                number,
                ErrorKind.AWAITING_DATA,
                "registered with 17TRACK just now; it fetches the carrier on its own, "
                "normally within minutes",
            )

    async def _change_carrier(
        self,
        moves: dict[str, tuple[int, int, str]],
        headers: dict[str, str],
        outcomes: dict[str, Outcome],
        exchanges: dict[str, tuple[Exchange, ...]],
    ) -> None:
        """Move numbers to the carrier their shape names; a moved one is `awaiting_data`.

        A refused or failed change keeps what `gettrackinfo` said (the evidence as it is).
        """
        body = [
            {"number": n, "carrier_old": old, "carrier_new": new}
            for n, (old, new, _) in moves.items()
        ]
        try:
            change = await self._post(CHANGECARRIER_PATH, body, headers)
            refused = parse_register(change.body, requested=list(moves))
            failed = http_status_error(_CODE, change)
        except CarrierError as err:
            for number in moves:
                exchanges[number] = (*kept_exchanges(err), *exchanges[number])
            return
        for number, (old, new, name) in moves.items():
            # Before the `gettrackinfo` answer, which stays last: events cite the last one.
            exchanges[number] = (change, *exchanges[number])
            if failed is None and number not in refused:
                outcomes[number] = CarrierFailure(
                    number,
                    ErrorKind.AWAITING_DATA,
                    f"17TRACK tracked it under carrier {old}; changed to {name} ({new}), "
                    "whose data 17TRACK fetches next",
                )


def _moves(
    numbers: Sequence[str], detected: dict[str, int], outcomes: dict[str, Outcome]
) -> dict[str, tuple[int, int, str]]:
    """Number -> (17TRACK's carrier, the right one, its name), where they differ."""
    moves: dict[str, tuple[int, int, str]] = {}
    for number in numbers:
        known = expected_carrier(number)
        current = detected.get(normalize_number(number))
        if known is None or current is None or current == known[0]:
            continue
        # Only when 17TRACK's own guess found nothing: a guess that finds events works.
        if isinstance(outcomes.get(number), CarrierFailure):
            moves[number] = (current, known[0], known[1])
    return moves


def _fail_each(
    numbers: Sequence[str],
    sent: tuple[Exchange, ...],
    error: CarrierError,
    outcomes: dict[str, Outcome],
    exchanges: dict[str, tuple[Exchange, ...]],
) -> None:
    """`numbers` fail with `error`, the exchanges that showed it kept with each."""
    for number in numbers:
        exchanges[number] = (*exchanges[number], *sent)
        outcomes[number] = CarrierFailure(
            number, error.kind, str(error), getattr(error, "retry_at", None)
        )


def _failed(
    numbers: Sequence[str],
    exchanges: tuple[Exchange, ...],
    error: CarrierError,
) -> list[NumberResult]:
    """Every number fails with `error`."""
    retry_at = getattr(error, "retry_at", None)  # a blocked carrier's back-off
    return [
        NumberResult(n, exchanges, CarrierFailure(n, error.kind, str(error), retry_at))
        for n in numbers
    ]
