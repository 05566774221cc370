"""The dispatcher: delivery off the caller's thread, retries, and what it logs."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from hygie.notify import AlertMessage, Dispatcher, SyslogChannel, WebhookChannel
from tests.notify.samples import make_alert
from tests.notify.servers import LOOPBACK, WAIT, UdpCollector, WebhookReceiver, silent_server


class Broken:
    """A channel whose server is down: every attempt fails."""

    def __init__(self) -> None:
        self.attempts = 0
        self.tried = threading.Event()

    def __repr__(self) -> str:
        return "Broken()"

    def send(self, message: AlertMessage) -> None:
        self.attempts += 1
        self.tried.set()
        raise ConnectionRefusedError("connection refused")


class Recorder:
    """A channel that records what it is given, after waiting for ``gate`` if set."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.received: list[int] = []
        self.gate = gate
        self._lock = threading.Lock()

    def send(self, message: AlertMessage) -> None:
        if self.gate is not None:
            self.gate.wait(WAIT)
        with self._lock:
            self.received.append(message.alert_id)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "hygie.notify" and r.levelno >= logging.ERROR
    ]


def test_a_failing_channel_is_retried_then_logged_while_the_others_deliver(
    webhook: WebhookReceiver, alert: AlertMessage, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Broken()
    dispatcher = Dispatcher([broken, WebhookChannel(webhook.url())], retries=2, backoff=0.01)

    dispatcher.submit(alert)

    assert dispatcher.flush(WAIT)
    assert webhook.next_request().path == "/hooks/alerts"
    assert webhook.requests.empty()  # the channel that worked is not sent it again
    assert broken.attempts == 3
    assert errors(caplog) == [
        "alert #12 not delivered to Broken() after 3 attempts: "
        "ConnectionRefusedError: connection refused"
    ]
    dispatcher.close()


def test_a_channel_that_recovers_gets_the_alert_and_nothing_is_logged_as_error(
    alert: AlertMessage, caplog: pytest.LogCaptureFixture
) -> None:
    with WebhookReceiver(statuses=(503, 500)) as receiver:
        dispatcher = Dispatcher([WebhookChannel(receiver.url())], retries=3, backoff=0.01)
        dispatcher.submit(alert)
        assert dispatcher.flush(WAIT)
        bodies = [receiver.next_request().body for _ in range(3)]
        dispatcher.close()
    assert bodies[0] == bodies[1] == bodies[2]
    assert errors(caplog) == []


def test_submit_returns_at_once_when_a_channel_hangs(
    udp_collector: UdpCollector, alert: AlertMessage, caplog: pytest.LogCaptureFixture
) -> None:
    with silent_server() as url:
        hanging = WebhookChannel(url, timeout=1.0)
        syslog = SyslogChannel(LOOPBACK, udp_collector.port)
        dispatcher = Dispatcher([hanging, syslog], retries=0)

        started = time.monotonic()
        dispatcher.submit(alert)
        assert time.monotonic() - started < 0.2

        assert not dispatcher.flush(0.1)  # still waiting for the silent server
        assert dispatcher.flush(WAIT)
    assert b'alert="12"' in udp_collector.receive()
    [logged] = errors(caplog)
    assert logged.startswith("alert #12 not delivered to WebhookChannel(http://127.0.0.1:")
    assert "after 1 attempts" in logged
    dispatcher.close()


def test_flush_waits_for_every_submitted_alert() -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    dispatcher = Dispatcher([recorder])
    for alert_id in (1, 2, 3):
        dispatcher.submit(make_alert(alert_id=alert_id))

    assert not dispatcher.flush(0.05)
    gate.set()
    assert dispatcher.flush(WAIT)
    assert recorder.received == [1, 2, 3]
    dispatcher.close()


def test_alerts_submitted_from_many_threads_are_each_delivered_once() -> None:
    recorder = Recorder()
    dispatcher = Dispatcher([recorder])

    def submit_batch(first: int) -> None:
        for alert_id in range(first, first + 25):
            dispatcher.submit(make_alert(alert_id=alert_id))

    threads = [threading.Thread(target=submit_batch, args=(n * 25,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)

    assert dispatcher.flush(WAIT)
    assert sorted(recorder.received) == list(range(200))
    dispatcher.close()


def test_beyond_max_pending_alerts_are_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    recorder = Recorder(gate)
    dispatcher = Dispatcher([recorder], max_pending=2)
    for alert_id in (1, 2, 3):
        dispatcher.submit(make_alert(alert_id=alert_id))
    gate.set()

    assert dispatcher.flush(WAIT)
    assert recorder.received == [1, 2]
    assert errors(caplog) == ["alert #3 dropped: 2 alerts wait already"]
    dispatcher.close()


def test_close_cuts_the_backoff_short_and_logs_what_was_not_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = Broken()
    dispatcher = Dispatcher([broken], retries=3, backoff=30.0)
    dispatcher.submit(make_alert())
    assert broken.tried.wait(WAIT)

    started = time.monotonic()
    dispatcher.close(timeout=0.2)
    assert time.monotonic() - started < 2.0
    assert dispatcher.flush(WAIT)
    assert broken.attempts == 1
    assert errors(caplog) == [
        "alert #12 not delivered to Broken() after 1 attempts: "
        "ConnectionRefusedError: connection refused"
    ]


def test_after_close_alerts_are_refused_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    recorder = Recorder()
    dispatcher = Dispatcher([recorder])
    dispatcher.submit(make_alert(alert_id=1))
    dispatcher.close()

    dispatcher.submit(make_alert(alert_id=2))

    assert dispatcher.flush(WAIT)
    assert recorder.received == [1]
    assert "alert #2 not sent: the dispatcher is closed" in caplog.text


def test_a_dispatcher_without_channels_does_nothing(alert: AlertMessage) -> None:
    dispatcher = Dispatcher([])
    dispatcher.submit(alert)
    assert dispatcher.flush(0)
    dispatcher.close()


@pytest.mark.parametrize("options", [{"retries": -1}, {"backoff": -0.1}, {"max_pending": 0}])
def test_impossible_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Dispatcher([Recorder()], **options)  # type: ignore[arg-type]
