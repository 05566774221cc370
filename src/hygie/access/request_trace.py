"""Which audit events a request has written, so that an entry point that promised to record
every request it serves (FHIR: one event per request, the access's own) can tell, once the
response is ready, whether the gate recorded it, and record it itself otherwise (a request
refused before it reached the gate: an unknown parameter, a malformed body).

The record lives in a context variable holding a mutable list: a synchronous route runs in
a worker thread with a copy of the request's context, and the copy still points at the
same list."""

from __future__ import annotations

from contextvars import ContextVar

_events: ContextVar[list[int] | None] = ContextVar("hygie_request_events", default=None)


def start() -> list[int]:
    """Start tracing the current request; returns the list its events will be added to."""
    events: list[int] = []
    _events.set(events)
    return events


def note(event_id: int) -> None:
    """Called by ``audit.record`` for every event written."""
    events = _events.get()
    if events is not None:
        events.append(event_id)
