"""A real FHIR client library (fhirpy, written elsewhere) against the running server, on a
loopback port: search, paging to the end, read, create, update, and the denials."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

from hygie.patients import service as patients
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, token
from tests.fhir.live import serving


@pytest.fixture
def server(site: Site) -> Iterator[str]:
    with site.db.transaction() as s:
        for i in range(25):
            patients.create_patient(
                s, establishment_id=site.world.est_a, birth_name="Bernard",
                birth_first_names=[f"Paul{chr(65 + i)}"], sex="male", birth_date=date(1950 + i, 3, 1),
            )  # fmt: skip
    with serving(site.app) as base:
        yield f"{base}/fhir"


def client(site: Site, server: str, username: str, scope: str = "read") -> SyncFHIRClient:
    return SyncFHIRClient(
        server, authorization=f"Bearer {token(site, username, scope)}",
        extra_headers={"User-Agent": "fhirpy-test"},
    )  # fmt: skip


def test_search_pages_to_the_end(site: Site, server: str) -> None:
    fhir = client(site, server, "sec.a")
    before = site.last_event_id()
    found = fhir.resources("Patient").search(family="bernard").limit(10).fetch_all()
    assert len(found) == 25 and len({p.id for p in found}) == 25
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.patient.search"]
    assert [e.record_count for e in searches] == [10, 10, 5]
    assert all(e.how == "api" and e.ip == "127.0.0.1" for e in searches)
    assert fhir.resources("Patient").search(family="bernard").count() == 25


def test_read_create_update(site: Site, server: str) -> None:
    fhir = client(site, server, "sec.a", "write")
    martin = fhir.reference("Patient", str(site.patient)).to_resource()
    assert martin["name"][0]["family"] == "Martin"
    new = fhir.resource(
        "Patient", name=[{"use": "official", "family": "Giraud", "given": ["Léa"]}],
        gender="female", birthDate="2001-09-09",
    )  # fmt: skip
    new.save()
    assert new.id and new["meta"]["versionId"]
    new["address"] = [{"line": ["8 quai Est"], "postalCode": "69002", "city": "Lyon"}]
    new.save()
    again = fhir.reference("Patient", new.id).to_resource()
    assert again["address"][0]["city"] == "Lyon"


def test_denials_reach_the_client_as_errors(site: Site, server: str) -> None:
    with pytest.raises(ForbiddenError) as refused:
        client(site, server, "it.admin").reference("Patient", str(site.patient)).to_resource()
    assert "may not read identity" in str(refused.value)
    with pytest.raises(ResourceNotFound):
        client(site, server, "dr.b").reference("Patient", str(site.patient)).to_resource()
    reader = client(site, server, "sec.a", "read")
    new: Any = reader.resource(
        "Patient", name=[{"use": "official", "family": "Roux", "given": ["Max"]}],
        gender="male", birthDate="1999-01-01",
    )  # fmt: skip
    with pytest.raises((ForbiddenError, OperationOutcome)) as refused:
        new.save()  # a read-scope token
    assert "does not allow" in str(refused.value)
