"""What an alert message holds and how it reads."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hygie.notify import AlertMessage
from tests.notify.samples import make_alert


def test_as_json_gives_every_field_with_the_time_in_utc(alert: AlertMessage) -> None:
    assert alert.as_json() == {
        "alert_id": 12,
        "at": "2025-03-14T09:26:53.589793Z",
        "severity": "critical",
        "rule": "records.1m",
        "username": "dr.martin",
        "user_id": 7,
        "establishment_id": 3,
        "response": "contain",
        "summary": "account dr.martin contained",
        "evidence": {"distinct_patients": 212, "window_s": 60, "event_ids": [901, 902, 977]},
    }


def test_a_time_in_another_zone_is_converted_to_utc() -> None:
    paris = datetime(2025, 3, 14, 10, 26, 53, 589793, tzinfo=ZoneInfo("Europe/Paris"))
    message = make_alert(at=paris)
    assert message.as_json()["at"] == "2025-03-14T09:26:53.589793Z"
    assert message.at.utcoffset() == timedelta(0)


def test_subject_names_severity_alert_rule_and_summary(alert: AlertMessage) -> None:
    assert alert.subject() == "[Hygie] CRITICAL alert #12: records.1m — account dr.martin contained"


def test_evidence_is_a_frozen_copy() -> None:
    evidence = {"distinct_patients": 212, "event_ids": [901]}
    message = make_alert(evidence=evidence)
    evidence["distinct_patients"] = 0
    evidence["event_ids"].append(902)  # type: ignore[attr-defined]
    assert message.as_json()["evidence"] == {"distinct_patients": 212, "event_ids": [901]}
    with pytest.raises(TypeError):
        message.evidence["distinct_patients"] = 1  # type: ignore[index]


def test_line_breaks_in_the_text_fields_become_spaces() -> None:
    message = make_alert(summary="account dr.martin\r\ncontained\n")
    assert message.summary == "account dr.martin  contained"
    assert "\n" not in message.subject()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"at": datetime(2025, 3, 14, 9, 26)}, ValueError),  # noqa: DTZ001 (a naive time on purpose)
        ({"severity": "urgent"}, ValueError),
        ({"summary": " \n "}, ValueError),
        ({"rule": ""}, ValueError),
        ({"evidence": {"at": datetime.now(ZoneInfo("UTC"))}}, TypeError),
        ({"evidence": {"ratio": float("nan")}}, ValueError),
    ],
)
def test_a_message_no_channel_could_send_is_refused_at_once(
    changes: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_alert(**changes)
