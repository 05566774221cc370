"""The account holder's own page: their open sessions (ending any other one, or all the
others) and their recent accesses as the trail holds them (what, when, from where, how
many records: never which patients). Someone whose password was stolen is the first who
can notice that their account works at night from another address."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from hygie.access import own_trail
from hygie.auth import self_service
from hygie.errors import NotFoundError
from hygie.web.render import page
from hygie.web.session import HOW, Editor, User, Viewer

router = APIRouter(include_in_schema=False)
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _mine(request: Request, user: User, *, notice: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    live = self_service.open_sessions(user.db, user.caller, now=user.now)
    current = user.caller.web_session.id if user.caller.web_session is not None else None
    events = own_trail.recent_accesses(user.db, user.actor, count=50)
    return page("mine/mine.html", request=request, user=user, sessions=live, current=current,
                events=events, notice=notice, status=status)  # fmt: skip


@router.get("/mine")
def mine(request: Request, user: Viewer) -> Response:
    return _mine(request, user)


@router.post("/mine/sessions/{session_id}/end")
def end_session(request: Request, session_id: SessionId, user: Editor) -> Response:
    try:
        self_service.end_session(user.db, user.caller, session_id, client=user.client,
                                 now=user.now, how=HOW)  # fmt: skip
    except NotFoundError:
        return _mine(request, user, notice="gone", status=404)
    if user.caller.web_session is not None and user.caller.web_session.id == session_id:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/mine?ended=1", status_code=303)


@router.post("/mine/sessions/end-others")
def end_other_sessions(user: Editor) -> Response:
    ended = self_service.end_other_sessions(user.db, user.caller, client=user.client,
                                            now=user.now, how=HOW)  # fmt: skip
    return RedirectResponse(f"/mine?ended={ended}", status_code=303)
