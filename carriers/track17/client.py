"""17TRACK network client: per batch, one POST `register` then one POST `gettrackinfo`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.track17.parse import parse, parse_register
from tracking.config import CarrierSettings
from tracking.domain import CarrierFailure, ErrorKind, Exchange, NumberResult, TrackResult
from tracking.exceptions import BadPayloadError, CarrierError, CarrierServerError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = [
    "REGISTER_PATH",
    "TOKEN_HEADER",
    "TRACKINFO_PATH",
    "Track17Adapter",
    "Track17Settings",
    "create_adapter",
]

REGISTER_PATH = "/register"
TRACKINFO_PATH = "/gettrackinfo"
TOKEN_HEADER = "17token"


class Track17Settings(CarrierSettings):
    """17TRACK settings.

    **Parameters:**

    * **token** - the API key, sent in the `17token` header (never stored or logged).
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_17TRACK__", extra="ignore")

    token: SecretStr | None = None


class Track17Adapter:
    """Tracks batches of numbers through 17TRACK's v2.2 API.

    Each batch is registered first (auto-detection of the carrier; "already registered" is
    fine), then read with `gettrackinfo`. Both exchanges are kept with every number of the
    batch. A number 17TRACK refuses at registration fails alone and is not asked again.

    **Parameters:**

    * **settings** - the carrier's settings (`base_url` overrides the default).
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    * **default_base_url** - the real API's base URL, used when settings set none.
    * **batch_size** - the most numbers one call may take (17TRACK refuses more than 40).
    """

    def __init__(
        self,
        settings: Track17Settings,
        http: CarrierHttp,
        *,
        default_base_url: str,
        batch_size: int,
    ) -> None:
        self.settings = settings
        self.http = http
        self.base_url = (settings.base_url or default_base_url).rstrip("/")
        self.batch_size = batch_size

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a whole-batch failure fails every number.

        Raises `ValueError` for more than `batch_size` numbers, before sending anything.
        """
        if not numbers:
            return []
        unique = list(dict.fromkeys(numbers))
        if len(unique) > self.batch_size:
            raise ValueError(f"17track takes at most {self.batch_size} numbers a call")
        token = self.settings.token.get_secret_value() if self.settings.token else ""
        if not token:
            message = "17track: no API token (set TRACK_EVIDENCE_17TRACK__TOKEN)"
            return [
                NumberResult(n, (), CarrierFailure(n, ErrorKind.AUTH, message)) for n in numbers
            ]
        headers = {TOKEN_HEADER: token}
        body = [{"number": n} for n in unique]
        try:
            register = await self.http.request(
                "POST", f"{self.base_url}{REGISTER_PATH}", headers=headers, json_body=body
            )
        except CarrierError as err:
            return _failed(numbers, _kept(err), err)
        try:
            refused = parse_register(register.body, requested=unique)
        except CarrierError as err:
            return _failed(numbers, (register,), _answer_error(register, err))
        if (error := _status_error(register)) is not None:
            return _failed(numbers, (register,), error)
        outcomes: dict[str, TrackResult | CarrierFailure] = dict(refused)
        exchanges: tuple[Exchange, ...] = (register,)
        asked = [n for n in unique if n not in refused]
        if asked:
            body = [{"number": n} for n in asked]
            try:
                info = await self.http.request(
                    "POST", f"{self.base_url}{TRACKINFO_PATH}", headers=headers, json_body=body
                )
            except CarrierError as err:
                return _failed(numbers, (register, *_kept(err)), err, outcomes=outcomes)
            exchanges = (register, info)
            try:
                parsed = parse(info.body, requested=asked)
            except CarrierError as err:
                return _failed(numbers, exchanges, _answer_error(info, err), outcomes=outcomes)
            if (error := _status_error(info)) is not None:
                return _failed(numbers, exchanges, error, outcomes=outcomes)
            outcomes.update({n: parsed[n] for n in asked if n in parsed})
        return [
            NumberResult(
                n,
                exchanges,
                outcomes.get(n)
                or CarrierFailure(n, ErrorKind.NOT_FOUND, "not in 17TRACK's answer"),
            )
            for n in numbers
        ]


def _kept(error: CarrierError) -> tuple[Exchange, ...]:
    return (error.exchange,) if error.exchange is not None else ()


def _status_error(exchange: Exchange) -> CarrierError | None:
    """The HTTP error status the shared layer passes through (400, 404...), if any."""
    if exchange.status < 400:
        return None
    return CarrierServerError(
        f"17track: HTTP {exchange.status}", carrier="17track", status=exchange.status
    )


def _answer_error(exchange: Exchange, error: CarrierError) -> CarrierError:
    """What an unusable answer stands for: its error envelope, else its HTTP error status.

    A body without 17TRACK's shape under an HTTP error status (a proxy's 404 page) is a
    carrier error, not a bad payload.
    """
    if isinstance(error, BadPayloadError):
        return _status_error(exchange) or error
    return error


def _failed(
    numbers: Sequence[str],
    exchanges: tuple[Exchange, ...],
    error: CarrierError,
    *,
    outcomes: dict[str, TrackResult | CarrierFailure] | None = None,
) -> list[NumberResult]:
    """Every number fails with `error`, except those already refused one by one."""
    failure_of = outcomes or {}
    retry_at = getattr(error, "retry_at", None)  # a blocked carrier's back-off
    return [
        NumberResult(
            n, exchanges, failure_of.get(n) or CarrierFailure(n, error.kind, str(error), retry_at)
        )
        for n in numbers
    ]


def create_adapter(
    settings: CarrierSettings,
    http: CarrierHttp,
    *,
    default_base_url: str,
    batch_size: int,
) -> Track17Adapter:
    """Build the adapter; `settings` must be `Track17Settings`."""
    if not isinstance(settings, Track17Settings):
        raise TypeError(f"17track needs Track17Settings, not {type(settings).__name__}")
    return Track17Adapter(settings, http, default_base_url=default_base_url, batch_size=batch_size)
