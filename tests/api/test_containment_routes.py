"""The containment routes: a session's step-up, the detector's norms, and closing alerts;
each for whom it is meant, with clear refusals."""

from __future__ import annotations

from hygie.access import containment
from tests.api.conftest import Site


def test_a_session_steps_up_with_a_fresh_code_and_a_wrong_one_is_refused(site: Site) -> None:
    client, signed = site.sign_in("sec.a")
    headers = {"X-CSRF-Token": signed["csrf_token"]}
    wrong = client.post("/api/session/step-up", json={"totp": "000000"}, headers=headers)
    assert wrong.status_code == 401 and "code" in wrong.json()["error"]
    at = site.clock.advance(seconds=30)
    done = client.post(
        "/api/session/step-up", json={"totp": site.logins["sec.a"].code(at)}, headers=headers
    )
    assert done.status_code == 200, done.text
    board = containment.guard_for(site.db.engine).board
    with site.db.sessions() as session:
        from hygie.storage import staff as staff_store

        user = staff_store.user_by_username(session, "sec.a")
        assert user is not None
    assert board.last_step_up(user.id) is not None
    # Like every change made with a session, it needs the CSRF token.
    assert client.post("/api/session/step-up", json={"totp": "123456"}).status_code == 403


def test_an_officer_reads_and_sets_the_detectors_norms(site: Site) -> None:
    officer, signed = site.sign_in("rssi.a")
    headers = {"X-CSRF-Token": signed["csrf_token"]}
    shown = officer.get("/api/detection/norms")
    assert shown.status_code == 200
    assert any(
        n["signal"] == "records.1m" and n["source"] == "default" for n in shown.json()["norms"]
    )
    body = {"role": "billing_officer", "signal": "records.1d", "threshold": 400,
            "reason": "clôture mensuelle du service"}  # fmt: skip
    done = officer.put("/api/detection/norms", json=body, headers=headers)
    assert done.status_code == 200 and done.json()["source"] == "officer"
    bad = officer.put("/api/detection/norms", json={**body, "signal": "nope"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["field"] == "signal"
    doctor, signed = site.sign_in("dr.a")
    refused = doctor.put(
        "/api/detection/norms", json=body, headers={"X-CSRF-Token": signed["csrf_token"]}
    )
    assert refused.status_code == 403
    assert doctor.get("/api/detection/norms").status_code == 403


def test_alerts_are_for_security_officers(site: Site) -> None:
    doctor, signed = site.sign_in("dr.a")
    assert doctor.get("/api/alerts").status_code == 403
    officer, signed = site.sign_in("rssi.a")
    assert officer.get("/api/alerts", params={"status": "bogus"}).status_code == 422
    missing = officer.post("/api/alerts/999/close", json={"comment": "rien à signaler ici"},
                           headers={"X-CSRF-Token": signed["csrf_token"]})  # fmt: skip
    assert missing.status_code == 404
