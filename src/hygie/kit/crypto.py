"""Encryption at rest: AES-256-GCM values tagged with their key id, and a keyed hash (HMAC)
for exact look-ups of encrypted identifiers.

The keys live in a JSON key file outside the database (``HYGIE_KEY_FILE``). Several
encryption keys may be present so that keys can rotate: one is *active* (used to encrypt),
the others stay readable. The blind-index key (HMAC) is separate and does not rotate with
them, since every look-up hash would have to be recomputed at once.

A ciphertext is stored as text: ``<key id>:<base64(nonce || ciphertext || tag)>``. The name
of the column is bound as associated data, so a value copied into another column (or row
kind) does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hygie.errors import ConfigurationError

KEY_FILE_FORMAT = "hygie-keys/1"
_KEY_ID = re.compile(r"k[0-9]+")
_NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


@dataclass
class Keyring:
    """The keys of one installation, as read from its key file."""

    active_id: str
    keys: dict[str, bytes]
    index_key: bytes
    created: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    _aead: dict[str, AESGCM] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, object]:
        # Cipher objects are rebuilt on demand: they cannot cross a process boundary.
        state = dict(self.__dict__)
        state["_aead"] = {}
        return state

    # --- creation and persistence -------------------------------------------------------
    @classmethod
    def generate(cls) -> Keyring:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(
            active_id="k1",
            keys={"k1": AESGCM.generate_key(bit_length=256)},
            index_key=secrets.token_bytes(32),
            created={"k1": now},
        )

    @classmethod
    def load(cls, path: Path) -> Keyring:
        if not path.exists():
            raise ConfigurationError(
                f"key file {path} not found: create one with `hygie keys init` "
                "(or set HYGIE_KEY_FILE to the installation's key file)"
            )
        try:
            mode = path.stat().st_mode
            if not stat.S_ISREG(mode):
                raise ConfigurationError(f"key file {path} is not a regular file")
            if mode & 0o077:
                raise ConfigurationError(
                    f"key file {path} is readable by others (mode {oct(mode & 0o777)}): "
                    f"run `chmod 600 {path}`"
                )
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(f"key file {path} cannot be read: {exc.strerror}") from exc
        try:
            doc = json.loads(text)
            if doc.get("format") != KEY_FILE_FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            keys = {kid: _unb64(k["secret"]) for kid, k in doc["keys"].items()}
            created = {kid: str(k.get("created", "")) for kid, k in doc["keys"].items()}
            ring = cls(
                active_id=str(doc["active"]),
                keys=keys,
                index_key=_unb64(doc["index_key"]),
                created=created,
                path=path,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigurationError(
                f"key file {path} is not a valid Hygie key file: {exc}"
            ) from exc
        if not all(_KEY_ID.fullmatch(kid) for kid in ring.keys):
            raise ConfigurationError(f"key file {path}: key ids must look like k1, k2...")
        if ring.active_id not in ring.keys:
            raise ConfigurationError(f"key file {path}: active key {ring.active_id} is missing")
        if any(len(k) != 32 for k in ring.keys.values()) or len(ring.index_key) != 32:
            raise ConfigurationError(f"key file {path}: every key must be 256 bits")
        return ring

    def save(self, path: Path) -> None:
        """Write the key file atomically, readable by its owner only."""
        doc = {
            "format": KEY_FILE_FORMAT,
            "active": self.active_id,
            "keys": {
                kid: {"secret": _b64(key), "created": self.created.get(kid, "")}
                for kid, key in self.keys.items()
            },
            "index_key": _b64(self.index_key),
        }
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.unlink(missing_ok=True)  # a stale one could carry a looser mode
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=2)
                fh.write("\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
            # The rename itself must survive a crash: sync the directory too.
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise ConfigurationError(f"cannot write key file {path}: {exc.strerror}") from exc
        self.path = path

    def add_key(self) -> str:
        """Add a new key and make it the active one; returns its id."""
        number = 1 + max((int(kid[1:]) for kid in self.keys if _KEY_ID.fullmatch(kid)), default=0)
        kid = f"k{number}"
        self.keys[kid] = AESGCM.generate_key(bit_length=256)
        self.created[kid] = datetime.now(UTC).isoformat(timespec="seconds")
        self.active_id = kid
        return kid

    # --- encryption ---------------------------------------------------------------------
    def _cipher(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            aead = self._aead[kid] = AESGCM(self.keys[kid])
        return aead

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher(self.active_id).encrypt(
            nonce, plaintext.encode("utf-8"), context.encode("ascii")
        )
        return f"{self.active_id}:{_b64(nonce + sealed)}"

    def decrypt(self, stored: str, context: str) -> str:
        kid, sep, body = stored.partition(":")
        if not sep:
            raise ConfigurationError(f"a stored {context} value is not in the encrypted format")
        if kid not in self.keys:
            raise ConfigurationError(
                f"a stored {context} value was encrypted with key {kid}, which is not in the "
                f"key file {self.path or ''}: the key file does not belong to this database"
            )
        try:
            raw = _unb64(body)
        except ValueError as exc:
            raise ConfigurationError(f"a stored {context} value is corrupt (not base64)") from exc
        try:
            plain = self._cipher(kid).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode("ascii")
            )
        except InvalidTag as exc:
            raise ConfigurationError(
                f"a stored {context} value does not decrypt with key {kid}: "
                "wrong key file for this database, or the value was tampered with"
            ) from exc
        return plain.decode("utf-8")

    @staticmethod
    def key_id_of(stored: str) -> str:
        return stored.partition(":")[0]

    # --- blind index --------------------------------------------------------------------
    def blind_index(self, value: str, context: str) -> str:
        """A keyed hash of ``value`` for exact look-ups; equal inputs give equal hashes."""
        mac = hmac.new(self.index_key, f"{context}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()


_current: Keyring | None = None


def install_keyring(ring: Keyring | None) -> None:
    """Make ``ring`` the keyring used by encrypted columns in this process."""
    global _current
    _current = ring


def current_keyring() -> Keyring:
    if _current is None:
        raise ConfigurationError(
            "no key file is loaded: encrypted values can be neither read nor written"
        )
    return _current
