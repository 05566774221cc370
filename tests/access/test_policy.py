"""The permission matrix: every role × category × action × establishment × care
relationship × break-the-glass, against an expectation written independently from the
issue's words (not read from the table under test)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from hygie.access.policy import Action, Category, decide, permission_table_markdown
from hygie.models import Role

C = Category
IDENTITY_ETC = {C.IDENTITY, C.CONTACT, C.COVERAGE, C.APPOINTMENTS}
CLINICAL = {C.ALLERGIES, C.CONDITIONS, C.NOTES, C.PRESCRIPTIONS}

# What each role may read and write, restated from the issue.
READS: dict[Role, set[Category]] = {
    Role.PHYSICIAN: IDENTITY_ETC | {C.STAYS} | CLINICAL,
    Role.NURSE: {C.IDENTITY, C.CONTACT, C.APPOINTMENTS, C.STAYS} | CLINICAL,
    Role.SECRETARY: IDENTITY_ETC | {C.STAYS},
    Role.BILLING_OFFICER: {C.IDENTITY, C.COVERAGE, C.BILLING},
    Role.PHARMACIST: {C.IDENTITY, C.PRESCRIPTIONS, C.ALLERGIES},
    Role.IT_ADMIN: {C.ACCOUNTS},
    Role.SECURITY_OFFICER: {C.IDENTITY, C.AUDIT, C.ACCOUNTS},
    # Feeds (HL7 ADT) run as system accounts: identity, contact, coverage and stays only.
    Role.INTERFACE: {C.IDENTITY, C.CONTACT, C.COVERAGE, C.STAYS},
}
WRITES: dict[Role, set[Category]] = {
    Role.PHYSICIAN: {C.IDENTITY, C.CONTACT, C.APPOINTMENTS, C.STAYS} | CLINICAL,
    Role.NURSE: {C.STAYS, C.ALLERGIES, C.NOTES},  # writes notes, never prescribes
    Role.SECRETARY: IDENTITY_ETC | {C.STAYS},
    Role.BILLING_OFFICER: {C.BILLING},
    Role.PHARMACIST: set(),
    Role.IT_ADMIN: {C.ACCOUNTS},
    Role.SECURITY_OFFICER: {C.AUDIT},  # verdicts on the trail (reviews), never the trail
    Role.INTERFACE: {C.IDENTITY, C.CONTACT, C.COVERAGE, C.STAYS},
}
PATIENT_FREE = {C.AUDIT, C.ACCOUNTS}

CELLS = list(
    itertools.product(Role, Category, Action, (True, False), ("appointment", None), (True, False))
)


def expected(
    role: Role, category: Category, action: Action, in_scope: bool, care: str | None, glass: bool
) -> bool:
    granted = (READS if action == Action.READ else WRITES)[role]
    if category not in granted:
        return False
    if category in PATIENT_FREE:
        return True
    if not in_scope:
        return False
    return category not in CLINICAL or care is not None or glass


@pytest.mark.parametrize(("role", "category", "action", "in_scope", "care", "glass"), CELLS)
def test_permission_matrix(
    role: Role, category: Category, action: Action, in_scope: bool, care: str | None, glass: bool
) -> None:
    decision = decide(
        role=role.value, action=action.value, category=category.value, in_scope=in_scope,
        care_relationship=care, break_glass=glass,
    )  # fmt: skip
    assert decision.allowed is expected(role, category, action, in_scope, care, glass), (
        decision.reason
    )
    assert decision.reason
    if decision.allowed:
        assert decision.basis == ("role" if category not in CLINICAL else care or "break_the_glass")


def test_the_matrix_has_both_kinds_of_cells() -> None:
    outcomes = {expected(*cell) for cell in CELLS}
    assert outcomes == {True, False}


def test_it_administrators_read_no_patient_data() -> None:
    for category in set(Category) - PATIENT_FREE:
        for action in Action:
            assert not decide(
                role="it_admin", action=action.value, category=category.value, in_scope=True,
                care_relationship="attending", break_glass=True,
            ).allowed  # fmt: skip


def test_interfaces_open_nothing_clinical_even_with_a_relationship_or_the_glass() -> None:
    for category in CLINICAL | {C.BILLING, C.AUDIT, C.ACCOUNTS, C.APPOINTMENTS}:
        for action in Action:
            assert not decide(
                role="interface", action=action.value, category=category.value, in_scope=True,
                care_relationship="attending", break_glass=True,
            ).allowed  # fmt: skip


def test_a_clinician_without_relationship_is_offered_break_the_glass() -> None:
    decision = decide(
        role="physician", action="read", category="notes", in_scope=True,
        care_relationship=None, break_glass=False,
    )  # fmt: skip
    assert not decision.allowed and decision.break_glass_possible


def test_outside_the_establishments_a_patient_is_hidden() -> None:
    decision = decide(
        role="physician", action="read", category="identity", in_scope=False,
        care_relationship="attending", break_glass=True,
    )  # fmt: skip
    assert not decision.allowed and decision.hidden


@pytest.mark.parametrize("role", [None, "", "admin", "PHYSICIAN", "superuser"])
def test_unknown_roles_are_denied(role: str | None) -> None:
    decision = decide(
        role=role, action="read", category="identity", in_scope=True,
        care_relationship="attending", break_glass=True,
    )  # fmt: skip
    assert not decision.allowed


def test_unknown_category_or_action_is_denied() -> None:
    for action, category in (("read", "genome"), ("delete", "identity")):
        assert not decide(
            role="physician", action=action, category=category, in_scope=True,
            care_relationship="attending", break_glass=False,
        ).allowed  # fmt: skip


def test_the_documented_table_is_the_table() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "PERMISSIONS.md").read_text(encoding="utf-8")
    assert permission_table_markdown() in doc
