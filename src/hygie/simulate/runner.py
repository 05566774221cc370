"""``hygie simulate``: a month (or D days) of a generated group's ordinary work, through the
real gate on a virtual clock, with attacks injected, and how containment did.

The group is generated once into a template database; each detector compared gets its own
copy, the same seed and so the same traffic. A month of ordinary work comes first
(``warmup``): norms are then learned from its trail, as an installation learns its own
history, and the measured days follow, with the attacks. Figures: per scenario, detected or not, time to detection, patients exposed
before containment; on ordinary traffic, false alerts per 1,000 user-days, legitimate
users locked, and the share of accesses a care relationship explains."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import ClassVar

from hygie.access import containment, honey, simulation
from hygie.access.containment import Guard
from hygie.access.detection import Access, Detector, Finding, Response
from hygie.access.exposure import Exposure, Level
from hygie.access.maintenance import generate_group
from hygie.db import Database, check_and_register_keys
from hygie.kit import clock
from hygie.kit.crypto import Keyring
from hygie.kit.time import PARIS
from hygie.simulate import traffic
from hygie.simulate.scenarios import SCENARIOS, Attack, GateThieves, Scenario
from hygie.simulate.world import Person, World, build

DETECTORS = ("adaptive", "rules")


class RulesDetector(Detector):
    """The plain fixed-threshold detector published systems start from: an account past
    100 patients' records or 1,000 patients in lists in an hour is stopped; nothing else."""

    LIMITS: ClassVar[dict[str, float]] = {"records.1h": 100.0, "summaries.1h": 1000.0}

    def assess(
        self, access: Access, exposure: Mapping[Level, Exposure] | None = None
    ) -> list[Finding]:
        found = []
        for level, seen in (exposure or {}).items():
            signal = f"{'records' if level == Level.RECORD else 'summaries'}.1h"
            if seen.within("1h") > self.LIMITS[signal]:
                found.append(Finding(signal, Response.CONTAIN, f"over {self.LIMITS[signal]:g} in an hour",
                                     seen.within("1h"), self.LIMITS[signal]))  # fmt: skip
        return found


@dataclass
class Options:
    days: int = 30  # measured
    warmup: int = 30  # ordinary work before (a month, its end included): norms learned from it
    establishments: int = 2
    patients: int = 2000
    seed: int = 1
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    detectors: tuple[str, ...] = ("adaptive",)
    start: date | None = None  # the first simulated day (default: today, Paris)
    plot_dir: Path | None = None  # PNG plots of accounts' exposure against their norm


@dataclass
class ScenarioResult:
    name: str
    title: str
    started: datetime | None
    detected_at: datetime | None
    contained_at: datetime | None
    summaries: int
    records: int
    note: str = ""

    @property
    def detected(self) -> bool:
        return self.detected_at is not None

    @property
    def time_to_detection(self) -> timedelta | None:
        if self.detected_at is None or self.started is None:
            return None
        return self.detected_at - self.started


@dataclass
class Result:
    detector: str
    scenarios: list[ScenarioResult]
    user_days: int
    false_alerts: int
    legit_locked: list[str]
    explained: simulation.Explained
    requests: int
    seconds: float
    alerts_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def false_alerts_per_1000(self) -> float:
        return 1000 * self.false_alerts / self.user_days if self.user_days else 0.0


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def move(self, to: datetime) -> None:
        self.now = max(self.now, to)  # acts planned in the past run now: time never goes back


def first_day(options: Options) -> date:
    return options.start or datetime.now(PARIS).date()


def prepare(directory: Path, ring: Keyring, options: Options) -> Path:
    """The template database: migrated, a generated group, decoys planted."""
    path = directory / "template.db"
    db = Database.open(f"sqlite:///{path}")
    db.upgrade()
    check_and_register_keys(db, ring)
    generate_group(db, ring, establishments=options.establishments, patients=options.patients,
                   seed=options.seed, reference_date=first_day(options), workers=1)  # fmt: skip
    honey.plant(db, per_establishment=5, seed=options.seed)
    db.dispose()
    return path


