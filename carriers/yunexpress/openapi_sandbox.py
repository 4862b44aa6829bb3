"""The YunExpress Open Platform in the sandbox: the token route and signed tracking (pure).

Checks what the real platform checks, exactly: the token request's JSON (grant type, app
id and secret), then on every tracking call the `token` header and the `sign` header
recomputed from `date`, the method and the path (base64 HMAC-SHA256, case and padding
included). Answers in the envelope `{t, success, code, msg, request_id, result}` with
`result.track_info[].track_events[]` (carrier-apis §4.2; the real shape is unconfirmed).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from carriers.base import SandboxReply, SandboxRequest
from carriers.kit.sandboxes import json_body
from carriers.yunexpress.openapi import TOKEN_PATH, TRACK_PATH, openapi_sign
from carriers.yunexpress.sandbox_texts import event_text
from tracking.core.countries import CHINA_TZ

if TYPE_CHECKING:
    from carriers.kit.simulated import AskedShipments

__all__ = ["OPENAPI_CREDENTIALS", "OPENAPI_ROUTES", "authorized", "numbers", "render"]

OPENAPI_CREDENTIALS = {"app_id": "sandbox-app-7f3a", "app_secret": "sandbox-app-secret-2026"}
"""What the sandbox accepts as Open Platform credentials (settings names -> values)."""
OPENAPI_ROUTES: tuple[tuple[str, str], ...] = (("POST", TOKEN_PATH), ("GET", TRACK_PATH))
_TOKEN = "sbx-" + hashlib.sha256(OPENAPI_CREDENTIALS["app_id"].encode()).hexdigest()[:24]
_JSON = "application/json; charset=utf-8"


def authorized(request: SandboxRequest) -> bool:
    """Token route: the app id and secret; tracking: the token and the exact sign."""
    if request.path == TOKEN_PATH:
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return False
        return (
            isinstance(body, dict)
            and body.get("grantType") == "client_credentials"
            and body.get("appId") == OPENAPI_CREDENTIALS["app_id"]
            and body.get("appSecret") == OPENAPI_CREDENTIALS["app_secret"]
        )
    headers = request.headers
    date = headers.get("date", "")
    if headers.get("token") != _TOKEN or not date.isdigit():
        return False
    expected = openapi_sign(
        app_secret=OPENAPI_CREDENTIALS["app_secret"],
        date=date,
        method=request.method,
        uri=request.path,
        body=request.body.decode("utf-8", errors="replace"),
    )
    return hmac.compare_digest(headers.get("sign", "").encode(), expected.encode())


def numbers(request: SandboxRequest) -> list[str]:
    """No number for the token route; `order_number` (exact name) for tracking."""
    if request.path == TOKEN_PATH:
        return []
    number = request.query.get("order_number", "").strip()
    if not number or len(number) > 50:
        raise ValueError("order_number must be 1-50 characters")
    return [number]


def render(request: SandboxRequest, shipments: AskedShipments, *, now: datetime) -> SandboxReply:
    """A token, or the tracking answer for the one number."""
    stamp = int(now.timestamp() * 1000)
    if request.path == TOKEN_PATH:
        return SandboxReply(200, json_body({"accessToken": _TOKEN, "expiresIn": 7200}), _JSON)
    ((number, shipment),) = shipments
    envelope: dict[str, Any] = {
        "t": stamp,
        "success": True,
        "code": "0",
        "msg": "success",
        "request_id": hashlib.sha256(f"{number}|{stamp}".encode()).hexdigest()[:32],
        "result": None,
    }
    if shipment is not None:
        events = [
            {
                "time_zone": "+8",
                "event_date": e.at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                "description": event_text(e, chinese=False),
                "location": e.city,
            }
            for e in shipment.events
        ]
        envelope["result"] = {"waybill_number": number, "track_info": [{"track_events": events}]}
    return SandboxReply(200, json_body(envelope), _JSON)
