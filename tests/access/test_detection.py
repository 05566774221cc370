"""The detector is a pure function of the event stream and its clock: the same accesses at
the same times give the same findings, live or replayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hygie.access.detection import (
    Access,
    Detector,
    Finding,
    Ladder,
    Norms,
    Response,
    combined,
)
from hygie.access.exposure import Level, LocalExposure

# A Tuesday, 10:00 in Paris.
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def access(
    at: datetime, *, action: str = "chart.read", level: str | None = "record",
    patients: tuple[int, ...] = (1,), roles: frozenset[str] = frozenset({"physician"}),
    ip: str = "10.0.0.1", agent: str = "Firefox", details: dict[str, object] | None = None,
    how: str = "web", outcome: str = "allowed",
) -> Access:  # fmt: skip
    return Access(
        at=at, user_id=7, username="dr.x", roles=roles, establishment_id=1, how=how,
        action=action, outcome=outcome, level=level, patient_ids=patients, ip=ip,
        user_agent=agent, session_id=1, details=details or {},
    )  # fmt: skip


def scattered(i: int) -> int:
    """The i-th of distinct patient ids in no particular order (as a working day reads)."""
    return (i * 7919) % 10007 + 1


def run(detector: Detector, accesses: list[Access]) -> list[list[Finding]]:
    """Each access through the detector with its exposure, as the guard does (exports
    counted at their own level, an approved one not at all)."""
    meter, found = LocalExposure(), []
    for a in accesses:
        exposure = {}
        metered = a.delivers and not a.vouched
        level = Level.EXPORT if a.exported else Level(str(a.level)) if metered else None
        if metered and level is not None:
            exposure = {
                level: meter.preview(
                    account=a.user_id, level=level, patients=a.patient_ids, at=a.at
                )
            }
        findings = detector.assess(a, exposure)
        found.append(findings)
        detector.remember(a)
        if metered and level is not None:
            meter.observe(account=a.user_id, level=level, patients=a.patient_ids, at=a.at)
    return found


def test_the_ladder_climbs_with_the_ratio_to_the_norm() -> None:
    ladder = Ladder()
    assert ladder.response(6, 6) is Response.NONE
    assert ladder.response(7, 6) is Response.ALERT
    assert ladder.response(10, 6) is Response.STEP_UP
    assert ladder.response(13, 6) is Response.SLOW
    assert ladder.response(19, 6) is Response.CONTAIN
    assert ladder.response(1, 0) is Response.CONTAIN  # a norm of nothing: anything is too much


def test_a_full_speed_harvest_of_charts_is_contained_within_the_minute() -> None:
    """One distinct chart a second: the one-minute window climbs the whole ladder."""
    found = run(
        Detector(), [access(T0 + timedelta(seconds=i), patients=(scattered(i),)) for i in range(30)]
    )
    responses = [combined(f) for f in found]
    first = {r: responses.index(r) for r in Response if r in responses}
    assert first[Response.ALERT] == 6  # the 7th patient passes the norm of 6
    assert first[Response.STEP_UP] == 9
    assert first[Response.CONTAIN] == 18
    assert (
        first[Response.ALERT]
        < first[Response.STEP_UP]
        < first[Response.SLOW]
        < first[Response.CONTAIN]
    )


def test_the_same_patient_read_again_is_no_harvest() -> None:
    found = run(Detector(), [access(T0 + timedelta(seconds=i), patients=(42,)) for i in range(100)])
    assert all(combined(f) is Response.NONE for f in found)


def test_a_physicians_ordinary_day_raises_nothing() -> None:
    """Thirty patients in a day, two or three an hour, from one workstation."""
    day = [access(T0 + timedelta(minutes=15 * i), patients=(scattered(i),)) for i in range(30)]
    assert all(f == [] for f in run(Detector(), day))


def test_norms_set_for_a_role_replace_the_defaults() -> None:
    norms = Norms({("physician", None, "records.1m"): 2})
    found = run(
        Detector(norms=norms),
        [access(T0 + timedelta(seconds=i), patients=(i + 1,)) for i in range(3)],
    )
    assert [combined(f) for f in found] == [Response.NONE, Response.NONE, Response.ALERT]
    # An establishment's own norm beats the role's everywhere.
    assert (
        Norms({("physician", 1, "records.1m"): 50, ("physician", None, "records.1m"): 2}).limit(
            "records.1m", ["physician"], 1
        )
        == 50
    )


def test_a_decoy_record_opened_contains_at_once() -> None:
    found = run(Detector(honey=frozenset({9})), [access(T0, patients=(9,))])
    assert combined(found[0]) is Response.CONTAIN
    assert found[0][0].signal == "honey.record"


def test_decoys_in_lists_alert_once_then_contain() -> None:
    detector = Detector(honey=frozenset({9, 10}))
    found = run(detector, [
        access(T0, action="patient.search", level="summary", patients=(1, 9)),
        access(T0 + timedelta(minutes=5), action="patient.search", level="summary", patients=(2, 10)),
    ])  # fmt: skip
    assert [combined(f) for f in found] == [Response.ALERT, Response.CONTAIN]


def test_two_letter_searches_in_a_row_are_enumeration() -> None:
    searches = [
        access(T0 + timedelta(seconds=15 * i), action="patient.search", level="summary",
               patients=(i + 1,), details={"criteria": {"name": f"{chr(65 + i // 26)}{chr(65 + i % 26)}"}})
        for i in range(35)
    ]  # fmt: skip
    found = run(Detector(), searches)
    signals = {f.signal for fs in found for f in fs}
    assert "search.short.10m" in signals
    assert max(combined(f) for f in found) is Response.CONTAIN
    # A narrowed search (a birth date) is not enumeration, however short the name.
    narrowed = [
        access(T0 + timedelta(seconds=20 * i), action="patient.search", level="summary",
               patients=(i + 1,), details={"criteria": {"name": "AB", "birth_date": "1980-01-01"}})
        for i in range(25)
    ]  # fmt: skip
    assert all(f == [] for f in run(Detector(), narrowed))


def test_paging_deep_into_a_list_is_noticed() -> None:
    found = run(Detector(), [
        access(T0, action="patient.search", level="summary", patients=(1,), details={"offset": 700})
    ])  # fmt: skip
    assert combined(found[0]) is Response.CONTAIN


def test_mass_cancellation_climbs_the_ladder() -> None:
    cancels = [
        access(T0 + timedelta(seconds=10 * i), action="appointment.cancel", patients=(i + 1,))
        for i in range(50)
    ]
    found = run(Detector(), cancels)
    assert "modifications.10m" in {f.signal for fs in found for f in fs}
    assert max(combined(f) for f in found) is Response.CONTAIN


def test_break_the_glass_again_and_again_is_abuse() -> None:
    grants = [
        access(T0 + timedelta(minutes=10 * i), action="break_glass", level=None, patients=(i + 1,))
        for i in range(12)
    ]
    found = run(Detector(), grants)
    assert [combined(f) for f in found][:4] == [Response.NONE] * 3 + [Response.ALERT]
    assert max(combined(f) for f in found) is Response.CONTAIN


def test_habits_count_only_once_the_account_has_a_history() -> None:
    """A night access and a new address: nothing for a new account; an alert, stepped up
    by their agreement, for one with a week of daytime work."""
    night = T0.replace(hour=1)  # 02:00 in Paris
    assert run(Detector(), [access(night, ip="203.0.113.9")]) == [[]]
    detector = Detector()
    week = [access(T0 + timedelta(days=d), patients=(d + 1,)) for d in range(6)]
    run(detector, week)
    late = access(night + timedelta(days=7), ip="203.0.113.9", patients=(99,))
    found = detector.assess(late, {})
    assert {f.signal for f in found} == {"hours", "address.new"}
    assert combined(found) is Response.STEP_UP


def test_replaying_the_same_stream_gives_the_same_findings() -> None:
    stream = [access(T0 + timedelta(seconds=3 * i), patients=(i % 17 + 1,)) for i in range(60)]
    assert run(Detector(), stream) == run(Detector(), stream)


def test_refusals_ignored_lead_to_containment() -> None:
    detector = Detector()
    for i in range(5):
        detector.remember(access(T0 + timedelta(seconds=i)), refused=True)
    found = detector.assess(access(T0 + timedelta(seconds=6), patients=(1,)), {})
    assert combined(found) is Response.CONTAIN


def test_a_sweep_through_the_ids_is_noticed_and_a_scattered_day_is_not() -> None:
    sweep = [access(T0 + timedelta(minutes=i), patients=(500 + 2 * i,)) for i in range(20)]
    found = run(Detector(), sweep)
    assert "sweep" in {f.signal for fs in found for f in fs}
    assert max(combined(f) for f in found) is Response.CONTAIN


def test_records_without_care_by_a_clinician_climb_the_ladder() -> None:
    reads = [access(T0 + timedelta(minutes=20 * i), patients=(scattered(i),)) for i in range(20)]
    reads = [Access(**{**a.__dict__, "purpose": "role"}) for a in reads]
    found = run(Detector(), reads)
    assert [combined(f) for f in found][:6] == [Response.NONE] * 5 + [Response.ALERT]
    assert max(combined(f) for f in found) is Response.CONTAIN


def test_an_account_silent_for_weeks_is_noticed_when_it_reads_again() -> None:
    detector = Detector(dormant_after=timedelta(days=21))
    other = Access(**{**access(T0).__dict__, "user_id": 8})
    run(detector, [other])
    late = access(T0 + timedelta(days=22), patients=(5,))
    assert "account.dormant" in {f.signal for f in detector.assess(late, {})}
    early = access(T0 + timedelta(days=1), patients=(5,))
    assert "account.dormant" not in {f.signal for f in Detector().assess(early, {})}


def test_exports_are_measured_on_their_own_norm_and_vouched_ones_not_at_all() -> None:
    """A file of 40 patients at once is no reading pace: it is measured on ``export.1d``
    (50 a day), not on ``records.1m``; a bulk export a second person approved is not held
    against the account."""
    detector = Detector()

    def export(at: datetime, first: int, **details: object) -> Access:
        return access(at, action="export.download", roles=frozenset({"secretary"}),
                      patients=tuple(range(first, first + 40)), details=details)  # fmt: skip

    vouched = export(T0, 1000, bulk=True, approved_by_id=9)
    assert vouched.exported and vouched.vouched
    first, second = run(
        detector, [vouched, export(T0 + timedelta(minutes=1), 1), export(T0 + timedelta(minutes=2), 41)]
    )[1:]  # fmt: skip
    assert [f.signal for f in first] == []
    assert [(f.signal, f.response) for f in second] == [("export.1d", Response.STEP_UP)]
    # The next day, the count starts again.
    (third,) = run(detector, [export(T0 + timedelta(days=1, minutes=3), 81)])
    assert third == []
