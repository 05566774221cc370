"""The property-based run: schemathesis generates requests for every operation of the
OpenAPI document (valid ones, and invalid ones) and sends them to the application, signed
in as a real account of a seeded world; no answer may be a 5xx, and every answer must
match what the document says (status, content type, headers, body schema).

The run goes through the application in-process (ASGI), on SQLite and on PostgreSQL (the
``db`` fixture). It is bounded: HYGIE_FUZZ_EXAMPLES examples per operation and mode (15 by
default; raise it for a longer hunt, e.g. ``HYGIE_FUZZ_EXAMPLES=200``), seeded so that CI
is reproducible (HYGIE_FUZZ_SEED picks another sequence). It cannot pass vacuously: it
asserts how many calls each operation received and that real successes happened.

Credentials, drawn per example: Dr A's read token or write token (a care relationship
with the seeded patient), a write token of each other role of the seeded world, or none;
the routes only a session may use get Dr A's signed-in session (cookie and CSRF token).
Generated ids and bodies are mixed with the seeded world's real ids (patient, appointment,
stay, grant, spare token and session, establishment, practitioner) and the document's own
examples, so that requests get past "not found" and exercise the gate and the services.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from hygie.api.deps import COOKIE_NAME, CSRF_HEADER
from hygie.stays import service as stays
from tests.api.conftest import USER_AGENT, Site

EXAMPLES = int(os.environ.get("HYGIE_FUZZ_EXAMPLES", "15"))
SEED = int(os.environ.get("HYGIE_FUZZ_SEED", "20261123"))

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
]
# Invalid input must be refused (4xx), not served.
NEGATIVE_CHECKS = [*CHECKS, schemathesis.checks.negative_data_rejection]

# Operations whose every success needs something the run cannot hold for long (its own
# sign-out would end the session the run uses): they are called with the bearer token,
# which they refuse (401), a documented answer.
BEARER_ONLY = {"DELETE /api/session"}
# Besides Dr A (read and write tokens, and the session), write tokens of the other roles
# of the seeded world, so that the gate's decisions for each are exercised too.
OTHERS = ("ide.a", "sec.a", "rssi.a", "it.admin", "fact.a", "dr.b")
ANONYMOUS = "nobody"
# Answers that refuse invalid input (413 and 414 included: size is input too).
REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "413", "414", "415", "422",
            "428", "429", "5xx"]  # fmt: skip
# Query parameters of the seeded world mixed into generated ones.
QUERY_HINTS = {"name": "Mar", "establishment_id": 0}  # 0: filled in with establishment A


@dataclass
class Seeded:
    """What the run signs in as, and the real ids it mixes into generated requests."""

    tokens: dict[str, str]  # "account:scope" -> secret
    own_token_ids: set[int]
    cookie: str
    csrf: str
    own_session_id: int
    ids: dict[str, int]
    body_ids: dict[str, int]


@dataclass
class Tally:
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )

    def successes(self) -> set[str]:
        return {op for op, seen in self.statuses.items() if any(200 <= s < 300 for s in seen)}


def _seed_world(site: Site) -> Seeded:
    client, signed = site.sign_in("dr.a")
    csrf = {CSRF_HEADER: signed["csrf_token"]}

    def token(scope: str, who: Any = client, headers: dict[str, str] = csrf) -> dict[str, Any]:
        answer = who.post("/api/tokens", json={"scope": scope, "ttl": 86400}, headers=headers)
        assert answer.status_code == 201, answer.text
        issued: dict[str, Any] = answer.json()
        return issued

    issued = {"dr.a:read": token("read"), "dr.a:write": token("write")}
    for username in OTHERS:
        other, other_signed = site.sign_in(username)
        issued[f"{username}:write"] = token(
            "write", other, {CSRF_HEADER: other_signed["csrf_token"]}
        )
    spare = token("read")
    # A second session of Dr A's that the run may end; and a grant the run may review.
    spare_session = site.sign_in("dr.a")[1]["session_id"]
    nurse, nurse_signed = site.sign_in("ide.a")
    grant = nurse.post(
        f"/api/patients/{site.patient}/break-glass",
        json={"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"},
        headers={CSRF_HEADER: nurse_signed["csrf_token"]},
    )
    assert grant.status_code == 201, grant.text
    chart = client.get(f"/api/patients/{site.patient}").json()
    appointment = chart["appointments"][0]["id"]
    with site.db.transaction() as session:
        stay = stays.admit(
            session, patient_id=site.patient, establishment_id=site.world.est_a,
            department_id=site.world.dept_a, responsible_id=site.world.physician,
            at=datetime.now(UTC) - timedelta(hours=2), reason="Surveillance",
        )  # fmt: skip
        session.flush()
        stay_id = stay.id
    return Seeded(
        tokens={name: t["token"] for name, t in issued.items()},
        own_token_ids={t["id"] for t in issued.values()},
        cookie=client.cookies[COOKIE_NAME],
        csrf=signed["csrf_token"],
        own_session_id=signed["session_id"],
        ids={
            "patient_id": site.patient,
            "appointment_id": appointment,
            "encounter_id": stay_id,
            "grant_id": grant.json()["id"],
            "token_id": spare["id"],
            "session_id": spare_session,
        },
        body_ids={
            "establishment_id": site.world.est_a,
            "practitioner_id": site.world.physician,
            "responsible_id": site.world.physician,
            "department_id": site.world.dept_a,
            "merged_id": site.patient,
            "encounter_id": stay_id,
            "appointment_id": appointment,
        },
    )


def _steer(seeded: Seeded, fixed: dict[str, int]) -> Any:
    """Put the seeded world's ids into a generated case: the path's, and the body's."""

    def apply(case: Any) -> Any:
        if case.path_parameters:
            case.path_parameters.update(
                {k: v for k, v in fixed.items() if k in case.path_parameters}
            )
        if isinstance(case.body, dict):
            case.body.update({k: v for k, v in seeded.body_ids.items() if k in case.body})
        if case.query:
            hints = {**QUERY_HINTS, "establishment_id": seeded.body_ids["establishment_id"]}
            case.query.update({k: v for k, v in hints.items() if k in case.query})
        return case

    return apply