def simulate(
    options: Options, *, progress: Callable[[str, int, int], None] | None = None
) -> list[Result]:
    """Run the simulation once per detector of ``options``; their results."""
    ring = Keyring.generate()
    results = []
    with tempfile.TemporaryDirectory(prefix="hygie-simulate-") as tmp:
        template = prepare(Path(tmp), ring, options)
        for detector in options.detectors:
            copy = Path(tmp) / f"{detector}.db"
            shutil.copy(template, copy)
            db = Database.open(f"sqlite:///{copy}")
            check_and_register_keys(db, ring)
            try:
                results.append(_run(db, options, detector, progress))
            finally:
                db.dispose()
    return results


def _run(
    db: Database, options: Options, detector: str, progress: Callable[[str, int, int], None] | None
) -> Result:
    import time

    began = time.perf_counter()
    guard = containment.install(
        db, Guard(detector=RulesDetector() if detector == "rules" else Detector())
    )
    start = datetime.combine(first_day(options), datetime.min.time(), PARIS).astimezone(PARIS)
    vclock = VirtualClock(start)
    with clock.virtual(vclock):
        world = build(db, seed=options.seed)
        attacks = _schedule(world, options)
        departed = {
            p.member.username
            for a in attacks.values()
            if a.scenario.name == "dormant"
            for p in a.people
        }
        legit_days: set[tuple[str, date]] = set()
        total = options.warmup + options.days
        measured = start + timedelta(days=options.warmup)
        timeline = traffic.Timeline()
        for n in range(total):
            day = first_day(options) + timedelta(days=n)
            plan = traffic.plan_day(world.without(departed), day, timeline)
            for planned in attacks.values():
                if planned.day == n:
                    planned.launch(world, plan, vclock)
            # Up to the next day's planning; tonight's acts past midnight run then.
            until = traffic.at(day + timedelta(days=1), 0)
            _play(plan, vclock, legit_days if n >= options.warmup else set(), until)
            if n + 1 == options.warmup and detector == "adaptive":
                simulation.learn_norms(db, since=start, until=vclock.now)
                guard.reload()
            if progress is not None:
                progress(detector, n + 1, total)
        results = [planned.result(db) for planned in attacks.values()]
        results += [
            ScenarioResult(name, SCENARIOS[name].title if name in SCENARIOS else name, None, None, None, 0, 0, why)
            for name, why in _unscheduled(options, attacks).items()
        ]  # fmt: skip
        attacked = (
            set().union(*(a.attack.user_ids for a in attacks.values() if a.attack))
            if attacks
            else set()
        )
        alerts = simulation.alerts_since(db, since=measured)
        false = [a for a in alerts if not _attributed(a, attacks)]
        legit = [p.member.user_id for p in world.people if p.member.user_id not in attacked]
        explained = simulation.explained_share(db, user_ids=legit, since=measured)
        if options.plot_dir is not None:
            _plot(db, options.plot_dir, detector, attacks, world, attacked, measured, vclock.now)
    by_rule: dict[str, int] = {}
    for alert in false:
        by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
    return Result(
        detector=detector, scenarios=results,
        user_days=len({(u, d) for u, d in legit_days if u not in {p.member.username for p in world.people if p.member.user_id in attacked}}),
        false_alerts=len(false),
        legit_locked=sorted({a.username or "?" for a in false if a.response == "contain"}),
        explained=explained, requests=sum(p.client.haul.requests for p in world.people),
        seconds=time.perf_counter() - began, alerts_by_rule=by_rule,
    )  # fmt: skip


def _plot(
    db: Database, directory: Path, detector: str, attacks: dict[str, Planned], world: World,
    attacked: set[int], measured: datetime, end: datetime,
) -> None:  # fmt: skip
    """One PNG per attack (its first account, on the day of the attack) and per role (its
    busiest ordinary account, over the measured days, a week at most)."""
    from hygie.access import activity
    from hygie.kit.plots import exposure_png

    directory.mkdir(parents=True, exist_ok=True)

    def draw(name: str, title: str, user_id: int, since: datetime, until: datetime) -> None:
        seen = activity.hourly(db, user_id=user_id, since=since, until=until)
        png = exposure_png(
            title=f"{title} — {seen.username} ({', '.join(sorted(seen.roles)) or '—'})",
            hours=seen.hours, records=seen.records, summaries=seen.summaries,
            record_norm=seen.record_norm, summary_norm=seen.summary_norm,
            contained_at=seen.contained_at, zone=PARIS,
        )  # fmt: skip
        (directory / f"{detector}-{name}.png").write_bytes(png)

    for planned in attacks.values():
        attack = planned.attack
        if attack is None or not planned.people:
            continue
        day = attack.started.astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
        draw(planned.scenario.name, planned.scenario.title, planned.people[0].member.user_id,
             day, day + timedelta(days=1))  # fmt: skip
    since = max(measured, end - timedelta(days=7))
    for role in sorted({p.role for p in world.people}):
        ordinary = [p for p in world.people if p.role == role and p.member.user_id not in attacked]
        if not ordinary or since >= end:
            continue
        busiest = max(ordinary, key=lambda p: p.client.haul.requests)
        draw(f"normal-{role}", f"ordinary work ({role})", busiest.member.user_id, since, end)


