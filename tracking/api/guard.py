"""Limits before work: a pure ASGI middleware in front of the whole API.

For every request under `/v1` it

1. checks the API key (`Authorization: Bearer <key>`) before a single byte of the body is
   read: a caller without a valid key gets 401 and the body is never received (the server
   stops reading the socket once its small buffer is full, then closes the connection);
2. refuses a body whose declared `Content-Length` is over the limit with 413 at once;
3. counts the bytes of the body as the route reads it and stops the read with 413 past the
   limit (a chunked body has no declared length).

The limit is the documented upload limit (`ApiOptions.max_upload_bytes`) for an orders import
(the API's or the console's) and `ApiOptions.max_json_bytes` for every other request. The
console's pages (outside `/v1`) skip step 1 only: they authenticate by their session cookie.
The principal found here is handed to the routes (`request.state.principal`), so a key is
looked up once per request.
"""

from __future__ import annotations

import json
import re
from typing import Final

from anyio import to_thread
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tracking.api.keys import Principal, authenticate
from tracking.api.problems import PROBLEM_MEDIA_TYPE

__all__ = ["CARRIER_PUSH_PREFIX", "BodyTooLarge", "RequestGuard"]

_TYPE_ROOT = "urn:track-evidence:problem:"
_BEARER = re.compile(r"Bearer[ \t]+(\S+)[ \t]*", re.IGNORECASE)


class BodyTooLarge(HTTPException):
    """The body went past its limit while a route read it (answered 413 by the app)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"the request body is larger than {limit:,} bytes, the limit of this endpoint"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


async def _problem(
    send: Send,
    scope: Scope,
    status: int,
    title: str,
    detail: str,
    *,
    kind: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body = json.dumps(
        {
            "type": _TYPE_ROOT + kind,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": str(scope.get("path", "")),
        }
    ).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})


CARRIER_PUSH_PREFIX: Final = "/v1/carriers/"
"""Routes under this prefix are carriers' webhooks, authenticated by the carrier's signature."""

CONSOLE_UPLOAD_PATH: Final = "/upload"
"""The console's orders upload (tracking/console/uploads.py): the upload limit applies."""


class RequestGuard:
    """The ASGI middleware (see the module docstring).

    **Parameters:**

    * **app** - the API app (its `state.context` holds the engine once started).
    * **json_limit** - the largest body of any request but an orders import.
    * **upload_limit** - the largest orders import (`POST /v1/orders`).
    """

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    def limit_for(self, method: str, path: str) -> int:
        """The body limit of a request."""
        if method == "POST" and path.rstrip("/") in ("/v1/orders", CONSOLE_UPLOAD_PATH):
            return self.upload_limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Carrier pushes carry no API key: the carrier signs the body and the route checks that
        # signature (tracking/api/routes/carrier_push.py); the console's pages (outside /v1)
        # authenticate by their session cookie (tracking/console). The body limit still applies.
        pushed = path.startswith(CARRIER_PUSH_PREFIX) or not (
            path == "/v1" or path.startswith("/v1/")
        )
        principal = None if pushed else await self._principal(scope)
        if principal is None and not pushed:
            given = _header(scope, b"authorization") is not None
            await _problem(
                send,
                scope,
                401,
                "Unauthorized",
                "the API key is invalid or was revoked"
                if given
                else "an API key is required: send `Authorization: Bearer <key>`",
                kind="unauthorized",
                headers=(
                    (
                        b"www-authenticate",
                        b'Bearer error="invalid_token"' if given else b"Bearer",
                    ),
                ),
            )
            return
        if principal is not None:
            scope.setdefault("state", {})["principal"] = principal
        limit = self.limit_for(str(scope.get("method", "")), path)
        declared = _header(scope, b"content-length")
        if declared is not None:
            text = declared.strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 18:
                await _problem(
                    send,
                    scope,
                    400,
                    "Bad Request",
                    "the Content-Length header is not a number",
                    kind="invalid-request",
                )
                return
            if int(text) > limit:
                await _problem(
                    send, scope, 413, "Content Too Large", _too_large(limit), kind="too-large"
                )
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _principal(self, scope: Scope) -> Principal | None:
        raw = _header(scope, b"authorization")
        if raw is None:
            return None
        match = _BEARER.fullmatch(raw.decode("latin-1"))
        if match is None:
            return None
        context = getattr(getattr(scope.get("app"), "state", None), "context", None)
        if context is None:  # the app is not started: nobody can be authenticated yet
            return None
        found: Principal | None = await to_thread.run_sync(
            authenticate, context.engine, match.group(1)
        )
        return found
