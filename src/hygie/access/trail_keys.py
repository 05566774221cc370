"""The key that signs audit checkpoints (Ed25519), kept in a file outside the database, and
what a checkpoint signature covers."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hygie.access.audit import iso_utc
from hygie.errors import ConfigurationError

AUDIT_KEY_ENV = "HYGIE_AUDIT_KEY_FILE"
DEFAULT_AUDIT_KEY_FILE = "./hygie-audit.key"


def audit_key_path() -> Path:
    return Path(os.environ.get(AUDIT_KEY_ENV) or DEFAULT_AUDIT_KEY_FILE)


def key_id_of(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True)
class AuditKey:
    """The checkpoint signing key (Ed25519), read from a file outside the database."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)


def init_audit_key(path: Path) -> AuditKey:
    """Create a new signing key file, readable by its owner only; never overwrite one."""
    if path.exists():
        raise ConfigurationError(
            f"audit key file {path} already exists; it signs the existing checkpoints and is "
            "never overwritten"
        )
    if not path.parent.exists():
        raise ConfigurationError(f"audit key file {path}: folder {path.parent} does not exist")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ConfigurationError(f"audit key file {path} already exists") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return AuditKey(private=private, path=path)


def load_audit_key(path: Path) -> AuditKey:
    if not path.exists():
        raise ConfigurationError(
            f"audit key file {path} not found: set {AUDIT_KEY_ENV} or run `hygie audit init-key`"
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(f"audit key file {path} is not a PEM private key") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigurationError(f"audit key file {path} does not hold an Ed25519 key")
    return AuditKey(private=private, path=path)


def checkpoint_message(seq: int, head_hash: str, signed_at: datetime, key_id: str) -> bytes:
    """What a checkpoint signature covers."""
    return f"hygie-audit-checkpoint/1\n{seq}\n{head_hash}\n{iso_utc(signed_at)}\n{key_id}".encode()
