"""The JSON bodies the API accepts. Unknown fields are refused (a misspelt field must not
be silently ignored) and lengths are bounded before anything is hashed or stored; the
rules themselves (what a reason or a TTL may be) stay with the services."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

_TEXT = 4000  # generous bound for free text; the services apply the real limits


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SignIn(Body):
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
    # Bounded only so that an absurd number cannot overflow a date; tokens.check_ttl says
    # what is allowed.
    ttl: StrictInt = Field(default=3600, ge=-(2**31), le=2**31, description="seconds")
    scope: str = Field(default="read", max_length=10, description="read or write")


class BreakGlassRequest(Body):
    reason_code: str = Field(max_length=40)
    reason_text: str = Field(max_length=_TEXT)


class ReviewRequest(Body):
    verdict: str = Field(max_length=20, description="justified or unjustified")
    comment: str = Field(max_length=_TEXT)
