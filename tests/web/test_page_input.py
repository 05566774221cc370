"""Bad input on pages answers a page with a clear message, never a 500: dates at the edge
of the calendar in addresses and forms, over-long fields (refused, never cut), a `next`
that would leave the site, and the sign-in's way back keeping its whole query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hygie.app import create_app
from tests.api.conftest import PASSWORD, Login
from tests.web.conftest import Group, fresh_code


def _signed_in(group: Group, role: str) -> Iterator[TestClient]:
    login: Login = group.login(role)
    with TestClient(create_app(db=group.db), base_url="https://testserver") as client:
        code = fresh_code(login)
        login.used.add(code)
        answer = client.post("/login", data={"username": login.username, "password": PASSWORD,
                                             "totp": code, "next": "/"}, follow_redirects=False)  # fmt: skip
        assert answer.status_code == 303, answer.text
        yield client


@pytest.fixture
def secretary(group: Group) -> Iterator[TestClient]:
    yield from _signed_in(group, "secretary")


@pytest.fixture
def officer(group: Group) -> Iterator[TestClient]:
    yield from _signed_in(group, "security_officer")


@pytest.mark.parametrize("path", [
    "/agenda?day=9999-12-31", "/agenda?day=0001-01-01&view=week",
    "/reception?day=0001-01-01", "/reception?day=9999-12-31",
])  # fmt: skip
def test_dates_at_the_edge_of_the_calendar_are_bad_input(secretary: TestClient, path: str) -> None:
    answer = secretary.get(path)
    assert answer.status_code in (404, 422), answer.status_code
    assert "text/html" in answer.headers["content-type"]


@pytest.mark.parametrize("path", [
    "/security/audit?start=0001-01-01", "/security/audit?end=9999-12-31",
])  # fmt: skip
def test_the_audit_search_refuses_dates_out_of_range(officer: TestClient, path: str) -> None:
    answer = officer.get(path)
    assert answer.status_code in (200, 404, 422) and "text/html" in answer.headers["content-type"]
    assert answer.status_code != 500


def test_a_field_too_long_is_refused_not_cut(secretary: TestClient) -> None:
    page = secretary.get("/patients/new")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    answer = secretary.post("/patients/new", data={"csrf": csrf, "birth_name": "X" * 20_001,
                                                   "birth_date": "01/01/0001"})  # fmt: skip
    assert answer.status_code == 422
    assert "Texte trop long" in answer.text


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "https://evil.example"])
def test_next_never_leaves_the_site(group: Group, target: str) -> None:
    with TestClient(create_app(db=group.db), base_url="https://testserver") as client:
        answer = client.get(f"/login?next={target}")
        assert 'name="next" value="/"' in answer.text


def test_signing_in_again_keeps_the_whole_address(group: Group) -> None:
    with TestClient(create_app(db=group.db), base_url="https://testserver") as client:
        answer = client.get(
            "/agenda?practitioner=1&day=2026-12-01&view=week", follow_redirects=False
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == (
            "/login?next=/agenda%3Fpractitioner%3D1%26day%3D2026-12-01%26view%3Dweek"
        )


def test_a_sign_in_posted_from_another_site_is_refused(group: Group) -> None:
    login = group.login("nurse")
    with TestClient(create_app(db=group.db), base_url="https://testserver") as client:
        answer = client.post(
            "/login", headers={"Origin": "https://evil.example"},
            data={"username": login.username, "password": PASSWORD, "totp": fresh_code(login)},
            follow_redirects=False,
        )  # fmt: skip
        assert answer.status_code == 403 and "hygie_session" not in answer.headers.get(
            "set-cookie", ""
        )


def test_a_forged_sign_out_leaves_the_session(secretary: TestClient) -> None:
    answer = secretary.post("/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert answer.status_code == 403
    assert secretary.get("/mine", follow_redirects=False).status_code == 200


def test_a_sign_in_from_another_site_by_fetch_metadata_is_refused(group: Group) -> None:
    with TestClient(create_app(db=group.db), base_url="https://testserver") as client:
        answer = client.post("/login", headers={"Sec-Fetch-Site": "cross-site", "Origin": "null"},
                             data={"username": "x", "password": "y"}, follow_redirects=False)  # fmt: skip
        assert answer.status_code == 403
