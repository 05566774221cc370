"""Authentication: who is signing in, and with what proof.

- ``passwords``: the password policy (NIST SP 800-63B) and argon2id hashing.
- ``totp``: TOTP second factor (RFC 6238) and single-use recovery codes.
- ``throttle``: failed sign-ins counted per account and per source address.
- ``sessions``: server-side web sessions and their CSRF tokens.
- ``tokens``: short-lived API bearer tokens.
- ``service``: the operations that combine them (authenticate, enrol, create and disable
  accounts), each leaving its audit event in the caller's transaction.

Every refusal raises :class:`~hygie.auth.errors.AuthenticationFailed` with one generic
message; what really went wrong is written to the audit trail only.
"""
