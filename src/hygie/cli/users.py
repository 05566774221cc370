"""``hygie user`` and ``hygie token``: accounts and API tokens.

Secrets (a generated password, the TOTP provisioning URI, recovery codes, a token) are
printed once on standard output and never stored in clear; everything else goes to
standard error, so that ``TOKEN=$(hygie token issue NAME)`` captures the token alone.
Each command is one unit of work: a refused input leaves nothing behind.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from hygie.errors import NotFoundError, ValidationError

user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (container without a passwd entry)
        return "unknown"


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    line = sys.stdin.readline()
    if not line:
        raise ValidationError("nothing on standard input", field="password")
    return line.rstrip("\r\n")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="Role in each establishment.")],
    establishment: Annotated[
        list[str], typer.Option(help="FINESS of an establishment (repeat for several).")
    ],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    rpps: Annotated[
        str | None, typer.Option(help="RPPS number: creates the professional identity.")
    ] = None,
    family_name: Annotated[str | None, typer.Option(help="Professional's family name.")] = None,
    given_name: Annotated[str | None, typer.Option(help="Professional's given name.")] = None,
    system: Annotated[
        bool,
        typer.Option(
            "--system",
            help="A system account for a feed (role interface): no password, no second factor.",
        ),
    ] = False,
) -> None:
    """Create an account with a habilitation per establishment and print its TOTP
    provisioning URI and recovery codes (a --system account has neither)."""
    if system or role == "interface":
        _run_system_add(
            username=username,
            role=role,
            establishment=establishment,
            system=system,
            refused_options=[
                flag
                for flag, given in (
                    ("--password-stdin", password_stdin),
                    ("--rpps", rpps is not None),
                    ("--family-name", family_name is not None),
                    ("--given-name", given_name is not None),
                )
                if given
            ],
            display_name=display_name,
        )
        return
    _run_user_add(
        username=username,
        role=role,
        establishment=establishment,
        password_stdin=password_stdin,
        display_name=display_name,
        rpps=rpps,
        family_name=family_name,
        given_name=given_name,
    )


def _run_user_add(
    *,
    username: str,
    role: str,
    establishment: list[str],
    password_stdin: bool,
    display_name: str | None,
    rpps: str | None,
    family_name: str | None,
    given_name: str | None,
) -> None:
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.auth.service import create_account
        from hygie.cli.main import _load_or_fail, _open, err
        from hygie.config import Settings

        password = _read_password() if password_stdin else None
        settings = Settings.from_env()
        db = _open(settings)
        _load_or_fail(settings)
        with db.transaction() as session:
            account = create_account(
                session,
                username=username,
                role=role,
                establishments=establishment,
                password=password,
                now=datetime.now(UTC),
                how="cli",
                display_name=display_name,
                rpps=rpps,
                family_name=family_name,
                given_name=given_name,
                operator=_operator(),
            )
        err.print(
            f"created account {account.user.username} ({role} in "
            f"{len(set(establishment))} establishment(s)); it signs in once its holder has "
            "entered a first code from the authenticator",
            highlight=False,
        )
        if account.generated_password is not None:
            typer.echo(f"password: {account.generated_password}")
        typer.echo(f"TOTP provisioning URI: {account.enrolment.uri}")
        typer.echo("recovery codes (each works once; keep them offline):")
        for code in account.enrolment.recovery_codes:
            typer.echo(f"  {code}")

    run()


def _run_system_add(
    *,
    username: str,
    role: str,
    establishment: list[str],
    system: bool,
    refused_options: list[str],
    display_name: str | None,
) -> None:
    """A system account (``users.kind = system``): no credential at all, so it can never
    sign in; it acts only through the feeds that name it (``hygie hl7 --account``)."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.auth.trail import note
        from hygie.cli.main import _open, err
        from hygie.config import Settings
        from hygie.kit.identifiers import parse_finess
        from hygie.kit.time import local_date
        from hygie.models import AccountKind, Role
        from hygie.staff import service as staff
        from hygie.storage import organisation as org_store

        if not system:
            raise ValidationError(
                "the interface role is for system accounts: add --system", field="role"
            )
        if role != Role.INTERFACE.value:
            raise ValidationError(
                f"a system account holds the interface role only, not {role!r} "
                "(people get human accounts: leave out --system)",
                field="role",
            )
        if refused_options:
            raise ValidationError(
                f"a system account has no password and no professional identity: "
                f"leave out {', '.join(refused_options)}",
                field="system",
            )
        if not establishment:
            raise ValidationError("at least one establishment (FINESS)", field="establishment")
        db = _open(Settings.from_env())
        now = datetime.now(UTC)
        name = username.strip().lower()
        with db.transaction() as session:
            establishment_ids: list[int] = []
            for raw in establishment:
                finess = parse_finess(raw, field="establishment")
                found = org_store.establishment_by_finess(session, finess)
                if found is None:
                    raise NotFoundError(
                        f"no establishment with FINESS {finess}", field="establishment"
                    )
                if found.id not in establishment_ids:
                    establishment_ids.append(found.id)
            user = staff.create_user(
                session, username=name, display_name=display_name or name, kind=AccountKind.SYSTEM
            )
            for establishment_id in establishment_ids:
                staff.grant_habilitation(
                    session,
                    user_id=user.id,
                    establishment_id=establishment_id,
                    role=role,
                    valid_from=local_date(now),
                )
            note(
                session, action="account.create", outcome="allowed", how="cli", now=now,
                user=user, details={"role": role, "kind": "system",
                                    "establishment_ids": establishment_ids,
                                    "operator": _operator()},
            )  # fmt: skip
        err.print(
            f"created system account {user.username} ({role} in {len(establishment_ids)} "
            f"establishment(s)); it has no password and never signs in: feeds name it with "
            f"--account {user.username} or HYGIE_HL7_ACCOUNT",
            highlight=False,
        )

    run()


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Deactivate an account and revoke its sessions and API tokens."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.auth.service import disable_account
        from hygie.cli.main import _open, out
        from hygie.config import Settings

        db = _open(Settings.from_env())
        with db.transaction() as session:
            done = disable_account(
                session,
                username=username,
                now=datetime.now(UTC),
                how="cli",
                operator=_operator(),
            )
        state = "disabled" if done.was_active else "was already disabled"
        out.print(
            f"account {done.user.username} {state}; revoked {done.sessions_revoked} "
            f"session(s) and {done.tokens_revoked} token(s)",
            highlight=False,
        )

    run()


