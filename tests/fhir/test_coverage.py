"""FHIR Coverage through the gate: a patient's AMO and AMC, read by id (amo-N, amc-N) and
searched by patient with paging; the NIR never sent, the AMC member number only to roles
that need it; refusals recorded."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hygie.patients import service as patients
from tests.api.conftest import Site
from tests.factories import nir
from tests.fhir.conftest import events_after
from tests.fhir.test_appointment import pages


@pytest.fixture
def cover(site: Site) -> dict[str, list[int]]:
    """Two AMO (the current one and an expired one) and one AMC of the site's patient."""
    with site.db.transaction() as s:
        amo = [
            patients.record_amo_coverage(
                s, patient_id=site.patient, regime_code="01", fund_code="751",
                fund_name="CPAM de Paris", insured_nir=nir(sex=2), beneficiary="insured",
                valid_from=date(2024, 1, 1),
            ).id,
            patients.record_amo_coverage(
                s, patient_id=site.patient, regime_code="01", fund_code="921",
                fund_name="CPAM des Hauts-de-Seine", insured_nir=nir(sex=1, order=7),
                beneficiary="dependant", valid_from=date(2010, 1, 1),
                valid_until=date(2023, 12, 31),
            ).id,
        ]  # fmt: skip
        amc = [
            patients.record_amc_coverage(
                s, patient_id=site.patient, organism_number="75123456",
                organism_name="Mutuelle Exemple", member_number="AB12345",
                valid_from=date(2024, 1, 1),
            ).id
        ]  # fmt: skip
    return {"amo": amo, "amc": amc}


def test_read_amo_and_amc(site: Site, fhir: Any, cover: dict[str, list[int]]) -> None:
    client = fhir("fact.a")
    before = site.last_event_id()
    answer = client.get(f"Coverage/amo-{cover['amo'][0]}")
    assert answer.status_code == 200, answer.text
    amo = answer.json()
    assert amo["id"] == f"amo-{cover['amo'][0]}"
    assert amo["beneficiary"] == {"reference": f"Patient/{site.patient}"}
    assert amo["payor"][0]["display"] == "CPAM de Paris"
    assert amo["payor"][0]["identifier"]["value"] == "01751"
    assert amo["relationship"]["coding"][0]["code"] == "self"
    assert nir(sex=2) not in answer.text  # the NIR is never sent
    (read,) = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert (read.action, read.outcome, read.how, read.level, read.patient_ids) == (
        "fhir.coverage.read", "allowed", "api", "record", [site.patient],
    )  # fmt: skip
    amc = client.get(f"Coverage/amc-{cover['amc'][0]}").json()
    assert amc["payor"][0]["display"] == "Mutuelle Exemple"
    assert amc["subscriberId"] == "AB12345"  # billing officers need it
    old = client.get(f"Coverage/amo-{cover['amo'][1]}").json()
    assert old["period"] == {"start": "2010-01-01", "end": "2023-12-31"}
    assert old["relationship"]["coding"][0]["code"] == "other"


def test_physicians_do_not_get_the_member_number(
    site: Site, fhir: Any, cover: dict[str, list[int]]
) -> None:
    amc = fhir("dr.a").get(f"Coverage/amc-{cover['amc'][0]}").json()
    assert "subscriberId" not in amc and "AB12345" not in str(amc)


def test_search_by_patient_pages_to_the_end(
    site: Site, fhir: Any, cover: dict[str, list[int]]
) -> None:
    client = fhir("sec.a")
    before = site.last_event_id()
    total, found = pages(client, "Coverage", {"patient": f"Patient/{site.patient}",
                                              "_count": 2})  # fmt: skip
    assert total == 3
    assert [r["id"] for r in found] == [f"amo-{i}" for i in cover["amo"]] + [
        f"amc-{cover['amc'][0]}"
    ]
    searches = [e for e in events_after(site.db, before) if e.action == "fhir.coverage.search"]
    assert len(searches) == 2 and all(e.how == "api" and e.outcome == "allowed" for e in searches)


@pytest.mark.parametrize(
    "path",
    ["Coverage/12", "Coverage/amo-", "Coverage/xyz-1", "Coverage/amo-99999",
     "Coverage/amo-99999999999999999999"],
)  # fmt: skip
def test_unknown_ids_are_404(site: Site, fhir: Any, path: str) -> None:
    assert fhir("sec.a").get(path).status_code == 404


def test_an_amo_id_asked_as_amc_is_404(site: Site, fhir: Any, cover: dict[str, list[int]]) -> None:
    unused = max(cover["amo"] + cover["amc"]) + 1
    assert fhir("sec.a").get(f"Coverage/amc-{unused}").status_code == 404


@pytest.mark.parametrize("params", [{}, {"patient": "abc"}, {"patient": "1", "payor": "x"}])
def test_bad_searches_are_400(site: Site, fhir: Any, params: dict[str, Any]) -> None:
    assert fhir("sec.a").get("Coverage", params=params).status_code == 400


def test_refusals(site: Site, fhir: Any, cover: dict[str, list[int]]) -> None:
    nurse = fhir("ide.a")  # nurses do not read coverage
    before = site.last_event_id()
    assert nurse.get("Coverage", params={"patient": site.patient}).status_code == 403
    assert nurse.get(f"Coverage/amo-{cover['amo'][0]}").status_code == 403
    denials = [e for e in events_after(site.db, before) if e.action != "token.use"]
    assert [(e.action, e.outcome) for e in denials] == [
        ("fhir.coverage.search", "denied"), ("fhir.coverage.read", "denied"),
    ]  # fmt: skip
    outside = fhir("dr.b")
    before = site.last_event_id()
    empty = outside.get("Coverage", params={"patient": site.patient})
    assert empty.status_code == 200 and empty.json()["total"] == 0
    assert events_after(site.db, before)[-1].outcome == "denied"
    assert outside.get(f"Coverage/amo-{cover['amo'][0]}").status_code == 404


def test_the_mapper_tells_the_kind_from_the_item() -> None:
    from hygie.fhir.coverage import to_resource

    amo = {"id": 4, "regime": "01", "fund_code": "751", "fund": "CPAM", "beneficiary": "insured",
           "valid_from": "2024-01-01", "valid_until": None}  # fmt: skip
    amc = {"id": 4, "organism_number": "75123456", "organism": "Mutuelle",
           "member_number": None, "valid_from": "2024-01-01", "valid_until": None}  # fmt: skip
    assert to_resource(amo, 9)["id"] == "amo-4" and to_resource(amc, 9)["id"] == "amc-4"
