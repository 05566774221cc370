"""The syslog channel, against real UDP and TCP collectors on 127.0.0.1."""

from __future__ import annotations

import re
import socket

import pytest

from hygie.notify import AlertMessage, SyslogChannel
from tests.notify.samples import make_alert
from tests.notify.servers import LOOPBACK, TcpCollector, UdpCollector

# RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
LINE = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<at>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) "
    r"(?P<msgid>\S+) (?P<sd>\[(?:[^\]\\]|\\.)*\]) (?P<msg>.*)",
    re.DOTALL,
)


def fields(data: bytes) -> dict[str, str]:
    found = LINE.fullmatch(data.decode("utf-8"))
    assert found is not None, data
    return found.groupdict()


def test_udp_sends_one_rfc5424_message(udp_collector: UdpCollector, alert: AlertMessage) -> None:
    SyslogChannel(LOOPBACK, udp_collector.port).send(alert)

    line = fields(udp_collector.receive())
    assert line["pri"] == str(10 * 8 + 2)  # authpriv, crit
    assert line["at"] == "2025-03-14T09:26:53.589793Z"
    assert line["host"] == socket.gethostname()[:255]
    assert line["app"] == "hygie"
    assert line["procid"] == "-"
    assert line["msgid"] == "alert"
    assert line["sd"] == (
        '[hygie@32473 alert="12" rule="records.1m" user="dr.martin" response="contain"]'
    )
    assert line["msg"] == "account dr.martin contained"


@pytest.mark.parametrize(
    ("severity", "code"), [("critical", 2), ("high", 3), ("warning", 4), ("info", 6)]
)
def test_the_severity_follows_the_alert(
    udp_collector: UdpCollector, severity: str, code: int
) -> None:
    SyslogChannel(LOOPBACK, udp_collector.port, app_name="hygie-test").send(
        make_alert(severity=severity)
    )
    line = fields(udp_collector.receive())
    assert line["pri"] == str(80 + code)
    assert line["app"] == "hygie-test"


def test_structured_data_is_escaped(udp_collector: UdpCollector) -> None:
    SyslogChannel(LOOPBACK, udp_collector.port).send(
        make_alert(username='dr"x\\y]z', rule='rule"]')
    )
    line = fields(udp_collector.receive())
    assert line["sd"] == (
        '[hygie@32473 alert="12" rule="rule\\"\\]" user="dr\\"x\\\\y\\]z" response="contain"]'
    )


def test_an_alert_without_account_has_no_user_parameter(udp_collector: UdpCollector) -> None:
    SyslogChannel(LOOPBACK, udp_collector.port).send(make_alert(username=None, user_id=None))
    assert fields(udp_collector.receive())["sd"] == (
        '[hygie@32473 alert="12" rule="records.1m" response="contain"]'
    )


def test_tcp_frames_the_message_by_its_length_in_octets(tcp_collector: TcpCollector) -> None:
    alert = make_alert(summary="compte dr.martin confiné — 212 dossiers")
    SyslogChannel(LOOPBACK, tcp_collector.port, protocol="tcp").send(alert)

    frame = tcp_collector.receive()
    length, _, payload = frame.partition(b" ")
    assert int(length) == len(payload)  # octets, not characters
    assert fields(payload)["msg"] == "compte dr.martin confiné — 212 dossiers"


def test_a_closed_tcp_port_is_a_failure(alert: AlertMessage) -> None:
    collector = TcpCollector()
    port = collector.port
    collector.close()
    with pytest.raises(OSError):
        SyslogChannel(LOOPBACK, port, protocol="tcp", timeout=2.0).send(alert)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"protocol": "tls"}, "protocol"),
        ({"app_name": "hygie app"}, "app_name"),
        ({"app_name": "x" * 49}, "app_name"),
    ],
)
def test_unusable_settings_are_refused(options: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SyslogChannel(LOOPBACK, 514, **options)  # type: ignore[arg-type]
