"""4PX network client: one signed POST to the open platform's router per number.

The query string carries `method`, `v`, `app_key`, `timestamp` (ms), `format`,
`access_token` (empty), `sign` and `language`; the body is `{"deliveryOrderNo": "<number>"}`.
`sign` is the lower-case hex MD5 of `"app_key" + key + "format" + "json" + "method" + method +
"timestamp" + ts + "v" + version + body + app_secret`: 4PX's own worked example (open platform
docs, "签名" section; its inputs and expected `ff4af77c062a9b97d98aa29777621c4a` are rebuilt
in tests/test_official_examples.py) and every SDK sign in lower case. `language` (`cn`/`en`, a
common parameter outside the signature in 4PX's Java SDK `com.fpx.api`) asks for English texts.
The secret itself is never sent; `app_key`, `access_token` and `sign` are redacted by the HTTP
layer before storage.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from carriers.fourpx.parse import parse
from carriers.fourpx.public import PUBLIC_PATH, PUBLIC_URL, parse_public, public_body
from carriers.kit.adapter import HttpAdapter
from carriers.kit.envelopes import answer_results, batch_failure
from tracking.core.config import CarrierSettings
from tracking.core.domain import NumberResult
from tracking.core.exceptions import AuthError, CarrierError

__all__ = [
    "API_FORMAT",
    "API_METHOD",
    "API_VERSION",
    "LANGUAGE",
    "SERVICE_PATH",
    "FourPXAdapter",
    "FourPXSettings",
    "query_sign",
    "request_body",
    "sign",
]

SERVICE_PATH = "/router/api/service"
API_METHOD = "tr.order.tracking.get"
API_VERSION = "1.0.0"
API_FORMAT = "json"
LANGUAGE = "en"
"""4PX's `language` common parameter: `en` for English texts where the API has them."""


class FourPXSettings(CarrierSettings):
    """4PX open platform settings.

    **Parameters:**

    * **app_key** - the application key (sent, redacted in storage).
    * **app_secret** - the application secret (only ever used to sign; never sent).
    """

    model_config = SettingsConfigDict(env_prefix="TRACK_EVIDENCE_4PX__", extra="ignore")

    app_key: SecretStr | None = None
    app_secret: SecretStr | None = None
    public_page: bool = False
    """Without open platform credentials, read 4PX's public tracking page instead
    (`carriers.fourpx.public`; unofficial, so give it a low `rate_per_second` too)."""
    public_url: str | None = None
    """The public tracking page's host (`https://track.4px.com`)."""


def sign(
    *,
    app_key: str,
    app_secret: str,
    method: str,
    timestamp: str,
    version: str,
    body: str,
) -> str:
    """The request's `sign`: lower-case hex MD5 of the documented concatenation (UTF-8)."""
    common = {"app_key": app_key, "method": method, "timestamp": timestamp, "v": version}
    return query_sign(common, app_secret=app_secret, body=body)


def query_sign(query: Mapping[str, str], *, app_secret: str, body: str) -> str:
    """`sign` of a call from its query's common parameters (`app_key`, `method`,
    `timestamp`, `v`; a missing one counts as empty), its body and the secret."""
    text = (
        f"app_key{query.get('app_key', '')}format{API_FORMAT}method{query.get('method', '')}"
        f"timestamp{query.get('timestamp', '')}v{query.get('v', '')}{body}{app_secret}"
    )
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def request_body(number: str) -> str:
    """The exact JSON text that is both signed and sent for `number`."""
    return json.dumps({"deliveryOrderNo": number}, ensure_ascii=False, separators=(",", ":"))


class FourPXAdapter(HttpAdapter[FourPXSettings]):
    """Tracks numbers one call each through 4PX's `tr.order.tracking.get`.

    `clock` gives the current time for the `timestamp` parameter (tests pin it).
    """

    code = "4px"
    clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))

    async def track(self, numbers: Sequence[str]) -> list[NumberResult]:
        """One result per number, in order; a failed call fails its number.

        Without both `app_key` and `app_secret` nothing is sent (every number fails with
        `auth`), unless `public_page` asks for 4PX's public tracking page instead.
        """
        if not numbers:
            return []
        self.check_batch(numbers)
        key, secret = _value(self.settings.app_key), _value(self.settings.app_secret)
        if (not key or not secret) and self.settings.public_page:
            return await self._public(numbers)
        if not key or not secret:
            missing = " and ".join(
                n for n, v in (("app_key", key), ("app_secret", secret)) if not v
            )
            refused = AuthError(
                f"4px: no {missing} configured (TRACK_EVIDENCE_4PX__APP_KEY, "
                "TRACK_EVIDENCE_4PX__APP_SECRET)",
                carrier="4px",
            )
            return batch_failure(numbers, refused)
        (number,) = numbers
        body = request_body(number)
        common = {
            "method": API_METHOD,
            "v": API_VERSION,
            "app_key": key,
            "timestamp": str(int(self.clock().timestamp() * 1000)),
            "format": API_FORMAT,
            "access_token": "",
        }
        params = {
            **common,
            "sign": query_sign(common, app_secret=secret, body=body),
            "language": LANGUAGE,
        }
        try:
            exchange = await self.http.request(
                "POST",
                f"{self.base_url}{SERVICE_PATH}",
                params=params,
                headers={"Content-Type": "application/json;charset=UTF-8"},
                content=body.encode("utf-8"),
            )
        except CarrierError as err:
            return batch_failure(numbers, err)
        return answer_results("4px", numbers, exchange, parse)

    async def _public(self, numbers: Sequence[str]) -> list[NumberResult]:
        """The credential-free source: 4PX's public tracking page, marked as such."""
        url = (self.settings.public_url or PUBLIC_URL).rstrip("/") + PUBLIC_PATH
        try:
            exchange = await self.http.request(
                "POST",
                url,
                headers={"Content-Type": "application/json;charset=UTF-8"},
                content=public_body(numbers).encode("utf-8"),
            )
        except CarrierError as err:
            return batch_failure(numbers, err)
        return answer_results("4px", numbers, exchange, parse_public)


def _value(secret: SecretStr | None) -> str:
    return secret.get_secret_value().strip() if secret is not None else ""
