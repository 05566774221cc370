"""FHIR under test: the API's ``site`` (a small group, one patient in establishment A with
an appointment with Dr A) with bearer tokens, and a check that every resource the server
answers is valid against the R4 models of fhir.resources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hygie.auth import tokens
from hygie.db import Database
from hygie.fhir.wire import model_of
from hygie.models import AuditEvent
from hygie.storage import staff as staff_store
from tests.api.conftest import Site, site  # noqa: F401 - the fixture, shared

FHIR_JSON = "application/fhir+json"


def token(site: Site, username: str, scope: str = "read") -> str:  # noqa: F811
    with site.db.transaction() as session:
        user = staff_store.user_by_username(session, username)
        assert user is not None
        return tokens.issue_token(
            session, user=user, scope=scope, ttl=timedelta(hours=1), now=site.clock.now, how="cli"
        ).secret


class Fhir:
    """A FHIR client on the test application with a token; every answer's resource is
    checked against the fhir.resources model of its type."""

    def __init__(self, site: Site, username: str, scope: str = "read") -> None:  # noqa: F811
        self.site = site
        self.http = TestClient(
            site.app, base_url="https://testserver",
            headers={"Authorization": f"Bearer {token(site, username, scope)}",
                     "User-Agent": "pytest-fhir", "Accept": FHIR_JSON},
        )  # fmt: skip

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.http.request(method, f"/fhir/{path.lstrip('/')}", **kwargs)
        assert answer.headers["content-type"].startswith(FHIR_JSON), answer.text
        body = answer.json()
        model_of(body["resourceType"]).model_validate(body)
        return answer

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, resource: dict[str, Any], **kwargs: Any) -> Any:
        headers = {"Content-Type": FHIR_JSON, **kwargs.pop("headers", {})}
        return self.request("POST", path, json=resource, headers=headers, **kwargs)

    def put(self, path: str, resource: dict[str, Any], **kwargs: Any) -> Any:
        headers = {"Content-Type": FHIR_JSON, **kwargs.pop("headers", {})}
        return self.request("PUT", path, json=resource, headers=headers, **kwargs)


@pytest.fixture
def fhir(site: Site) -> Iterator[Any]:  # noqa: F811
    """``fhir("dr.a")``: a FHIR client for that account (read scope by default)."""
    yield lambda username, scope="read": Fhir(site, username, scope)


def events_after(db: Database, event_id: int) -> list[AuditEvent]:
    with db.sessions() as s:
        return list(
            s.scalars(select(AuditEvent).where(AuditEvent.id > event_id).order_by(AuditEvent.id))
        )


def outcome_of(answer: Any) -> str:
    body = answer.json()
    assert body["resourceType"] == "OperationOutcome", body
    return str(body["issue"][0]["diagnostics"])
