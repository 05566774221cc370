"""Regressions for what the property-based run (test_openapi_fuzz.py) found, each pinned
with a plain example so that it stays fixed whatever the run happens to draw."""

from __future__ import annotations

from tests.api.conftest import Site
from tests.api.test_tokens import bearer, issue


def test_break_glass_reason_fits_the_trail(site: Site) -> None:
    """A reason of 501 to 1,000 characters was accepted, then overflowed the trail's
    reason column on PostgreSQL (a 500). It is now refused as input; 500 fit."""
    client = bearer(site, issue(site, "ide.a", scope="write")["token"])
    url = f"/api/patients/{site.patient}/break-glass"
    refused = client.post(url, json={"reason_code": "emergency", "reason_text": "é" * 501})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "reason_text"
    opened = client.post(url, json={"reason_code": "emergency", "reason_text": "é" * 500})
    assert opened.status_code == 201, opened.text


def test_a_body_that_is_not_utf8_is_not_json(site: Site) -> None:
    """FastAPI answered bytes it could not decode with its own 400 'There was an error
    parsing the body'; they are as much 'not JSON' as a stray brace."""
    client = bearer(site, issue(site, "ide.a", scope="write")["token"])
    answer = client.post(
        f"/api/patients/{site.patient}/break-glass",
        content=b'{"reason_code": "\xff\xfe"}',
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"error": "the body is not valid JSON", "field": None}
