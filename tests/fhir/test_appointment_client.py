"""Appointment, Encounter, Coverage and the directory driven by a FHIR client library
written elsewhere (fhirpy), against the server on a loopback port: an agenda paged to the
end, a booking, a move and a cancellation, and the refusals as the client sees them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError, OperationOutcome, ResourceNotFound

from hygie.scheduling import service as scheduling
from tests.api.conftest import Site
from tests.fhir.conftest import events_after, token
from tests.fhir.live import serving
from tests.fhir.test_appointment import later


@pytest.fixture
def server(site: Site) -> Iterator[str]:
    with site.db.transaction() as s:
        for n in range(11):
            scheduling.book_appointment(
                s, patient_id=site.patient, practitioner_id=site.world.physician,
                establishment_id=site.world.est_a, start_at=later(site, 10 + n),
                duration_min=30, reason=f"Contrôle {n}",
            )  # fmt: skip
    with serving(site.app) as base:
        yield f"{base}/fhir"


def client(site: Site, server: str, username: str, scope: str = "read") -> SyncFHIRClient:
    return SyncFHIRClient(
        server, authorization=f"Bearer {token(site, username, scope)}",
        extra_headers={"User-Agent": "fhirpy-test"},
    )  # fmt: skip


def test_agenda_pages_to_the_end(site: Site, server: str) -> None:
    fhir = client(site, server, "sec.a")
    before = site.last_event_id()
    agenda = fhir.resources("Appointment").search(
        practitioner=f"Practitioner/{site.world.physician}"
    )
    found = agenda.limit(5).fetch_all()
    assert len(found) == 12 and len({a.id for a in found}) == 12
    starts = [datetime.fromisoformat(a["start"]) for a in found]
    assert starts == sorted(starts)
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.appointment.search"]
    assert [e.record_count for e in searches] == [5, 5, 2]
    assert all(e.level == "summary" and e.how == "api" and e.ip == "127.0.0.1" for e in searches)
    assert agenda.count() == 12
    day = later(site, 10).date()
    assert fhir.resources("Appointment").search(
        patient=site.patient, date=[f"ge{day}", f"lt{day + timedelta(days=3)}"]
    ).count() == 3  # fmt: skip


def test_book_move_cancel(site: Site, server: str) -> None:
    fhir = client(site, server, "sec.a", "write")
    start = later(site, 40, 9)
    booking = fhir.resource(
        "Appointment", status="booked", start=start.isoformat(), minutesDuration=20,
        reasonCode=[{"text": "Bilan"}],
        participant=[
            {"actor": {"reference": f"Patient/{site.patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{site.world.physician}"}, "status": "accepted"},
        ],
    )  # fmt: skip
    booking.save()
    assert booking.id and booking["meta"]["versionId"]
    booking["start"] = (start + timedelta(hours=2)).isoformat()
    booking["end"] = (start + timedelta(hours=2, minutes=20)).isoformat()
    booking.save()
    moved = fhir.reference("Appointment", booking.id).to_resource()
    assert datetime.fromisoformat(moved["start"]) == start + timedelta(hours=2)
    moved["status"] = "cancelled"
    moved["cancelationReason"] = {"text": "Le patient a appelé"}
    moved.save()
    assert fhir.reference("Appointment", booking.id).to_resource()["status"] == "cancelled"
    clash = fhir.resource(
        "Appointment", status="booked", start=later(site, 10, 10).isoformat(),
        minutesDuration=20, reasonCode=[{"text": "Bilan"}],
        participant=[
            {"actor": {"reference": f"Patient/{site.patient}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{site.world.physician}"}, "status": "accepted"},
        ],
    )  # fmt: skip
    with pytest.raises(OperationOutcome) as refused:  # day 10 at 10:00 is taken
        clash.save()
    assert "already has appointment" in str(refused.value)


def test_other_resources_and_refusals(site: Site, server: str) -> None:
    fhir = client(site, server, "sec.a")
    practitioner = fhir.reference("Practitioner", str(site.world.physician)).to_resource()
    assert practitioner["name"][0]["family"] == "NomB"
    assert fhir.resources("Organization").search(name="clinique").count() == 2
    assert fhir.resources("PractitionerRole").search(
        organization=f"Organization/{site.world.est_a}"
    ).count() == 3  # fmt: skip
    assert fhir.resources("Encounter").search(patient=site.patient).count() == 0
    assert fhir.resources("Coverage").search(patient=site.patient).count() == 0
    billing = client(site, server, "fact.a")
    with pytest.raises(ForbiddenError):
        billing.resources("Appointment").search(patient=site.patient).fetch()
    outside = client(site, server, "dr.b")
    assert outside.resources("Appointment").search(patient=site.patient).fetch() == []
    first = fhir.resources("Appointment").search(patient=site.patient).first()
    assert first is not None
    with pytest.raises(ResourceNotFound):
        outside.reference("Appointment", first.id).to_resource()
