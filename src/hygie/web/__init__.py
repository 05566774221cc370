"""The web application for hospital staff: server-rendered pages (Jinja2), static assets
vendored in the package (no CDN: hospital networks are closed, and the strict CSP holds
without 'unsafe-inline'). Pages use the same authentication and the same gate as the API;
no page reads patient data any other way.

Built so far (issue 6, started): signing in with a password and a TOTP code, the home page
and signing out; a page asked for without a live session sends to sign-in and back."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from hygie.web import pages

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
