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
