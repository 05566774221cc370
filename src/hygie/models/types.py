"""Column types shared by the models: UTC timestamps and encrypted text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String, Text
from sqlalchemy.types import TypeDecorator

from hygie.kit.crypto import current_keyring


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware.

    SQLite has no time zones: values are stored naive (UTC) and tagged UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with AES-GCM by the process keyring; ``context`` names the column and
    is bound to the ciphertext, so a value moved to another column does not decrypt."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().encrypt(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().decrypt(str(value), self.context)


def search_key_type(length: int) -> String:
    """A normalised search key compared byte-wise, so that prefix LIKE uses a b-tree index
    on PostgreSQL whatever the database's collation."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def context_of(attribute: Any) -> str:
    """The encryption context of an encrypted mapped column (``context_of(Patient.nir)``):
    the one name under which its values are sealed, for code that writes them in bulk."""
    column_type = attribute.property.columns[0].type
    if not isinstance(column_type, EncryptedText):
        raise TypeError(f"{attribute} is not an encrypted column")
    return column_type.context
