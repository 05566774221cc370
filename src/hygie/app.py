"""The FastAPI application: health and readiness, and the JSON API under /api
(:mod:`hygie.api`), whose every route reaches patient data through the access gate.
Start-up refuses to run with a missing or wrong key file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hygie import __version__, fhir, web
from hygie.access import containment
from hygie.access.sealing import BackgroundSealer
from hygie.api import mount
from hygie.api import responses as r
from hygie.api.limits import RequestLimits
from hygie.config import Settings
from hygie.db import Database, check_and_register_keys
from hygie.errors import ConfigurationError
from hygie.kit.crypto import Keyring

SEAL_INTERVAL = 0.2  # seconds

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class SecurityHeaders:
    """Adds ``headers`` to every HTTP response (replacing any of the same name). Plain
    ASGI: no task or stream per request, as ``BaseHTTPMiddleware`` costs."""

    def __init__(self, app: ASGIApp, *, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = dict(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def open_checked(settings: Settings) -> Database:
    """Open the database and check that its schema is current and its keys are here."""
    db = Database.from_settings(settings)
    if not db.schema_is_current():
        raise ConfigurationError("the database schema is not current: run `hygie db upgrade`")
    check_and_register_keys(db, Keyring.load(settings.key_file))
    return db


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    """The application; ``db``: an open, checked database to serve (tests), instead of the
    one ``settings`` name (opened and checked at start-up, closed at shut-down)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if db is not None:
            # A database the caller opened (tests): its direct connections, in this loop.
            await db.open_direct()
            try:
                yield
            finally:
                await db.close_direct()
            return
        app.state.db = open_checked(settings)
        # Containment's counters (in Redis with HYGIE_REDIS_URL, so that limits hold across
        # processes) and the channels its alerts go to (HYGIE_ALERT_*).
        guard = containment.install(app.state.db, containment.guard_from_env(os.environ))
        await app.state.db.open_direct()
        # Chains the trail's events every 0.2 s; on PostgreSQL accesses then leave sealing
        # to it (docs/DECISIONS.md, "sealed in the background by a server").
        sealer = BackgroundSealer(app.state.db, interval=SEAL_INTERVAL, defer=True)
        sealer.start()
        yield
        sealer.stop()
        if guard.dispatcher is not None:
            guard.dispatcher.close()  # sends what is queued, within a few seconds
        await app.state.db.close_direct()
        app.state.db.dispose()

    app = FastAPI(
        title="Hygie", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    if db is not None:
        app.state.db = db

    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)

    # Outermost of our middleware: an over-large or over-long request is refused before
    # anything else runs (it adds the security headers to its refusals itself).
    app.add_middleware(
        RequestLimits, max_body_bytes=settings.max_body_bytes, headers=SECURITY_HEADERS
    )
    # FHIR first: routes are tried in order, and an integration's requests (thousands a
    # second) should not be matched against every API and page route before their own.
    fhir.mount(app)
    mount(app, security_headers=SECURITY_HEADERS)
    web.mount(app)

    @app.get("/health", response_model=r.Health)
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok", "version": __version__}

    @app.get(
        "/ready",
        responses={
            200: {"model": r.Ready, "description": "The database answers, schema current."},
            503: {"model": r.NotReady, "description": "Not ready: database or schema."},
        },
    )
    def ready(request: Request) -> JSONResponse:
        """Readiness: the database answers and its schema is current."""
        db: Database = request.app.state.db
        try:
            db.ping()
            current = db.schema_is_current()
        except Exception as exc:  # any failure means "not ready", reported without details
            return JSONResponse(
                {"status": "unavailable", "reason": type(exc).__name__}, status_code=503
            )
        if not current:
            return JSONResponse(
                {"status": "unavailable", "reason": "schema not current"}, status_code=503
            )
        return JSONResponse({"status": "ready", "database": db.dialect})

    return app
