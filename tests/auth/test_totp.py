"""TOTP (RFC 6238) codes, the ±1 step window and replay refusal, recovery codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from hygie.auth import totp

T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)  # the start of a 30 s step


def test_rfc6238_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); its last 6 digits.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp.code_at(secret, datetime.fromtimestamp(59, UTC)) == "287082"


def test_window_is_one_step_either_side() -> None:
    secret = totp.new_secret()
    now = T0 + timedelta(seconds=10)
    step = totp.step_of(now)
    for offset in (-1, 0, 1):
        moment = now + timedelta(seconds=30 * offset)
        assert totp.accepted_step(
            secret, totp.code_at(secret, moment), now=now, last_step=None
        ) == (step + offset)
    for offset in (-2, 2):
        moment = now + timedelta(seconds=30 * offset)
        code = totp.code_at(secret, moment)
        if code not in {totp.code_at(secret, now + timedelta(seconds=30 * o)) for o in (-1, 0, 1)}:
            assert totp.accepted_step(secret, code, now=now, last_step=None) is None


def test_a_used_step_is_refused_and_so_is_an_older_one() -> None:
    secret = totp.new_secret()
    now = T0 + timedelta(seconds=5)
    step = totp.step_of(now)
    code = totp.code_at(secret, now)
    assert totp.accepted_step(secret, code, now=now, last_step=step) is None
    earlier = totp.code_at(secret, now - timedelta(seconds=30))
    assert totp.accepted_step(secret, earlier, now=now, last_step=step) is None
    later = totp.code_at(secret, now + timedelta(seconds=30))
    assert totp.accepted_step(secret, later, now=now, last_step=step) == step + 1


def test_malformed_codes() -> None:
    secret = totp.new_secret()
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):  # the last: Arabic-Indic digits
        assert totp.accepted_step(secret, bad, now=T0, last_step=None) is None


def test_provisioning_uri() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "marie.curie")
    assert uri.startswith("otpauth://totp/Hygie:marie.curie?")
    query = parse_qs(urlparse(uri).query)
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Hygie"]
    assert len(secret) == 32  # 160 bits


def test_recovery_codes() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        assert len(code) == 19 and code.count("-") == 3
    digest = totp.hash_recovery_code(codes[0])
    assert len(digest) == 64 and codes[0] not in digest
    assert totp.hash_recovery_code(codes[0].upper().replace("-", " ")) == digest
