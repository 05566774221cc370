"""The e-mail channel, against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import smtplib
import ssl
from email.message import EmailMessage

import pytest

from hygie.notify import AlertMessage, SmtpChannel
from tests.notify.samples import PATIENT_NAME
from tests.notify.servers import LOOPBACK, Certificate, Mail, SmtpSink, accept_only

RECIPIENTS = ("rssi@clinique.example", "dpo@clinique.example")


def parsed(mail: Mail) -> EmailMessage:
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_alert_arrives_with_its_subject_recipients_and_fields(alert: AlertMessage) -> None:
    with SmtpSink() as sink:
        channel = SmtpChannel(
            LOOPBACK, sink.port, sender="hygie@clinique.example", recipients=RECIPIENTS
        )
        channel.send(alert)
        mail = sink.next_mail()

    assert mail.mail_from == "hygie@clinique.example"
    assert mail.rcpt_tos == list(RECIPIENTS)
    message = parsed(mail)
    assert message["Subject"] == alert.subject()
    assert message["To"] == ", ".join(RECIPIENTS)
    assert message["X-Hygie-Alert"] == "12"
    body = message.get_content()
    assert "Alert:         #12" in body
    assert "Rule:          records.1m" in body
    assert "Account:       dr.martin (user #7)" in body
    assert '"distinct_patients": 212' in body
    assert PATIENT_NAME not in mail.content.decode()


def test_starttls_and_login_go_through_a_verified_tls_session(
    alert: AlertMessage, certificate: Certificate
) -> None:
    options = {
        "tls_context": certificate.server_context(),
        "require_starttls": True,
        "authenticator": accept_only(b"hygie", b"pass word"),
        "auth_require_tls": True,
    }
    with SmtpSink(**options) as sink:
        channel = SmtpChannel(
            LOOPBACK, sink.port, sender="hygie@clinique.example", recipients=RECIPIENTS[:1],
            starttls=True, username="hygie", password="pass word",
            tls_context=certificate.client_context(),
        )  # fmt: skip
        channel.send(alert)
        mail = sink.next_mail()
    assert mail.login == b"hygie"
    assert parsed(mail)["Subject"] == alert.subject()


def test_a_wrong_password_is_a_failure(alert: AlertMessage, certificate: Certificate) -> None:
    options = {
        "tls_context": certificate.server_context(),
        "authenticator": accept_only(b"hygie", b"right"),
    }
    with SmtpSink(**options) as sink:
        channel = SmtpChannel(
            LOOPBACK, sink.port, sender="hygie@clinique.example", recipients=RECIPIENTS,
            starttls=True, username="hygie", password="wrong",
            tls_context=certificate.client_context(),
        )  # fmt: skip
        with pytest.raises(smtplib.SMTPAuthenticationError):
            channel.send(alert)
        assert sink.handler.mails.empty()


def test_starttls_verifies_the_server_certificate_by_default(
    alert: AlertMessage, certificate: Certificate
) -> None:
    with SmtpSink(tls_context=certificate.server_context()) as sink:
        channel = SmtpChannel(
            LOOPBACK, sink.port, sender="hygie@clinique.example", recipients=RECIPIENTS,
            starttls=True,
        )  # fmt: skip
        with pytest.raises(ssl.SSLCertVerificationError):
            channel.send(alert)
        assert sink.handler.mails.empty()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"recipients": ()}, "recipient"),
        ({"sender": ""}, "sender"),
        ({"username": "hygie", "password": "x"}, "starttls"),
        ({"username": "hygie", "starttls": True}, "together"),
        ({"port": 0}, "port"),
    ],
)
def test_unusable_settings_are_refused(options: dict[str, object], match: str) -> None:
    settings: dict[str, object] = {
        "port": 25, "sender": "hygie@clinique.example", "recipients": RECIPIENTS, **options,
    }  # fmt: skip
    with pytest.raises(ValueError, match=match):
        SmtpChannel(LOOPBACK, **settings)  # type: ignore[arg-type]
