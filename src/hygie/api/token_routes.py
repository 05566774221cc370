"""The signed-in account's API bearer tokens.

Only a signed-in session (with its CSRF token) issues a token: a token never mints
another, so a leaked token dies with its expiry. A token may list its account's tokens
and revoke one (itself included)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hygie.api import responses as r
from hygie.api.deps import HOW, Db, From, Now, Reader, SessionWriter, TokenId, Writer
from hygie.api.openapi import errors
from hygie.api.schemas import TokenRequest
from hygie.auth import self_service
from hygie.models import ApiToken

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


def _token_line(row: ApiToken) -> dict[str, Any]:
    return {
        "id": row.id,
        "scope": row.scope,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }


@router.post("", status_code=201, response_model=r.IssuedToken)
def issue(
    body: TokenRequest, caller: SessionWriter, db: Db, at: Now, origin: From
) -> dict[str, Any]:
    """A new token for my account: shown once, stored hashed."""
    issued = self_service.issue_token(
        db, caller, ttl_seconds=body.ttl, scope=body.scope, client=origin, now=at, how=HOW
    )
    return {"token": issued.secret, **_token_line(issued.row)}


@router.get("", response_model=r.Tokens)
def my_tokens(caller: Reader, db: Db, at: Now) -> dict[str, Any]:
    """My live tokens (never their secret)."""
    return {"tokens": [_token_line(t) for t in self_service.live_tokens(db, caller, now=at)]}


@router.delete("/{token_id}", response_model=r.Revoked, responses=errors(404))
def revoke(token_id: TokenId, caller: Writer, db: Db, at: Now, origin: From) -> dict[str, Any]:
    """Revoke one of my tokens."""
    self_service.revoke_token(db, caller, token_id, client=origin, now=at, how=HOW)
    return {"revoked": token_id}
