"""The menu: each role sees the screens of its work (the gate still decides every access;
a screen left out of the menu is a convenience, not a protection)."""

from __future__ import annotations

from dataclasses import dataclass

from hygie.web.labels import N_

CARE = frozenset({"physician", "nurse", "secretary", "billing_officer", "pharmacist"})


@dataclass(frozen=True)
class Entry:
    path: str
    label: str
    roles: frozenset[str] | None  # None: everyone signed in


MENU: tuple[Entry, ...] = (
    Entry("/patients", N_("Patients"), CARE | {"security_officer"}),
    Entry("/agenda", N_("Agenda"), frozenset({"physician", "nurse", "secretary"})),
    Entry("/reception", N_("Arrivées du jour"), frozenset({"secretary", "nurse", "physician"})),
    Entry("/stays", N_("Séjours"), frozenset({"physician", "nurse", "secretary"})),
    Entry("/admin", N_("Administration"), frozenset({"it_admin"})),
    Entry("/security", N_("Sécurité"), frozenset({"security_officer"})),
    Entry("/mine", N_("Mon activité"), None),
)


def menu(roles: frozenset[str]) -> list[Entry]:
    return [e for e in MENU if e.roles is None or e.roles & roles]