@user_app.command("totp")
def user_totp(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """The current TOTP code of a demo account (refused outside a `hygie demo` database)."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.access import demo
        from hygie.cli.main import _load_or_fail, _open, err
        from hygie.config import Settings

        settings = Settings.from_env()
        db = _open(settings)
        _load_or_fail(settings)  # the TOTP secrets are encrypted with the key file
        code, left = demo.current_code(db, username, now=datetime.now(UTC))
        print(code)
        err.print(f"valid for {left} more seconds (and the next 30)", highlight=False)

    run()


@token_app.command("issue")
def token_issue(
    username: Annotated[str, typer.Argument(help="Account the token acts for.")],
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds (60 to 86400).")] = 3600,
    scope: Annotated[str, typer.Option(help="read or write.")] = "read",
) -> None:
    """Print a new API bearer token (shown once, stored hashed, audited)."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.auth.tokens import check_scope, check_ttl, issue_token
        from hygie.auth.trail import note
        from hygie.cli.main import _open, err
        from hygie.config import Settings
        from hygie.errors import HygieError
        from hygie.storage import staff as staff_store

        lifetime = check_ttl(ttl)
        check_scope(scope)
        db = _open(Settings.from_env())
        name = username.strip().lower()
        now = datetime.now(UTC)
        try:
            with db.transaction() as session:
                user = staff_store.user_by_username(session, name)
                if user is None:
                    raise NotFoundError(f"no account named {name}", field="username")
                issued = issue_token(
                    session, user=user, scope=scope, ttl=lifetime, now=now, how="cli",
                    details={"operator": _operator()},
                )  # fmt: skip
        except HygieError as exc:
            # A refused token (no such or disabled account) is a refused access: recorded.
            with db.transaction() as session:
                note(session, action="token.issue", outcome="denied", how="cli", now=now,
                     username=name[:64], reason=exc.message,
                     details={"operator": _operator(), "scope": scope})  # fmt: skip
            raise
        err.print(
            f"{scope} token for {user.username}, expires {issued.row.expires_at:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )
        typer.echo(issued.secret)

    run()