def _allowed(seeded: Seeded, case: Any) -> bool:
    """The run never revokes its own tokens nor ends its own session."""
    params = case.path_parameters or {}
    return (
        params.get("token_id") not in seeded.own_token_ids
        and params.get("session_id") != seeded.own_session_id
    )


def _is_session_only(operation: Any) -> bool:
    security = operation.definition.raw.get("security") or []
    return bool(security) and all("bearerToken" not in option for option in security)


def _run_operation(
    operation: Any, mode: GenerationMode, seeded: Seeded, tally: Tally, failures: list[str]
) -> None:
    label = operation.label
    generated = operation.as_strategy(generation_mode=mode)
    strategy = generated
    if mode is GenerationMode.POSITIVE:
        fixed = {k: v for k, v in seeded.ids.items() if f"{{{k}}}" in operation.path}
        steer = _steer(seeded, fixed)
        # The document's own examples too (the seeded world's ids put into them).
        examples = [
            example.map(steer)
            for example in operation.schema.get_strategies_from_examples(operation)
        ]
        strategy = st.one_of(generated, generated.map(steer), *examples)
    strategy = strategy.filter(lambda case: _allowed(seeded, case))
    session_only = _is_session_only(operation) and label not in BEARER_ONLY
    checks = CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS

    credential = st.sampled_from([*sorted(seeded.tokens), ANONYMOUS])

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are reported whole
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, credential=credential)
    def run(case: Any, credential: str) -> None:
        headers = {"User-Agent": USER_AGENT}
        cookies = None
        if credential == ANONYMOUS:
            pass  # no credentials at all: a 401, except for signing in
        elif session_only:
            headers[CSRF_HEADER] = seeded.csrf
            cookies = {COOKIE_NAME: seeded.cookie}
        else:
            headers["Authorization"] = f"Bearer {seeded.tokens[credential]}"
        response = case.call(headers=headers, cookies=cookies)
        tally.calls[label] += 1
        tally.statuses[label][response.status_code] += 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except BaseException as exc:  # a FailureGroup: keep going, report them all at the end
            failures.append(f"{label} ({mode.value}): {exc}")

    try:
        run()
    except Unsatisfiable:
        # No invalid request exists for an operation without parameters or body.
        assert mode is GenerationMode.NEGATIVE, label


def test_api_conforms_to_its_document(site: Site) -> None:
    seeded = _seed_world(site)
    # Credentials are the run's business (see ``run``), not generated by schemathesis.
    config = SchemathesisConfig.from_dict(
        {
            "generation": {"with-security-parameters": False},
            "checks": {"negative_data_rejection": {"expected-statuses": REFUSALS}},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app, config=config)
    # Ending my other sessions last: it ends the one that DELETE /api/sessions/{id} may end.
    operations = sorted(
        (result.ok() for result in schema.get_all_operations()),
        key=lambda op: op.label == "DELETE /api/sessions",
    )
    tally = Tally()
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(operation, mode, seeded, tally, failures)

    if os.environ.get("HYGIE_FUZZ_REPORT"):
        with open(os.environ["HYGIE_FUZZ_REPORT"], "w") as out:
            out.write("\n\n".join(failures))
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:20])

    # Not vacuous: every operation was called, those with inputs many times; the run got
    # past authentication and the gate.
    labels = {op.label for op in operations}
    assert len(labels) >= 40 and not any(label.startswith("/fhir") for label in labels)
    with_inputs = {
        op.label for op in operations
        if op.path_parameters or op.query or op.body or "{" in op.path
    }  # fmt: skip
    for label in labels:
        floor = EXAMPLES if label in with_inputs else 2
        assert tally.calls[label] >= floor, (label, tally.calls[label])
    # What each operation answered (shown with -s, or when an assertion below fails).
    print("\n".join(f"{op}: {dict(sorted(tally.statuses[op].items()))}" for op in sorted(labels)))
    succeeded = tally.successes()
    assert len(succeeded) >= len(labels) // 2, sorted(labels - succeeded)
    for must in (
        "GET /api/patients/{patient_id}",  # a chart read through the gate
        "GET /api/patients",
        "GET /api/sessions",  # the session-only routes, with the session
    ):
        assert must in succeeded, (must, dict(tally.statuses[must]))
    patient_writes = {
        label for label in succeeded
        if label.startswith(("POST /api/patients", "PUT /api/patients"))
    }  # fmt: skip
    assert len(patient_writes) >= 6, sorted(patient_writes)  # changes went through the gate


@pytest.fixture(autouse=True)
def _stop_lifespans() -> Any:
    """Schemathesis keeps each application's lifespan running for the process: stop them
    after the test, so the database it holds can be dropped."""
    yield
    from schemathesis.python.asgi import shutdown_lifespans

    shutdown_lifespans()
