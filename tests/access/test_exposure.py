"""The exposure meter counts distinct patients per account and level, over sliding windows
and ever, on the caller's clock: kept in the process, or in Redis (shared by every
process), with the same answers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hygie.access.exposure import WINDOWS, ExposureMeter, Level, LocalExposure
from hygie.access.exposure_redis import RedisExposure

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["local", "redis"])
def make_meter(request: pytest.FixtureRequest) -> Iterator[Callable[[], ExposureMeter]]:
    """A factory of empty meters of one kind (Redis: each under a prefix of its own)."""
    if request.param == "local":
        yield LocalExposure
        return
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    prefixes: list[str] = []

    def fresh() -> ExposureMeter:
        prefixes.append(f"hygie-test:{uuid.uuid4().hex}")
        return RedisExposure(client, prefix=prefixes[-1])

    yield fresh
    for prefix in prefixes:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
    client.close()


def test_a_patient_counts_once_per_window_however_often_read(
    make_meter: Callable[[], ExposureMeter],
) -> None:
    meter = make_meter()
    meter.observe(account=1, level=Level.RECORD, patients=[10, 11], at=T0)
    seen = meter.observe(account=1, level=Level.RECORD, patients=[10, 12], at=T0)
    assert seen.windows == {"1m": 3, "10m": 3, "1h": 3, "1d": 3} and seen.ever == 3


def test_windows_slide_and_history_stays(make_meter: Callable[[], ExposureMeter]) -> None:
    meter = make_meter()
    meter.observe(account=1, level=Level.SUMMARY, patients=range(20), at=T0)
    later = meter.observe(
        account=1, level=Level.SUMMARY, patients=[99], at=T0 + timedelta(minutes=2)
    )
    assert later.windows == {"1m": 1, "10m": 21, "1h": 21, "1d": 21}
    much_later = meter.current(account=1, level=Level.SUMMARY, at=T0 + timedelta(hours=2))
    assert much_later.windows == {"1m": 0, "10m": 0, "1h": 0, "1d": 21}
    assert much_later.ever == 21


def test_a_patient_read_again_stays_in_the_window_from_its_last_read(
    make_meter: Callable[[], ExposureMeter],
) -> None:
    meter = make_meter()
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0)
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0 + timedelta(seconds=50))
    assert (
        meter.current(account=1, level=Level.RECORD, at=T0 + timedelta(seconds=90)).within("1m")
        == 1
    )


def test_levels_and_accounts_are_counted_apart(make_meter: Callable[[], ExposureMeter]) -> None:
    meter = make_meter()
    meter.observe(account=1, level=Level.SUMMARY, patients=[1, 2, 3], at=T0)
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0)
    meter.observe(account=2, level=Level.RECORD, patients=[1, 2], at=T0)
    assert meter.current(account=1, level=Level.SUMMARY, at=T0).ever == 3
    assert meter.current(account=1, level=Level.RECORD, at=T0).ever == 1
    assert meter.current(account=2, level=Level.RECORD, at=T0).ever == 2


def test_a_time_without_zone_is_refused(make_meter: Callable[[], ExposureMeter]) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="timezone-aware"):
        make_meter().observe(account=1, level=Level.RECORD, patients=[1], at=naive)


def test_a_late_finishing_request_does_not_shorten_a_patients_stay(
    make_meter: Callable[[], ExposureMeter],
) -> None:
    meter = make_meter()
    meter.observe(account=1, level=Level.RECORD, patients=[7], at=T0 + timedelta(seconds=30))
    meter.observe(
        account=1, level=Level.RECORD, patients=[7], at=T0
    )  # finished last, started first
    assert (
        meter.current(account=1, level=Level.RECORD, at=T0 + timedelta(seconds=80)).within("1m")
        == 1
    )


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 600), st.lists(st.integers(1, 40), max_size=5)), max_size=60)
)
def test_counts_equal_a_plain_recount(
    make_meter: Callable[[], ExposureMeter], steps: list[tuple[int, list[int]]]
) -> None:
    """Against a recount from every access kept: times only move forward."""
    meter, log, now = make_meter(), [], T0
    for seconds, patients in steps:
        now += timedelta(seconds=seconds)
        log += [(now, p) for p in patients]
        got = meter.observe(account=1, level=Level.RECORD, patients=patients, at=now)
        for name, width in WINDOWS.items():
            assert got.windows[name] == len({p for t, p in log if t > now - width})
        assert got.ever == len({p for _, p in log})


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 600), st.lists(st.integers(1, 40), max_size=5)), max_size=40)
)
def test_a_preview_gives_what_observing_would_and_counts_nothing(
    make_meter: Callable[[], ExposureMeter], steps: list[tuple[int, list[int]]]
) -> None:
    """The gate decides on a preview before the data leaves: it must equal the counts after
    observing, and leave the meter as it was."""
    meter, now = make_meter(), T0
    for seconds, patients in steps:
        now += timedelta(seconds=seconds)
        before = meter.current(account=1, level=Level.RECORD, at=now)
        seen = meter.preview(account=1, level=Level.RECORD, patients=patients, at=now)
        assert meter.current(account=1, level=Level.RECORD, at=now) == before
        assert meter.observe(account=1, level=Level.RECORD, patients=patients, at=now) == seen