def _play(
    plan: traffic.Day, vclock: VirtualClock, legit_days: set[tuple[str, date]], until: datetime
) -> None:
    while (act := plan.pop(until)) is not None:
        vclock.move(act.at)
        act.run()
        if not act.who.startswith("attack:"):
            legit_days.add((act.who, vclock.now.astimezone(PARIS).date()))


@dataclass
class Planned:
    """A scenario scheduled on a day, on accounts chosen for it."""

    scenario: Scenario
    day: int
    people: list[Person]
    attack: Attack | None = None

    def launch(self, world: World, plan: traffic.Day, vclock: VirtualClock) -> None:
        when = traffic.at(plan.day, self.scenario.hour)
        self.attack = Attack(self.scenario.name, when, GateThieves(world))
        attack, scenario, people = self.attack, self.scenario, self.people

        def begin() -> None:
            steps = scenario.script(world, attack, people)

            def step() -> None:
                try:
                    wait = next(steps)
                except StopIteration:
                    return
                plan.at(vclock.now + wait, f"attack:{scenario.name}", step)

            step()

        plan.at(when, f"attack:{scenario.name}", begin)

    def result(self, db: Database) -> ScenarioResult:
        attack = self.attack
        if attack is None:
            return ScenarioResult(
                self.scenario.name, self.scenario.title, None, None, None, 0, 0, "not started"
            )
        alerts = [
            a
            for a in simulation.alerts_since(db, since=attack.started)
            if a.user_id in attack.user_ids
        ]
        stopped = [c.haul.contained_at for c in attack.clients if c.haul.contained_at is not None]
        return ScenarioResult(
            name=attack.name, title=self.scenario.title, started=attack.started,
            detected_at=min((a.at for a in alerts), default=None),
            contained_at=max(stopped) if stopped and len(stopped) == len(attack.clients) else None,
            summaries=len(attack.summaries), records=len(attack.records),
        )  # fmt: skip


def _schedule(world: World, options: Options) -> dict[str, Planned]:
    """Each scenario's day (after the warm-up, one after the other) and accounts (distinct:
    one scenario's containment must not stop another's)."""
    pools: dict[str, list[Person]] = {}
    for person in world.people:
        pools.setdefault(person.role, []).append(person)
    for pool in pools.values():
        world.rng.shuffle(pool)
    planned: dict[str, Planned] = {}
    attack_days = max(1, options.days)
    for n, name in enumerate(options.scenarios):
        scenario = SCENARIOS[name]
        pool = pools.get(scenario.role, [])
        if len(pool) < scenario.accounts + (1 if scenario.role != "it_admin" else 0):
            continue  # keep one of each role at work
        day = options.warmup + n % attack_days
        if name == "dormant":
            day = max(day, 22)
            if day >= options.warmup + options.days:
                continue
        people = [pool.pop() for _ in range(scenario.accounts)]
        planned[name] = Planned(scenario, day, people)
    return planned


def _unscheduled(options: Options, planned: dict[str, Planned]) -> dict[str, str]:
    missing = {
        name: "needs more days (an account silent for 21 days)" if name == "dormant"
        else "not enough accounts of its role in this group"
        for name in options.scenarios if name not in planned
    }  # fmt: skip
    return missing


def _attributed(alert: simulation.AlertSeen, attacks: dict[str, Planned]) -> bool:
    for planned in attacks.values():
        attack = planned.attack
        if attack is None or alert.user_id not in attack.user_ids or alert.at < attack.started:
            continue
        if (
            planned.scenario.name in ("snooping", "shadow-account")
            or alert.ip in attack.ips
            or alert.ip is None
        ):
            return True
    return False
