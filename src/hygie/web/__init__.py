"""The web application for hospital staff: server-rendered pages (Jinja2, with HTMX for
partial updates), static assets vendored in the package (no CDN: hospital networks are
closed, and the strict CSP holds without 'unsafe-inline'). Pages use the same
authentication and the same gate as the API; no page reads patient data any other way.

One module per area, each with an ``APIRouter`` named ``router``, listed in ROUTERS:
``pages`` (sign-in, enrolment, home, language), ``patients`` (search, new patient),
``chart`` (one patient's record, break-the-glass), ``clinical`` (clinical entry),
``agenda`` (practitioners' days and weeks, reception's arrivals), ``stays`` (admit,
transfer, discharge, ward list), ``admin`` (accounts), ``security`` (the security
officer's console), ``mine`` (one's own accesses and sessions). ``session`` gives pages
their signed-in user, ``forms`` their server-side validation, ``render`` the templates,
``errors`` the error pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from hygie.web import (
    admin,
    agenda,
    chart,
    clinical,
    errors,
    mine,
    pages,
    patients,
    security,
    stays,
)

STATIC = Path(__file__).parent / "static"
ROUTERS: tuple[APIRouter, ...] = (
    pages.router,
    patients.router,
    chart.router,
    clinical.router,
    agenda.router,
    stays.router,
    admin.router,
    security.router,
    mine.router,
)


def mount(app: FastAPI) -> None:
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
