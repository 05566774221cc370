"""One gate: outside the gate's own packages, no module reaches patient data except
through hygie.access. The test walks every module's imports (AST) and the database
session calls it makes."""

from __future__ import annotations

import ast
from pathlib import Path

import hygie

PACKAGE = Path(hygie.__file__).parent
FIXTURES = Path(__file__).parent / "fixtures"

# Modules that read or write patient tables: reachable only from inside the gate.
PROTECTED = (
    "hygie.storage.patients", "hygie.storage.care", "hygie.storage.access",
    "hygie.storage.bulk", "hygie.storage.encrypted",
    "hygie.patients", "hygie.scheduling", "hygie.stays", "hygie.clinical", "hygie.billing",
    "hygie.generate", "hygie.keys",
    "hygie.models.patient", "hygie.models.clinical", "hygie.models.scheduling",
    "hygie.models.stays", "hygie.models.billing",
)  # fmt: skip
# Patient tables, as re-exported by hygie.models.
PATIENT_MODELS = {
    "Patient", "PatientRegistration", "AmoCoverage", "AmcCoverage", "DeathDeclaration",
    "IdentityEvent", "PatientMerge", "Appointment", "AppointmentEvent", "Encounter",
    "Movement", "Allergy", "Condition", "ClinicalNote", "Prescription", "CareTeamMember",
    "Invoice", "BillableAct", "BreakGlass",
}  # fmt: skip
# The gate and what it is made of: these may reach patient data.
INSIDE = (
    "hygie.access", "hygie.storage", "hygie.models", "hygie.migrations", "hygie.db", "hygie.db_direct",
    "hygie.patients", "hygie.scheduling", "hygie.stays", "hygie.clinical", "hygie.billing",
    "hygie.generate", "hygie.keys",
)  # fmt: skip
# Outside the gate, a database session may not be opened at all (only hygie.access and
# modules that handle no patient data, such as accounts and the trail, open one).
SESSION_CALLS = {
    "sessions", "transaction", "begin", "connect", "scoped", "execute", "scalar", "scalars",
}  # fmt: skip
SESSION_ALLOWED = ("hygie.auth", "hygie.cli.users", "hygie.cli.audit", "hygie.app")


def module_name(path: Path, root: Path, prefix: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([prefix, *parts])


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def violations(path: Path, name: str) -> list[str]:
    """What ``path`` (module ``name``) does that only the gate may do."""
    if _within(name, INSIDE):
        return []
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            targets = [(f"{node.module}.{a.name}", a.name) for a in node.names]
            targets.append((node.module, None))
        else:
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
                and not _within(name, SESSION_ALLOWED)
            ):
                found.append(f"{name}:{node.lineno} opens a database session ({node.func.attr})")
            continue
        for target, imported in targets:
            if _within(target, PROTECTED):
                found.append(f"{name}:{node.lineno} imports {target}")
            elif imported in PATIENT_MODELS and target.startswith("hygie.models"):
                found.append(f"{name}:{node.lineno} imports the patient table {imported}")
    return sorted(set(found))


def package_modules() -> list[tuple[Path, str]]:
    return [(p, module_name(p, PACKAGE, "hygie")) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_module_outside_the_gate_reaches_patient_data() -> None:
    problems = [v for path, name in package_modules() for v in violations(path, name)]
    assert problems == []


def test_entry_points_are_scanned() -> None:
    names = {name for _, name in package_modules()}
    assert {"hygie.cli.main", "hygie.app", "hygie.cli.users", "hygie.cli.audit"} <= names


def test_a_bypassing_module_is_caught() -> None:
    path = FIXTURES / "bypassing_module.py"
    problems = violations(path, "hygie.cli.bypassing_module")
    assert any("imports hygie.storage.patients" in p for p in problems)
    assert any("patient table Patient" in p for p in problems)
    assert any("opens a database session (sessions)" in p for p in problems)
    # A raw connection around the ORM is caught too.
    assert any("opens a database session (connect)" in p for p in problems)
    assert any("opens a database session (execute)" in p for p in problems)
