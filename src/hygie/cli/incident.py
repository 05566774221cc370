"""``hygie incident impact``: the patients one account exposed in a period, for a breach
notification (CNIL within 72 hours, GDPR art. 33) and for informing the patients (art. 34).

It runs as the operator (``access.impact.operator_actor``): the whole group, recorded in the
trail under the operating-system user like the other operator commands. The list of
patients goes to a CSV file created for the occasion (mode 0600: it names patients), or to
standard output with ``--csv -`` (the summary then goes to standard error)."""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from hygie.errors import ValidationError
from hygie.kit.time import PARIS

if TYPE_CHECKING:
    from rich.console import Console

    from hygie.access.impact import ExposedPatient, ImpactReport, ImpactSummary, Progress

incident_app = typer.Typer(help="Responding to a security incident.", no_args_is_help=True)

CSV_COLUMNS = (
    "patient_id", "birth_name", "used_name", "first_name", "birth_date", "establishments",
    "level", "categories", "first_access", "last_access", "accesses", "channels",
)  # fmt: skip
TIME_HELP = (
    "ISO 8601 date or date and time; without an offset, Paris time (the clinic's clock). "
    "A date alone covers the whole day."
)


@incident_app.command("impact")
def impact_command(
    account: Annotated[str, typer.Option("--account", help="Login name of the account.")],
    since: Annotated[str, typer.Option("--since", help=f"From this time, included. {TIME_HELP}")],
    until: Annotated[
        str | None,
        typer.Option("--until", help=f"Up to this time, excluded (default: now). {TIME_HELP}"),
    ] = None,
    csv_path: Annotated[
        str | None,
        typer.Option(
            "--csv",
            help="Where to write the patients (a new file; '-': standard output, the summary "
            "then goes to standard error). Default: ./incident-ACCOUNT-UTCSTAMP.csv",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """List every patient the account received in the period (identity lines of searches
    and lists, charts, resources, exports, writes), with the data categories and the level,
    and print the summary a breach notification asks for. Only accesses the gate allowed
    count: refused, contained or failed ones returned nothing."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        now = datetime.now(UTC)
        start = parse_time(since, option="--since")
        end = parse_time(until, option="--until", end_of_day=True) if until is not None else None
        if end is not None and start >= end:
            raise ValidationError("must be after --since", field="--until")
        if end is None and start >= now:
            raise ValidationError("is in the future", field="--since")
        to_stdout = csv_path == "-"
        path = None if to_stdout else _csv_target(csv_path, account=account, now=now)
        report = _run_report(account=account, since=start, until=end, now=now)
        if path is None:
            write_csv(sys.stdout, report.patients)
        else:
            _write_file(path, report.patients)
        _print_summary(report.summary, csv_target=str(path or "-"), as_json=as_json,
                       to_stderr=to_stdout)  # fmt: skip

    run()


def parse_time(value: str, *, option: str, end_of_day: bool = False) -> datetime:
    """``value`` in UTC: an ISO 8601 date (its first instant; the next day's with
    ``end_of_day``) or date and time, in Paris time unless it carries its offset."""
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        day += timedelta(days=1) if end_of_day else timedelta(0)
        return datetime.combine(day, time(0), tzinfo=PARIS).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{value!r} is not an ISO 8601 date or time (e.g. 2026-11-02 or 2026-11-02T08:30)",
            field=option,
        ) from None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment.astimezone(UTC)


def _csv_target(csv_path: str | None, *, account: str, now: datetime) -> Path:
    """The file the patients go to, checked before the report runs (it is never
    overwritten, and its folder must exist)."""
    if csv_path is None:
        slug = re.sub(r"[^a-z0-9._-]", "_", account.strip().lower())[:64] or "account"
        path = Path(f"incident-{slug}-{now:%Y%m%dT%H%M%SZ}.csv")
    else:
        path = Path(csv_path)
    if path.exists():
        raise ValidationError(f"{path} already exists; not overwritten", field="--csv")
    if not path.parent.is_dir():
        raise ValidationError(f"no folder {path.parent}", field="--csv")
    return path


def _run_report(
    *, account: str, since: datetime, until: datetime | None, now: datetime
) -> ImpactReport:
    from hygie.access.impact import exposure_report, operator_actor
    from hygie.cli.main import _open
    from hygie.config import Settings

    db = _open(Settings.from_env())
    try:
        with _progress() as progress:
            return exposure_report(
                db, operator_actor(), username=account, since=since, until=until, now=now,
                progress=progress,
            )  # fmt: skip
    finally:
        db.dispose()


@contextmanager
def _progress() -> Iterator[Progress]:
    """A spinner on standard error while events are read and identities loaded (it
    disappears once done, and never mixes with the CSV on standard output)."""
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

    from hygie.cli.main import err

    labels = {"events": "accès lus", "patients": "identités chargées"}
    columns = (SpinnerColumn(), TextColumn("{task.completed:,} {task.description}"))
    with Bar(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(stage: str, done: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=None)
            bar.advance(tasks[stage], done)

        yield advance


def csv_row(patient: ExposedPatient) -> list[str]:
    """One line of the CSV (columns ``CSV_COLUMNS``): lists joined with ';', times in UTC.
    Names hold letters only (``kit.text.clean_name``): no cell can start a spreadsheet
    formula."""
    files = ";".join(f"{f.establishment_id}:{f.ipp}" for f in patient.files)
    return [
        str(patient.patient_id), patient.birth_name or "", patient.used_name or "",
        patient.first_name or "", patient.birth_date.isoformat() if patient.birth_date else "",
        files, patient.level, ";".join(patient.categories), _iso(patient.first_access),
        _iso(patient.last_access), str(patient.accesses), ";".join(patient.channels),
    ]  # fmt: skip


def write_csv(stream: IO[str], patients: list[ExposedPatient]) -> None:
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(p) for p in patients)


def _write_file(path: Path, patients: list[ExposedPatient]) -> None:
    """A new file only its owner reads: it names patients."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            write_csv(stream, patients)
    except OSError as exc:
        raise ValidationError(f"cannot write {path}: {exc.strerror}", field="--csv") from None


def _iso(at: datetime | None) -> str:
    return at.astimezone(UTC).isoformat() if at is not None else ""


def _paris(at: datetime) -> str:
    return at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")


def summary_json(summary: ImpactSummary, *, csv_target: str) -> dict[str, Any]:
    """The summary as plain JSON values (times in ISO 8601 UTC)."""
    return {
        "account": summary.account,
        "since": _iso(summary.since),
        "until": _iso(summary.until),
        "patients": summary.patients,
        "patients_by_level": summary.patients_by_level,
        "patients_by_category": summary.patients_by_category,
        "events": summary.events,
        "channels": summary.events_by_channel,
        "addresses": list(summary.addresses),
        "sessions": list(summary.sessions),
        "tokens": list(summary.tokens),
        "first_access": _iso(summary.first_access) or None,
        "last_access": _iso(summary.last_access) or None,
        "establishments": (
            list(summary.establishments) if summary.establishments is not None else "group"
        ),
        "csv": csv_target,
    }


def summary_lines(summary: ImpactSummary, *, csv_target: str) -> list[str]:
    """The summary in French, as it goes into the notification."""
    s = summary
    counts = s.patients_by_level
    lines = [
        f"Compte : {s.account}",
        f"Période : du {_paris(s.since)} au {_paris(s.until)} (heure de Paris), "
        f"soit {_iso(s.since)} → {_iso(s.until)} (UTC), fin exclue",
        f"Patients exposés : {s.patients} — dossier (record) : {counts.get('record', 0)}, "
        f"identité en liste seulement (summary) : {counts.get('summary', 0)}",
        f"Accès comptés : {s.events} (accès autorisés ; refus, confinements et échecs exclus)",
    ]
    if s.first_access is not None and s.last_access is not None:
        lines.append(
            f"Premier accès : {_paris(s.first_access)}, dernier : {_paris(s.last_access)} "
            "(heure de Paris)"
        )
    lines += [
        "Catégories (patients) : " + _counts(s.patients_by_category),
        "Canaux (accès) : " + _counts(s.events_by_channel),
        f"Adresses IP : {_some(s.addresses)}",
        f"Sessions : {_some(s.sessions)} ; jetons d'API : {_some(s.tokens)}",
        f"Liste des patients (CSV) : {'sortie standard' if csv_target == '-' else csv_target}",
    ]
    if s.patients:
        lines.append(
            "Rappel : notifier la violation à la CNIL dans les 72 heures après en avoir pris "
            "connaissance (RGPD art. 33) ; informer sans tarder les patients concernés si le "
            "risque pour eux est élevé (art. 34)."
        )
    else:
        lines.append(
            "Aucun patient exposé sur la période. Rappel : toute violation se consigne au "
            "registre des violations (RGPD art. 33.5) ; la CNIL se notifie dans les 72 heures "
            "si elle présente un risque."
        )
    return lines


def _counts(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in values.items()) or "aucune"


def _some(values: tuple[object, ...], shown: int = 20) -> str:
    """How many, and the first ``shown`` of them (the JSON summary lists them all)."""
    if not values:
        return "0"
    more = ", …" if len(values) > shown else ""
    return f"{len(values)} ({', '.join(str(v) for v in values[:shown])}{more})"


def _print_summary(
    summary: ImpactSummary, *, csv_target: str, as_json: bool, to_stderr: bool
) -> None:
    if as_json:
        text = json.dumps(summary_json(summary, csv_target=csv_target), ensure_ascii=False)
        typer.echo(text, err=to_stderr)
        return
    from hygie.cli.main import err, out

    console: Console = err if to_stderr else out
    for line in summary_lines(summary, csv_target=csv_target):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
