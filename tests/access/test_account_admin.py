"""The IT administrator's work through the gate: accounts of their establishments only,
habilitations granted and ended there, accounts disabled and TOTP reset with a reason,
never on their own account, every change and refusal in the trail (no patient in it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hygie.access import account_admin as admin
from hygie.access.actor import Actor, load_actor
from hygie.access.gateway import AccessDenied
from hygie.auth import sessions as web_sessions
from hygie.auth import tokens
from hygie.db import Database
from hygie.errors import ConflictError, NotFoundError, ValidationError
from hygie.kit.time import local_date
from hygie.models import ApiToken, Credential, Habilitation, RecoveryCode, User, WebSession
from hygie.staff import service as staff
from tests.access.test_gateway import events
from tests.api.conftest import give_login
from tests.factories import DAY0, World

NOW = datetime.now(UTC)
TODAY = local_date(NOW)


def actor(db: Database, username: str) -> Actor:
    with db.sessions() as s:
        return load_actor(s, username=username, how="web", ip="10.0.0.9", user_agent="pytest")


def add_user(db: Database, username: str, *grants: tuple[int, str]) -> int:
    with db.transaction() as s:
        user = staff.create_user(s, username=username, display_name=username.title())
        for est, role in grants:
            staff.grant_habilitation(s, user_id=user.id, establishment_id=est, role=role,
                                     valid_from=DAY0)  # fmt: skip
        return user.id


def last(db: Database, action: str) -> tuple[str, dict[str, object], str | None]:
    found = [e for e in events(db) if e.action == action]
    assert found, f"no {action} event"
    assert found[-1].patient_ids == []
    return found[-1].outcome, found[-1].details, found[-1].reason


def test_the_list_shows_one_establishment_with_mfa_state_and_is_recorded(
    db: Database, world: World
) -> None:
    give_login(db, "ide.a", at=NOW)
    it = actor(db, "it.admin")
    found = admin.accounts_overview(db, it, establishment_id=world.est_a)
    assert [a.username for a in found] == ["dr.a", "ide.a", "it.admin", "sec.a"]  # not dr.b
    nurse = found[1]
    assert nurse.mfa == "enrolled" and nurse.active and found[0].mfa == "none"
    assert [(g.role, g.valid_from, g.current) for g in nurse.habilitations] == [
        ("nurse", DAY0, True)
    ]
    assert [a.username for a in admin.accounts_overview(
        db, it, establishment_id=world.est_a, text="IDE")] == ["ide.a"]  # fmt: skip
    outcome, details, _ = last(db, "account.list")
    assert (outcome, details["text"]) == ("allowed", "IDE")
    assert [p.id for p in admin.managed_establishments(db, it, write=True)] == [world.est_a]


def test_another_role_or_establishment_is_refused_and_recorded(db: Database, world: World) -> None:
    with pytest.raises(AccessDenied):
        admin.accounts_overview(db, actor(db, "dr.a"), establishment_id=world.est_a)
    assert last(db, "account.list")[0] == "denied"
    with pytest.raises(AccessDenied):
        admin.accounts_overview(db, actor(db, "it.admin"), establishment_id=world.est_b)
    # An account held only in B does not exist for an administrator of A.
    with pytest.raises(NotFoundError):
        admin.read_account(db, actor(db, "it.admin"), username="dr.b")
    assert last(db, "account.read")[0] == "denied"


def test_one_account_shows_only_the_habilitations_in_the_actors_establishments(
    db: Database, world: World
) -> None:
    add_user(db, "both", (world.est_a, "secretary"), (world.est_b, "secretary"))
    seen = admin.read_account(db, actor(db, "it.admin"), username="Both")
    assert [g.establishment_id for g in seen.habilitations] == [world.est_a]
    outcome, details, _ = last(db, "account.read")
    assert (outcome, details["account"]) == ("allowed", "both")


def test_granting_a_habilitation_with_an_end_date(db: Database, world: World) -> None:
    it = actor(db, "it.admin")
    until = TODAY + timedelta(days=30)
    grant = admin.grant_habilitation(db, it, username="sec.a", establishment_id=world.est_a,
                                     role="billing_officer", valid_from=TODAY,
                                     valid_until=until)  # fmt: skip
    assert (grant.role, grant.valid_until, grant.current) == ("billing_officer", until, True)
    outcome, details, _ = last(db, "account.habilitation.grant")
    assert (outcome, details["account"], details["valid_until"]) == (
        "allowed", "sec.a", until.isoformat(),
    )  # fmt: skip
    with pytest.raises(ConflictError) as overlap:
        admin.grant_habilitation(db, it, username="sec.a", establishment_id=world.est_a,
                                 role="billing_officer", valid_from=TODAY)  # fmt: skip
    assert overlap.value.field == "role"
    with pytest.raises(ValidationError) as wrong:  # a physician cannot be a nurse
        admin.grant_habilitation(db, it, username="dr.a", establishment_id=world.est_a,
                                 role="nurse", valid_from=TODAY)  # fmt: skip
    assert wrong.value.field == "role"


def test_no_grant_elsewhere_nor_to_oneself(db: Database, world: World) -> None:
    it = actor(db, "it.admin")
    with pytest.raises(AccessDenied):
        admin.grant_habilitation(db, it, username="sec.a", establishment_id=world.est_b,
                                 role="secretary", valid_from=TODAY)  # fmt: skip
    assert last(db, "account.habilitation.grant")[0] == "denied"
    with pytest.raises(AccessDenied):
        admin.grant_habilitation(db, it, username="it.admin", establishment_id=world.est_a,
                                 role="security_officer", valid_from=TODAY)  # fmt: skip
    outcome, _, reason = last(db, "account.habilitation.grant")
    assert outcome == "denied" and reason is not None and "themselves" in reason


def test_ending_a_habilitation_here_but_not_there(db: Database, world: World) -> None:
    user_id = add_user(db, "both", (world.est_a, "secretary"), (world.est_b, "secretary"))
    with db.sessions() as s:
        here, there = s.scalars(
            select(Habilitation.id).where(Habilitation.user_id == user_id).order_by(
                Habilitation.establishment_id)
        ).all()  # fmt: skip
    it = actor(db, "it.admin")
    with pytest.raises(ValidationError) as past:
        admin.end_habilitation(db, it, username="both", habilitation_id=here,
                               ends_on=TODAY - timedelta(days=5))  # fmt: skip
    assert past.value.field == "ends_on"
    ended = admin.end_habilitation(db, it, username="both", habilitation_id=here,
                                   ends_on=TODAY - timedelta(days=1))  # fmt: skip
    assert ended.valid_until == TODAY - timedelta(days=1) and not ended.current
    outcome, details, _ = last(db, "account.habilitation.end")
    assert (outcome, details["account"], details["previous_until"]) == ("allowed", "both", None)
    with pytest.raises(AccessDenied):
        admin.end_habilitation(db, it, username="both", habilitation_id=there, ends_on=TODAY)
    assert last(db, "account.habilitation.end")[0] == "denied"
    with pytest.raises(NotFoundError):  # a habilitation of another account
        admin.end_habilitation(db, it, username="sec.a", habilitation_id=here, ends_on=TODAY)


def test_disabling_revokes_sessions_and_tokens_with_a_reason(db: Database, world: World) -> None:
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == "ide.a")).one()
        web_sessions.create_session(s, user=user, now=NOW, ip=None, user_agent=None, mfa_at=NOW)
        tokens.issue_token(s, user=user, scope="read", ttl=timedelta(hours=1), now=NOW, how="cli")
    it = actor(db, "it.admin")
    with pytest.raises(ValidationError) as no_reason:
        admin.disable_account(db, it, username="ide.a", reason="  ")
    assert no_reason.value.field == "reason"
    done = admin.disable_account(db, it, username="ide.a", reason="Départ de l'établissement")
    assert (done.sessions_revoked, done.tokens_revoked) == (1, 1)
    with db.sessions() as s:
        assert s.scalars(select(User.active).where(User.username == "ide.a")).one() is False
        assert s.scalars(select(WebSession.revoked_at)).all() != [None]
        assert None not in s.scalars(select(ApiToken.revoked_at)).all()
    outcome, details, reason = last(db, "account.disable")
    assert (outcome, details["account"], reason) == (
        "allowed",
        "ide.a",
        "Départ de l'établissement",
    )
    with pytest.raises(ConflictError):
        admin.disable_account(db, it, username="ide.a", reason="encore")


def test_not_on_oneself_nor_on_an_account_also_held_elsewhere(db: Database, world: World) -> None:
    add_user(db, "both", (world.est_a, "secretary"), (world.est_b, "secretary"))
    it = actor(db, "it.admin")
    for change in (admin.disable_account, admin.reset_mfa):
        with pytest.raises(AccessDenied):
            change(db, it, username="it.admin", reason="test")
        with pytest.raises(AccessDenied):
            change(db, it, username="both", reason="test")
    assert last(db, "account.disable")[0] == "denied"
    assert last(db, "account.mfa.reset")[0] == "denied"
    with db.sessions() as s:
        assert all(s.scalars(select(User.active)).all())


def test_resetting_mfa_voids_the_secret_codes_and_sessions(db: Database, world: World) -> None:
    login = give_login(db, "sec.a", at=NOW - timedelta(hours=2))
    with db.transaction() as s:
        user = s.scalars(select(User).where(User.username == "sec.a")).one()
        web_sessions.create_session(s, user=user, now=NOW, ip=None, user_agent=None, mfa_at=NOW)
        old_codes = set(s.scalars(select(RecoveryCode.code_hash)).all())
    done = admin.reset_mfa(db, actor(db, "it.admin"), username="sec.a", reason="Téléphone perdu")
    assert done.sessions_revoked == 1
    with db.sessions() as s:
        cred = s.get(Credential, user.id)
        assert cred is not None and cred.totp_enrolled_at is None
        assert cred.totp_secret != login.secret
        assert not old_codes & set(s.scalars(select(RecoveryCode.code_hash)).all())
        assert s.scalars(select(WebSession.revoked_at)).all() != [None]
    outcome, details, reason = last(db, "account.mfa.reset")
    assert (outcome, details["account"], reason) == ("allowed", "sec.a", "Téléphone perdu")
    seen = admin.read_account(db, actor(db, "it.admin"), username="sec.a")
    assert seen.mfa == "pending"
