"""Signing in and out, and the signed-in account's own sessions.

``POST /api/session`` and ``POST /api/session/enrol`` are the only public routes of the
API. Every other route here needs the session itself (not an API token), and the
state-changing ones its CSRF token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from hygie.api import responses as r
from hygie.api.deps import (
    COOKIE_NAME,
    HOW,
    Db,
    From,
    Now,
    Reader,
    SessionId,
    SessionReader,
    SessionWriter,
)
from hygie.api.openapi import errors
from hygie.api.schemas import Enrol, SignIn
from hygie.auth import callers, self_service
from hygie.auth.sessions import COOKIE, DEFAULT_POLICY, make_csrf_token
from hygie.models import WebSession

router = APIRouter(prefix="/api", tags=["session"])


def set_session_cookie(response: Response, value: str) -> None:
    """The session cookie, for the API and the pages alike."""
    # No Max-Age: the browser forgets the cookie when it closes; the server ends the
    # session after 15 minutes idle or 12 hours in any case.
    response.set_cookie(
        COOKIE_NAME, value, path="/", secure=bool(COOKIE["secure"]),
        httponly=bool(COOKIE["httponly"]), samesite="strict",
    )  # fmt: skip


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, path="/", secure=True, httponly=True, samesite="strict")


def _signed_in(done: callers.SignedIn, response: Response) -> dict[str, Any]:
    set_session_cookie(response, done.cookie_value)
    row = done.web_session
    return {
        "username": done.user.username,
        "display_name": done.user.display_name,
        "session_id": row.id,
        "csrf_token": done.csrf_token,
        "expires_at": (row.created_at + DEFAULT_POLICY.absolute).isoformat(),
        "idle_timeout_seconds": int(DEFAULT_POLICY.idle.total_seconds()),
    }


@router.post("/session", response_model=r.SignedIn, responses=errors(401, 429))
def sign_in(body: SignIn, response: Response, db: Db, at: Now, origin: From) -> dict[str, Any]:
    """Sign in with a password and a TOTP code (or a recovery code): a new session."""
    done = callers.sign_in(
        db, username=body.username, password=body.password, totp_code=body.totp,
        recovery_code=body.recovery_code, enrol=False, client=origin, now=at, how=HOW,
    )  # fmt: skip
    return _signed_in(done, response)


@router.post("/session/enrol", response_model=r.SignedIn, responses=errors(401, 429))
def enrol(body: Enrol, response: Response, db: Db, at: Now, origin: From) -> dict[str, Any]:
    """Finish a pending TOTP enrolment with the password and a first code, and sign in."""
    done = callers.sign_in(
        db, username=body.username, password=body.password, totp_code=body.totp,
        recovery_code=None, enrol=True, client=origin, now=at, how=HOW,
    )  # fmt: skip
    return _signed_in(done, response)


@router.get("/session", response_model=r.WhoAmI)
def who_am_i(caller: Reader, db: Db) -> dict[str, Any]:
    """The account behind this session (or token) and its roles per establishment today."""
    row = caller.web_session
    return {
        "username": caller.actor.username,
        "how": "session" if row is not None else "token",
        "session_id": row.id if row is not None else None,
        "token_id": caller.token.id if caller.token is not None else None,
        "csrf_token": make_csrf_token(row) if row is not None else None,
        "expires_at": (row.created_at + DEFAULT_POLICY.absolute).isoformat() if row else None,
        "establishments": [
            {"id": p.establishment_id, "finess": p.finess, "name": p.name, "roles": p.roles}
            for p in self_service.posts(db, caller)
        ],
    }


@router.delete("/session", response_model=r.SignedOut)
def sign_out(
    caller: SessionWriter, response: Response, db: Db, at: Now, origin: From
) -> dict[str, Any]:
    """End this session."""
    self_service.sign_out(db, caller, client=origin, now=at, how=HOW)
    clear_session_cookie(response)
    return {"signed_out": True}


def _session_line(row: WebSession, caller: callers.Caller) -> dict[str, Any]:
    return {
        "id": row.id,
        "current": caller.web_session is not None and caller.web_session.id == row.id,
        "created_at": row.created_at.isoformat(),
        "last_seen_at": row.last_seen_at.isoformat(),
        "expires_at": (row.created_at + DEFAULT_POLICY.absolute).isoformat(),
        "ip": row.ip,
        "user_agent": row.user_agent,
    }


@router.get("/sessions", response_model=r.Sessions)
def my_sessions(caller: SessionReader, db: Db, at: Now) -> dict[str, Any]:
    """My open sessions, this one included."""
    rows = self_service.open_sessions(db, caller, now=at)
    return {"sessions": [_session_line(r, caller) for r in rows]}


@router.delete("/sessions/{session_id}", response_model=r.EndedOne, responses=errors(404))
def end_session(
    session_id: SessionId, caller: SessionWriter, db: Db, at: Now, origin: From
) -> dict[str, Any]:
    """End one of my sessions (on another device, say)."""
    self_service.end_session(db, caller, session_id, client=origin, now=at, how=HOW)
    return {"ended": [session_id]}


@router.delete("/sessions", response_model=r.EndedCount)
def end_other_sessions(caller: SessionWriter, db: Db, at: Now, origin: From) -> dict[str, Any]:
    """End all my sessions except this one."""
    count = self_service.end_other_sessions(db, caller, client=origin, now=at, how=HOW)
    return {"ended": count}
