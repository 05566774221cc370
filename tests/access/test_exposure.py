"""The exposure meter counts distinct patients per account and level, over sliding windows
and ever, on the caller's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hygie.access.exposure import WINDOWS, Level, LocalExposure

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_patient_counts_once_per_window_however_often_read() -> None:
    meter = LocalExposure()
    meter.observe(account=1, level=Level.RECORD, patients=[10, 11], at=T0)
    seen = meter.observe(account=1, level=Level.RECORD, patients=[10, 12], at=T0)
    assert seen.windows == {"1m": 3, "10m": 3, "1h": 3, "1d": 3} and seen.ever == 3


def test_windows_slide_and_history_stays() -> None:
    meter = LocalExposure()
    meter.observe(account=1, level=Level.SUMMARY, patients=range(20), at=T0)
    later = meter.observe(
        account=1, level=Level.SUMMARY, patients=[99], at=T0 + timedelta(minutes=2)
    )
    assert later.windows == {"1m": 1, "10m": 21, "1h": 21, "1d": 21}
    much_later = meter.current(account=1, level=Level.SUMMARY, at=T0 + timedelta(hours=2))
    assert much_later.windows == {"1m": 0, "10m": 0, "1h": 0, "1d": 21}
    assert much_later.ever == 21


def test_a_patient_read_again_stays_in_the_window_from_its_last_read() -> None:
    meter = LocalExposure()
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0)
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0 + timedelta(seconds=50))
    assert (
        meter.current(account=1, level=Level.RECORD, at=T0 + timedelta(seconds=90)).within("1m")
        == 1
    )


def test_levels_and_accounts_are_counted_apart() -> None:
    meter = LocalExposure()
    meter.observe(account=1, level=Level.SUMMARY, patients=[1, 2, 3], at=T0)
    meter.observe(account=1, level=Level.RECORD, patients=[1], at=T0)
    meter.observe(account=2, level=Level.RECORD, patients=[1, 2], at=T0)
    assert meter.current(account=1, level=Level.SUMMARY, at=T0).ever == 3
    assert meter.current(account=1, level=Level.RECORD, at=T0).ever == 1
    assert meter.current(account=2, level=Level.RECORD, at=T0).ever == 2


def test_a_time_without_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        LocalExposure().observe(
            account=1, level=Level.RECORD, patients=[1], at=datetime(2026, 1, 1)
        )  # noqa: DTZ001


def test_a_late_finishing_request_does_not_shorten_a_patients_stay() -> None:
    meter = LocalExposure()
    meter.observe(account=1, level=Level.RECORD, patients=[7], at=T0 + timedelta(seconds=30))
    meter.observe(
        account=1, level=Level.RECORD, patients=[7], at=T0
    )  # finished last, started first
    assert (
        meter.current(account=1, level=Level.RECORD, at=T0 + timedelta(seconds=80)).within("1m")
        == 1
    )


@given(
    st.lists(st.tuples(st.integers(0, 600), st.lists(st.integers(1, 40), max_size=5)), max_size=60)
)
def test_counts_equal_a_plain_recount(steps: list[tuple[int, list[int]]]) -> None:
    """Against a recount from every access kept: times only move forward."""
    meter, log, now = LocalExposure(), [], T0
    for seconds, patients in steps:
        now += timedelta(seconds=seconds)
        log += [(now, p) for p in patients]
        got = meter.observe(account=1, level=Level.RECORD, patients=patients, at=now)
        for name, width in WINDOWS.items():
            assert got.windows[name] == len({p for t, p in log if t > now - width})
        assert got.ever == len({p for _, p in log})
