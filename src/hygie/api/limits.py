"""Request size limits, enforced before any route runs: a body larger than
``HYGIE_MAX_BODY_BYTES`` gets 413, an address (path and query string) longer than
:data:`MAX_URL_BYTES` gets 414, both in the API's error shape (an OperationOutcome under
``/fhir``) and with ``Connection: close``, so the server stops reading the rest.

A body is refused as soon as it is known to be too large: at once when its Content-Length
says so (the application never sees the request), and otherwise while it streams in
(chunked transfer): the application is handed chunks only while their running total stays
within the limit, so nothing above the limit is ever buffered; the chunk that crosses it
is dropped and the application's own answer (to a body it could not finish reading) is
replaced by the 413.

Starlette's ``RequestBodyLimitMiddleware`` (``FastAPI(max_body_size=...)``) counts the
same way but only once a route reads its body, and answers in plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Path plus query string, in bytes as received. Browsers and proxies commonly cap a URL
# near 8 KiB; nothing in Hygie's API needs a fraction of that.
MAX_URL_BYTES = 8 * 1024


class BodyTooLarge(Exception):
    """Raised into the application when a streamed body crosses the limit."""


def too_large_message(limit: int) -> str:
    return f"the request body is too large: at most {limit} bytes are accepted"


def too_long_message(limit: int) -> str:
    return f"the address is too long: at most {limit} bytes of path and query string"


BAD_LENGTH = "the Content-Length header is not a valid length"


class RequestLimits:
    """ASGI middleware refusing over-long addresses and over-large bodies."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_url_bytes: int = MAX_URL_BYTES,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if max_body_bytes < 1 or max_url_bytes < 1:
            raise ValueError("limits must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_url_bytes = max_url_bytes
        self.headers = dict(headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        if len(raw_path) + len(scope.get("query_string", b"")) > self.max_url_bytes:
            await self._refuse(scope, send, 414, too_long_message(self.max_url_bytes))
            return
        declared = _content_length(scope)
        if declared == -1:
            await self._refuse(scope, send, 400, BAD_LENGTH)
            return
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, send, 413, too_large_message(self.max_body_bytes))
            return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the application's answer to a body cut short: ours replaces it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # Whatever a body cut short made the application raise (BodyTooLarge itself,
            # or an error wrapping it) is answered by the 413 below.
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, send, 413, too_large_message(self.max_body_bytes))

    async def _refuse(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if _is_fhir(scope):
            media_type = "application/fhir+json"
            code = "too-long" if status in (413, 414) else "invalid"
            payload: dict[str, object] = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": code, "diagnostics": message}],
            }
        else:
            media_type = "application/json"
            payload = {"error": message, "field": None}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = [
            *((k.lower().encode(), v.encode()) for k, v in self.headers.items()),
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared length, None if absent, -1 if not a length."""
    values = [v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"]
    if not values:
        return None
    distinct = {v.strip() for v in values}
    if len(distinct) != 1:
        return -1
    (value,) = distinct
    if not value.isdigit():
        return -1
    return int(value) if len(value) <= 18 else 1 << 62


def _is_fhir(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path == "/fhir" or path.startswith("/fhir/")
