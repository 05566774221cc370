"""The FHIR application, mounted at ``/fhir`` on the main one: its resource modules, its
CapabilityStatement, and errors answered as OperationOutcome. A new resource is a module
with ``SPEC`` (what it supports) and ``router``, listed in RESOURCE_MODULES."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

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

    @app.middleware("http")
    async def every_request_recorded(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Each request with a valid token leaves one event at least: the gate's, or,
        for a request refused before it (a bad parameter), one written here."""
        events = request_trace.start()
        try:
            response = await call_next(request)
        except Exception:
            await _record(request, 500, events, failed=True)
            raise
        await _record(request, response.status_code, events, failed=response.status_code >= 500)
        return response

    app.add_exception_handler(outcome.FhirError, outcome.on_fhir_error)
    app.add_exception_handler(HygieError, outcome.on_domain_error)
    app.add_exception_handler(RequestValidationError, outcome.on_bad_input)
    app.add_exception_handler(HTTPException, outcome.on_http_error)
    app.add_exception_handler(Exception, outcome.on_unexpected)
    app.include_router(capability.router(specs()))
    for module in RESOURCE_MODULES:
        app.include_router(module.router)
    return app


async def _record(request: Request, status: int, events: list[int], *, failed: bool) -> None:
    caller = getattr(request.state, "fhir_caller", None)
    if caller is None or (events and not failed):
        return
    line = f"{request.method} {request.url.path}?{request.url.query}".rstrip("?")
    await run_in_threadpool(
        records.record_unserved, request.app.state.db, caller.actor, action="fhir.request",
        request_line=line, status=status,
    )  # fmt: skip


def install(parent: FastAPI) -> None:
    parent.mount("/fhir", build(parent))
