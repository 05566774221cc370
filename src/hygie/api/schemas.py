"""The JSON bodies the API accepts. Unknown fields are refused (a misspelt field must not
be silently ignored) and lengths are bounded before anything is hashed or stored; the
rules themselves (what a reason or a TTL may be) stay with the services."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from hygie.access.gateway import BREAK_GLASS_REASONS
from hygie.access.history import REVIEW_OUTCOMES
from hygie.auth.tokens import SCOPES

_TEXT = 4000  # generous bound for free text; the services apply the real limits


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignIn(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"username": "dr.a", "password": "a long passphrase of your own", "totp": "123456"}
            ]
        },
    )

    username: str = Field(max_length=200)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=64)

    @field_validator("username")
    @classmethod
    def _printable(cls, value: str) -> str:
        # A NUL or other control character cannot be in an account name, and some
        # databases refuse to even compare with one.
        if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
            raise ValueError("contains control characters")
        return value


class Enrol(SignIn):
    totp: str = Field(max_length=16)


class TokenRequest(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"ttl": 3600, "scope": "read"}]},
    )

    # Bounded only so that an absurd number cannot overflow a date; tokens.check_ttl says
    # what is allowed.
    ttl: StrictInt = Field(default=3600, ge=-(2**31), le=2**31, description="seconds")
    scope: str = Field(
        default="read", max_length=10, description="read or write",
        json_schema_extra={"enum": list(SCOPES)},
    )  # fmt: skip


class BreakGlassRequest(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"reason_code": "emergency", "reason_text": "Malaise en salle d'attente"}]
        },
    )

    reason_code: str = Field(max_length=40, json_schema_extra={"enum": list(BREAK_GLASS_REASONS)})
    reason_text: str = Field(max_length=_TEXT)


class ReviewRequest(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"verdict": "justified", "comment": "Urgence vitale confirmée"}]
        },
    )

    verdict: str = Field(max_length=20, json_schema_extra={"enum": list(REVIEW_OUTCOMES)})
    comment: str = Field(max_length=_TEXT)


class StepUp(Body):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"totp": "123456"}]}
    )

    totp: str = Field(max_length=16)


class Conclusion(Body):
    """A security officer's reason: to close an alert (``comment``) or unlock (``reason``)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"comment": "Tournée de service confirmée par le chef de service"}]
        },
    )

    comment: str = Field(max_length=_TEXT)


class Unlock(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"reason": "Identité vérifiée, mot de passe changé"}]},
    )

    reason: str = Field(max_length=_TEXT)


class NormRequest(Body):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"role": "billing_officer", "establishment_id": None,
                                         "signal": "records.1d", "threshold": 400,
                                         "reason": "Clôture mensuelle : 300 dossiers par jour"}]},
    )  # fmt: skip

    role: str | None = Field(default=None, max_length=30)
    establishment_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    signal: str = Field(max_length=40)
    threshold: float = Field(ge=0, le=1e9)
    reason: str = Field(max_length=_TEXT)
