"""The JSON API under ``/api``: sign-in and sessions, API tokens, and patient data through
the access gate.

Every route builds its caller's actor (account, session or token, address, user agent,
``how="api"``) through :mod:`hygie.api.deps` and calls the gate; the gate decides. A new
group of routes is a module with an ``APIRouter`` named ``router``, listed in ROUTERS."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, FastAPI

from hygie.api import (
    alert_routes,
    errors,
    export_routes,
    openapi,
    patient_routes,
    review_routes,
    session_routes,
    token_routes,
    write_routes,
)

ROUTERS: tuple[APIRouter, ...] = (
    session_routes.router,
    token_routes.router,
    patient_routes.router,
    review_routes.router,
    alert_routes.router,
    export_routes.router,
    *write_routes.ROUTERS,
)


def mount(app: FastAPI, *, security_headers: Mapping[str, str]) -> None:
    """Add the API's routes and error handlers to ``app``."""
    errors.install(app, security_headers)
    openapi.install(app)
    for router in ROUTERS:
        app.include_router(router)
