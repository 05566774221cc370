"""Who may do what: the permission table and the pure decision the gate asks of it.

Deny by default: a role missing from the table, a category missing from a role's row, a
patient outside the actor's establishments, or clinical content without a care
relationship (or an explicit break-the-glass) is refused. The table is printed in
docs/PERMISSIONS.md (a test keeps the two identical)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hygie.models import Role


class Category(enum.StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    COVERAGE = "coverage"
    APPOINTMENTS = "appointments"
    STAYS = "stays"
    ALLERGIES = "allergies"
    CONDITIONS = "conditions"
    NOTES = "notes"
    PRESCRIPTIONS = "prescriptions"
    BILLING = "billing"
    AUDIT = "audit"
    ACCOUNTS = "accounts"


class Action(enum.StrEnum):
    READ = "read"
    WRITE = "write"


# Clinical content: opened only with a care relationship or a break-the-glass.
CLINICAL = frozenset(
    {Category.ALLERGIES, Category.CONDITIONS, Category.NOTES, Category.PRESCRIPTIONS}
)
# Data about no patient in particular: no establishment or care condition applies.
NOT_PATIENT_DATA = frozenset({Category.AUDIT, Category.ACCOUNTS})

R, RW = frozenset({Action.READ}), frozenset({Action.READ, Action.WRITE})

PERMISSIONS: dict[Role, dict[Category, frozenset[Action]]] = {
    Role.PHYSICIAN: {
        Category.IDENTITY: RW, Category.CONTACT: RW, Category.COVERAGE: R,
        Category.APPOINTMENTS: RW, Category.STAYS: RW, Category.ALLERGIES: RW,
        Category.CONDITIONS: RW, Category.NOTES: RW, Category.PRESCRIPTIONS: RW,
    },
    Role.NURSE: {
        Category.IDENTITY: R, Category.CONTACT: R, Category.APPOINTMENTS: R,
        Category.STAYS: RW, Category.ALLERGIES: RW, Category.CONDITIONS: R,
        Category.NOTES: RW, Category.PRESCRIPTIONS: R,
    },
    Role.SECRETARY: {
        Category.IDENTITY: RW, Category.CONTACT: RW, Category.COVERAGE: RW,
        Category.APPOINTMENTS: RW, Category.STAYS: RW,
    },
    Role.BILLING_OFFICER: {
        Category.IDENTITY: R, Category.COVERAGE: R, Category.BILLING: RW,
    },
    Role.PHARMACIST: {
        Category.IDENTITY: R, Category.ALLERGIES: R, Category.PRESCRIPTIONS: R,
    },
    Role.IT_ADMIN: {
        Category.ACCOUNTS: RW,
    },
    Role.SECURITY_OFFICER: {
        # Identity, to find the patient whose access history is asked for.
        # Audit "write" records verdicts on the trail (break-the-glass reviews, alerts);
        # nobody can change the trail itself.
        Category.IDENTITY: R, Category.AUDIT: RW, Category.ACCOUNTS: R,
    },
    Role.INTERFACE: {
        # System accounts of feeds (HL7 v2 ADT): who the patient is and where they stay,
        # nothing clinical, no billing, no trail, no accounts.
        Category.IDENTITY: RW, Category.CONTACT: RW, Category.COVERAGE: RW,
        Category.STAYS: RW,
    },
}  # fmt: skip


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    # Why it was allowed: "role" (no patient condition), a care relationship kind
    # ("attending", "appointment", "stay", "explicit", "dispensing"), or "break_the_glass".
    basis: str | None = None
    # A refusal the actor may lift with break-the-glass (a clinician without a relationship).
    break_glass_possible: bool = False
    # Outside the actor's establishments a patient is "not found", not "forbidden".
    hidden: bool = False


def decide(
    *,
    role: str | None,
    action: str,
    category: str,
    in_scope: bool,
    care_relationship: str | None,
    break_glass: bool,
) -> Decision:
    """The decision for one role, action and category on one patient.

    ``in_scope``: the actor holds a habilitation valid today in an establishment where the
    patient has a file. ``care_relationship``: its kind, or None. ``break_glass``: an
    unexpired break-the-glass grant for this patient."""
    try:
        role_value, act, cat = Role(role or ""), Action(action), Category(category)
    except ValueError:
        return Decision(
            False, f"unknown role, action or data category ({role}, {action}, {category})"
        )
    allowed = PERMISSIONS.get(role_value, {}).get(cat, frozenset())
    if act not in allowed:
        return Decision(False, f"the {role_value.value} role may not {act.value} {cat.value}")
    if cat in NOT_PATIENT_DATA:
        return Decision(True, "allowed by role", basis="role")
    if not in_scope:
        return Decision(False, "patient outside your establishments", hidden=True)
    if cat not in CLINICAL:
        return Decision(True, "allowed by role", basis="role")
    if care_relationship:
        return Decision(True, f"care relationship ({care_relationship})", basis=care_relationship)
    if break_glass:
        return Decision(True, "break-the-glass", basis="break_the_glass")
    return Decision(
        False,
        "no care relationship with this patient: break-the-glass with a reason to proceed",
        break_glass_possible=True,
    )


def permission_table_markdown() -> str:
    """The table as printed in docs/PERMISSIONS.md."""
    categories = list(Category)
    lines = [
        "| role | " + " | ".join(c.value for c in categories) + " |",
        "|---|" + "---|" * len(categories),
    ]
    for role in Role:
        row = PERMISSIONS.get(role, {})
        cells = []
        for cat in categories:
            actions = row.get(cat, frozenset())
            cell = "RW" if actions == RW else "R" if actions == R else "—"
            cells.append(f"{cell}*" if cell != "—" and cat in CLINICAL else cell)
        lines.append(f"| {role.value} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
