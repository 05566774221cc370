"""The FHIR application, mounted at ``/fhir`` on the main one: its resource modules, its
CapabilityStatement, and errors answered as OperationOutcome. A new resource is a module
with ``SPEC`` (what it supports) and ``router``, listed in RESOURCE_MODULES."""

from __future__ import annotations

from types import ModuleType

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hygie.access import records, request_trace
from hygie.errors import HygieError
from hygie.fhir import (
    allergy,
    appointment,
    audit_event,
    capability,
    condition,
    coverage,
    encounter,
    everything,
    medication,
    organization,
    outcome,
    patient,
    practitioner,
    practitioner_role,
)
from hygie.fhir.spec import ResourceSpec

RESOURCE_MODULES: tuple[ModuleType, ...] = (
    patient,
    appointment,
    encounter,
    coverage,
    practitioner,
    practitioner_role,
    organization,
    allergy,
    condition,
    medication,
    audit_event,
    everything,
)


def specs() -> list[ResourceSpec]:
    # A module may serve an operation of a type declared by another (no SPEC of its own).
    return [module.SPEC for module in RESOURCE_MODULES if hasattr(module, "SPEC")]


def build(parent: FastAPI) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # One application in two: the same state (the database the main one opens at
    # start-up) and the same dependency overrides (tests move the clock on the main one).
    app.state = parent.state
    app.dependency_overrides = parent.dependency_overrides

    app.add_middleware(EveryRequestRecorded)
    app.add_exception_handler(outcome.FhirError, outcome.on_fhir_error)
    app.add_exception_handler(HygieError, outcome.on_domain_error)
    app.add_exception_handler(RequestValidationError, outcome.on_bad_input)
    app.add_exception_handler(HTTPException, outcome.on_http_error)
    app.add_exception_handler(Exception, outcome.on_unexpected)
    app.include_router(capability.router(specs()))
    for module in RESOURCE_MODULES:
        app.include_router(module.router)
    return app


class EveryRequestRecorded:
    """Each request with a valid token leaves one event at least: the gate's, or, for a
    request refused before it (a bad parameter), one written here once the answer is sent
    (it carries no patient data). Plain ASGI: it costs a request no task or stream of its
    own, and the route sees the context it starts the request's trace in."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        events = request_trace.start()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            await _record(scope, 500, events, failed=True)
            raise
        await _record(scope, status, events, failed=status >= 500)


async def _record(scope: Scope, status: int, events: list[int], *, failed: bool) -> None:
    caller = scope.get("state", {}).get("fhir_caller")
    if caller is None or (events and not failed):
        return
    query = scope.get("query_string", b"").decode("latin-1")
    line = f"{scope['method']} {scope['path']}?{query}".rstrip("?")  # the full path
    await run_in_threadpool(
        records.record_unserved, scope["app"].state.db, caller.actor, action="fhir.request",
        request_line=line, status=status,
    )  # fmt: skip


def install(parent: FastAPI) -> None:
    parent.mount("/fhir", build(parent))
