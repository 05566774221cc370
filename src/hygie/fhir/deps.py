"""What every FHIR route depends on: the database and the clock (the API's own), the
caller behind a bearer token whose scope allows the interaction, and an optional
break-the-glass asked for in headers.

FHIR takes API tokens only (``Authorization: Bearer``): a FHIR client is an integration
or a tool, not a browser session. Every use of a token is recorded by the gate, allowed or
refused; every interaction then records its own access (``how = api``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import Depends, Request

from hygie.api.deps import Db, From, Now
from hygie.auth.callers import Caller, from_bearer_async
from hygie.auth.errors import TOKEN_INVALID, AuthenticationFailed
from hygie.fhir.outcome import FhirError

HOW = "api"
BREAK_GLASS_REASON = "X-Break-Glass-Reason"
BREAK_GLASS_TEXT = "X-Break-Glass-Text"


def _authenticator(operation: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    async def authenticate(request: Request, db: Db, at: Now, origin: From) -> Caller:
        authorization = request.headers.get("authorization")
        if authorization is None:
            raise AuthenticationFailed(
                "send an API token: Authorization: Bearer <token> (hygie token issue)"
            )
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthenticationFailed(TOKEN_INVALID)
        # The allowed use is recorded by the access itself (its event names the token), or
        # by routes.every_request_recorded when the request stops before the gate.
        caller = await from_bearer_async(
            db, secret.strip(), operation=operation, client=origin, now=at, how=HOW
        )
        request.state.fhir_caller = caller
        return caller

    return authenticate


Reader = Annotated[Caller, Depends(_authenticator("read"))]
Writer = Annotated[Caller, Depends(_authenticator("write"))]


@dataclass(frozen=True)
class GlassRequest:
    """Break-the-glass asked for with a request: a reason code from the gate's list and a
    free text (percent-encoded UTF-8 in the header, as headers carry ASCII)."""

    reason_code: str
    reason_text: str


async def break_glass_request(request: Request) -> GlassRequest | None:
    code = request.headers.get(BREAK_GLASS_REASON)
    text = request.headers.get(BREAK_GLASS_TEXT)
    if code is None and text is None:
        return None
    if not code or not text:
        raise FhirError(
            400,
            f"break-the-glass needs both {BREAK_GLASS_REASON} (a reason code) and "
            f"{BREAK_GLASS_TEXT} (why, percent-encoded UTF-8)",
            expression=BREAK_GLASS_REASON if not code else BREAK_GLASS_TEXT,
        )
    try:
        decoded = unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise FhirError(400, "not percent-encoded UTF-8", expression=BREAK_GLASS_TEXT) from None
    return GlassRequest(code.strip(), decoded)


Glass = Annotated[GlassRequest | None, Depends(break_glass_request)]
