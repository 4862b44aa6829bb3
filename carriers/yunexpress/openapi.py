"""YunExpress Open Platform client (`openapi.yunexpress.cn`): a token, then signed GETs.

The second credential kind: merchants who hold an app id and secret for the newer Open
Platform instead of a classic customer code. Wire details ([clients]: evan-lc/yunexpress-sdk
`src/auth/signing/HmacSha256RequestSigner.ts` and
`src/auth/token/createOAuthAccessTokenProvider.ts`, and several independent integrations that
agree with it; carrier-apis §4.2):

* token: `POST /openapi/oauth2/token` with the JSON body
  `{"grantType":"client_credentials","appId":..,"appSecret":..[,"sourceKey":..]}` answers
  `{"accessToken":..,"expiresIn":..}` (seconds; 2 h assumed when absent);
* tracking: `GET /v1/track-service/info/get?order_number=<number>` with the headers
  `token: <accessToken>`, `date: <epoch ms>` and
  `sign: base64(HMAC-SHA256(appSecret, "date=<ms>&method=GET&uri=/v1/track-service/info/get"))`:
  `body=<json>&` leads the signed text only when there is a body, and `uri` is the path
  without the query string.

YunExpress publishes no worked example with an expected sign; the first real call settles
the remaining doubts (README, YunExpress). `token`, `sign`, the app id and the secret never
reach storage: the HTTP layer redacts the headers, the credential values and the token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from carriers.kit.envelopes import answer_results, batch_failure
from carriers.yunexpress.openapi_parse import parse
from tracking.core.domain import NumberResult
from tracking.core.exceptions import AuthError, CarrierError

if TYPE_CHECKING:
    from carriers.http import CarrierHttp

__all__ = [
    "OPENAPI_BASE_URL",
    "TOKEN_PATH",
    "TRACK_PATH",
    "OpenApiAdapter",
    "OpenApiCredentials",
    "openapi_sign",
    "token_body",
]

OPENAPI_BASE_URL = "https://openapi.yunexpress.cn"
"""Production host (the Open Platform's sandbox is `https://openapi-sbx.yunexpress.cn`)."""
TOKEN_PATH = "/openapi/oauth2/token"
TRACK_PATH = "/v1/track-service/info/get"
_DEFAULT_LIFETIME = 7200.0
_REFRESH_BEFORE = 60.0


def openapi_sign(*, app_secret: str, date: str, method: str, uri: str, body: str = "") -> str:
    """The `sign` header: base64 of HMAC-SHA256(app secret, the signed text)."""
    parts = ([f"body={body}"] if body else []) + [f"date={date}", f"method={method}", f"uri={uri}"]
    digest = hmac.new(app_secret.encode(), "&".join(parts).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def token_body(app_id: str, app_secret: str, source_key: str = "") -> str:
    """The exact JSON text of the token request."""
    body = {"grantType": "client_credentials", "appId": app_id, "appSecret": app_secret}
    if source_key:
        body["sourceKey"] = source_key
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class OpenApiCredentials:
    app_id: str
    app_secret: str
    source_key: str = ""


class OpenApiAdapter:
    """Tracks numbers one signed GET each; the token is fetched once and renewed before expiry.

    **Parameters:**

    * **credentials** - app id, app secret and (optional) source key.
    * **http** - the shared HTTP layer (rate limit, retries, redaction).
    * **base_url** - the Open Platform host.
    * **language** - `Accept-Language` (`en-US` for English texts).
    * **clock** - epoch milliseconds now (tests pin it).
    """

    def __init__(
        self,
        credentials: OpenApiCredentials,
        http: CarrierHttp,
        *,
        base_url: str = OPENAPI_BASE_URL,
        language: str = "en-US",
        clock: Callable[[], int] | None = None,
    ) -> None:
        self.credentials = credentials
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.language = language
        self.clock = clock or (lambda: int(time.time() * 1000))
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a refused token fails every number with `auth`."""
        try:
            token = await self._access_token()
        except CarrierError as err:
            return batch_failure(numbers, err)
        return list(await asyncio.gather(*(self._one(n, token) for n in numbers)))

    async def _access_token(self) -> str:
        async with self._lock:
            now = time.monotonic()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            c = self.credentials
            exchange = await self.http.request(
                "POST",
                f"{self.base_url}{TOKEN_PATH}",
                headers={"Content-Type": "application/json"},
                content=token_body(c.app_id, c.app_secret, c.source_key).encode(),
            )
            token, lifetime = _read_token(exchange.body)
            if not token:
                raise AuthError(
                    "yunexpress: the Open Platform gave no access token (app id/secret refused?)",
                    carrier="yunexpress",
                    status=exchange.status,
                    exchange=exchange,
                )
            self.http.secrets = (*self.http.secrets, token)  # never stored, like the secret
            self._token = (token, now + max(lifetime - _REFRESH_BEFORE, 1.0))
            return token

    async def _one(self, number: str, token: str) -> NumberResult:
        date = str(self.clock())
        headers = {
            "token": token,
            "date": date,
            "sign": openapi_sign(
                app_secret=self.credentials.app_secret, date=date, method="GET", uri=TRACK_PATH
            ),
            "Accept-Language": self.language,
            "Accept": "application/json",
        }
        try:
            exchange = await self.http.request(
                "GET",
                f"{self.base_url}{TRACK_PATH}",
                params={"order_number": number.strip()},
                headers=headers,
            )
        except CarrierError as err:
            if isinstance(err, AuthError):
                self._token = None  # an expired token: fetch a new one next time
            return batch_failure([number], err)[0]
        return answer_results("yunexpress", [number], exchange, parse)[0]


def _read_token(body: bytes) -> tuple[str, float]:
    """(access token, lifetime in seconds) from a token answer; ("", 0) when there is none."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "", 0.0
    if not isinstance(data, dict):
        return "", 0.0
    for holder in (data, data.get("result"), data.get("data")):
        if isinstance(holder, dict) and isinstance(holder.get("accessToken"), str):
            lifetime = holder.get("expiresIn")
            seconds = float(lifetime) if isinstance(lifetime, int | float) else _DEFAULT_LIFETIME
            return holder["accessToken"], seconds
    return "", 0.0
