"""Every attack scenario of ``hygie simulate``, end to end through the HTTP interfaces (the
API and FHIR), on a generated group: the same scripts, made by an attacker who signs in with
what was stolen, on the virtual clock. Each must be detected (an alert about the accounts
used) within its exposure bound; harvests must be contained."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from hygie.access import containment, simulation
from hygie.access.containment import Guard
from hygie.access.detection import Detector
from hygie.app import create_app
from hygie.auth.tokens import issue_token
from hygie.db import Database, check_and_register_keys
from hygie.kit import clock
from hygie.kit.crypto import Keyring
from hygie.kit.time import PARIS
from hygie.simulate import traffic
from hygie.simulate.runner import Options, VirtualClock, prepare
from hygie.simulate.scenarios import SCENARIOS, Attack
from hygie.simulate.world import World, build
from hygie.storage import staff as staff_store
from tests.api.conftest import give_login
from tests.simulate.http_client import HttpThieves

# A Monday: the scripts keep working hours.
START = date(2026, 12, 7)
WARMUP_DAYS = 6

# Per scenario: (patients' records, patients in lists) it must stay under.
BOUNDS = {
    "full-speed": (50, 1000), "fhir-token": (50, 1000), "low-and-slow": (1000, 10_000),
    "spread-1": (50, 1000), "spread-5": (250, 1000), "spread-20": (1000, 1000),
    "night": (50, 1000), "snooping": (50, 1000), "glass-abuse": (50, 1000),
    "mass-cancel": (50, 1000), "shadow-account": (50, 1000), "dormant": (50, 1000),
    "export-abuse": (100, 1000),
}  # fmt: skip


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, keyring: Keyring) -> Path:
    options = Options(establishments=2, patients=1200, seed=3, start=START)
    return prepare(tmp_path_factory.mktemp("group"), keyring, options)


@dataclass
class Scene:
    db: Database
    world: World
    vclock: VirtualClock
    thieves: HttpThieves


@pytest.fixture
def scene(template: Path, tmp_path: Path, keyring: Keyring) -> Iterator[Scene]:
    path = tmp_path / "group.db"
    shutil.copy(template, path)
    db = Database.open(f"sqlite:///{path}")
    check_and_register_keys(db, keyring)
    # Dormant after five days, so that a week of warm-up shows it (21 days in production).
    containment.install(db, Guard(detector=Detector(dormant_after=timedelta(days=5))))
    vclock = VirtualClock(datetime.combine(START, datetime.min.time(), PARIS).astimezone(UTC))
    with clock.virtual(vclock):
        world = build(db, seed=3)
        yield Scene(db, world, vclock, HttpThieves(create_app(db=db), {}, {}))
    db.dispose()


def warm_up(scene: Scene, days: int, *, idle: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """``days`` of ordinary work (the accounts in ``idle`` do none), norms learned after."""
    world = scene.world
    working = world.without(set(idle))
    timeline = traffic.Timeline()
    for n in range(days):
        plan = traffic.plan_day(working, START + timedelta(days=n), timeline)
        while (act := plan.pop(traffic.at(START + timedelta(days=n + 1), 0))) is not None:
            scene.vclock.move(act.at)
            act.run()
    simulation.learn_norms(
        scene.db, since=datetime.combine(START, datetime.min.time(), PARIS), until=scene.vclock.now
    )
    containment.guard_for(scene.db.engine).reload()


def arm(scene: Scene, people: list[str], *, token: bool) -> None:
    """What the attacker stole: each account's password and authenticator, or a token."""
    for name in people:
        scene.thieves.logins[name] = give_login(
            scene.db, name, at=scene.vclock.now - timedelta(days=1)
        )
        if token:
            with scene.db.transaction() as session:
                user = staff_store.user_by_username(session, name)
                assert user is not None
                issued = issue_token(session, user=user, scope="read", ttl=timedelta(hours=8),
                                     now=scene.vclock.now, how="cli")  # fmt: skip
            scene.thieves.tokens[name] = issued.secret


def run(scene: Scene, name: str, *, day: int = WARMUP_DAYS) -> Attack:
    scenario = SCENARIOS[name]
    pool = [p for p in scene.world.people if p.role == scenario.role]
    people = pool[: scenario.accounts]
    idle = {p.member.username for p in people} if name == "dormant" else set()
    warm_up(scene, day, idle=idle)
    scene.vclock.move(traffic.at(START + timedelta(days=day), scenario.hour))
    arm(scene, [p.member.username for p in people], token=name == "fhir-token")
    attack = Attack(name, scene.vclock.now, scene.thieves)
    steps = scenario.script(scene.world, attack, people)
    for _, wait in zip(range(50_000), steps, strict=False):
        scene.vclock.move(scene.vclock.now + wait)
    if name == "shadow-account":
        with scene.db.sessions() as session:
            shadow = staff_store.user_by_username(session, "dr.shadow")
            assert shadow is not None, "the shadow account was not created"
            attack.user_ids.add(shadow.id)
    return attack


def alerts_about(scene: Scene, attack: Attack) -> list[simulation.AlertSeen]:
    return [
        a
        for a in simulation.alerts_since(scene.db, since=attack.started)
        if a.user_id in attack.user_ids
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_scenario_is_detected_within_its_bound(scene: Scene, name: str) -> None:
    attack = run(scene, name)
    alerts = alerts_about(scene, attack)
    assert alerts, f"{name}: no alert; refusals {[c.haul.refusals for c in attack.clients]}"
    records, summaries = BOUNDS[name]
    assert len(attack.records) < records, (name, len(attack.records))
    assert len(attack.summaries) < summaries, (name, len(attack.summaries))
    harvest = name in ("full-speed", "fhir-token", "low-and-slow", "spread-1", "spread-5", "spread-20",
                       "night", "shadow-account", "dormant", "glass-abuse", "mass-cancel",
                       "export-abuse")  # fmt: skip
    if harvest:
        assert attack.contained, (
            f"{name}: not contained ({[c.haul.refusals for c in attack.clients]})"
        )
