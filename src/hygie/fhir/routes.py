"""The FHIR application, mounted at ``/fhir`` on the main one: its resource modules, its
CapabilityStatement, and errors answered as OperationOutcome. A new resource is a module
with ``SPEC`` (what it supports) and ``router``, listed in RESOURCE_MODULES."""

from __future__ import annotations

from types import ModuleType

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from hygie.errors import HygieError
from hygie.fhir import (
    appointment,
    capability,
    coverage,
    encounter,
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
)


def specs() -> list[ResourceSpec]:
    return [module.SPEC for module in RESOURCE_MODULES]


def build(parent: FastAPI) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # One application in two: the same state (the database the main one opens at
    # start-up) and the same dependency overrides (tests move the clock on the main one).
    app.state = parent.state
    app.dependency_overrides = parent.dependency_overrides
    app.add_exception_handler(outcome.FhirError, outcome.on_fhir_error)
    app.add_exception_handler(HygieError, outcome.on_domain_error)
    app.add_exception_handler(RequestValidationError, outcome.on_bad_input)
    app.add_exception_handler(HTTPException, outcome.on_http_error)
    app.add_exception_handler(Exception, outcome.on_unexpected)
    app.include_router(capability.router(specs()))
    for module in RESOURCE_MODULES:
        app.include_router(module.router)
    return app


def install(parent: FastAPI) -> None:
    parent.mount("/fhir", build(parent))
