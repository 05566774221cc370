"""``hygie hl7``: the HL7 v2.5 ADT feed (A01, A03, A04, A08, A40), from files or MLLP.

The feed runs as a system account holding the interface role (``hygie user add NAME
--role interface --establishment FINESS --system``), named by ``--account`` or
``HYGIE_HL7_ACCOUNT``. Each message goes through the gate in a transaction of its own and
is answered with an acknowledgement: AA (applied), AE (refused by the rules or the gate)
or AR (rejected: unreadable, truncated, unsupported, a required field missing).

``import`` prints the acknowledgements on standard output (segments one per line, a blank
line between messages) and one line per message on standard error; it exits 1 if any
message was refused. ``listen`` answers over MLLP until interrupted.
"""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from hygie.errors import ValidationError

if TYPE_CHECKING:
    from hygie.access.feed import FeedAccount
    from hygie.db import Database

hl7_app = typer.Typer(help="HL7 v2.5 ADT feed (files and MLLP listener).", no_args_is_help=True)

ACCOUNT_ENV = "HYGIE_HL7_ACCOUNT"
MAX_FILE = 64 * 1024 * 1024
AccountOption = Annotated[
    str | None,
    typer.Option("--account", help=f"The feed's system account (default: ${ACCOUNT_ENV})."),
]
EstablishmentOption = Annotated[
    str | None,
    typer.Option(
        "--establishment",
        help="FINESS the messages concern, when the account has several (else the "
        "message's MSH-6 or PV1-3 facility).",
    ),
]


def _account_name(account: str | None) -> str:
    name = (account or os.environ.get(ACCOUNT_ENV, "")).strip()
    if not name:
        raise ValidationError(
            f"no feed account: pass --account NAME or set {ACCOUNT_ENV} (a system account "
            "created with `hygie user add NAME --role interface --establishment FINESS "
            "--system`)",
            field="account",
        )
    return name


def split_messages(text: str) -> list[str]:
    """The messages of a file: each begins with an MSH segment; batch envelopes (FHS, BHS,
    BTS, FTS) and MLLP framing characters are dropped."""
    text = text.replace("\x0b", "\n").replace("\x1c", "\n")
    messages: list[list[str]] = []
    for line in re.split(r"\r\n|\r|\n", text):
        if not line.strip() or line[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if line.startswith("MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return ["\r".join(lines) for lines in messages]


def _prepare(account: str | None, establishment: str | None) -> tuple[Database, FeedAccount]:
    """The database (keys checked) and the feed's account, or a clear error."""
    from hygie.access.feed import feed_account
    from hygie.cli.main import _load_or_fail, _open
    from hygie.config import Settings

    name = _account_name(account)
    settings = Settings.from_env()
    db = _open(settings)
    _load_or_fail(settings)
    return db, feed_account(db, username=name, establishment=establishment)


@hl7_app.command("import")
def hl7_import(
    files: Annotated[list[Path], typer.Argument(help="Files of HL7 messages (ER7).")],
    account: AccountOption = None,
    establishment: EstablishmentOption = None,
) -> None:
    """Apply the ADT messages of FILE... in order, one transaction each, and print their
    acknowledgements."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.cli.main import err
        from hygie.hl7.feed import handle
        from hygie.hl7.mllp import decode

        texts: list[tuple[Path, str]] = []
        for path in files:
            try:
                if path.stat().st_size > MAX_FILE:
                    raise ValidationError(f"{path} is larger than 64 MiB", field="file")
                texts.append((path, decode(path.read_bytes())))
            except OSError as exc:
                raise ValidationError(f"cannot read {path}: {exc.strerror}", field="file") from None
        db, feed = _prepare(account, establishment)
        counts = {"AA": 0, "AE": 0, "AR": 0}
        try:
            for path, text in texts:
                messages = split_messages(text)
                if not messages:
                    err.print(f"{path}: no HL7 message", highlight=False)
                    counts["AR"] += 1
                for n, message in enumerate(messages, start=1):
                    outcome = handle(db, feed, message)
                    counts[outcome.code] += 1
                    typer.echo(outcome.ack.replace("\r", "\n") + "\n")
                    err.print(
                        f"{path} #{n} ({outcome.control_id or 'no control id'}): "
                        f"{outcome.code} {outcome.text}",
                        highlight=False,
                        markup=False,
                    )
        finally:
            db.dispose()
        total = sum(counts.values())
        err.print(
            f"{total} message(s): {counts['AA']} accepted, {counts['AE']} in error (AE), "
            f"{counts['AR']} rejected (AR)",
            highlight=False,
        )
        if counts["AA"] != total:
            raise typer.Exit(1)

    run()


@hl7_app.command("listen")
def hl7_listen(
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free one).")],
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    account: AccountOption = None,
    establishment: EstablishmentOption = None,
    idle_timeout: Annotated[
        float, typer.Option(min=1, max=86400, help="Seconds before an idle connection closes.")
    ] = 300.0,
) -> None:
    """Answer ADT messages over MLLP (one acknowledgement per message) until interrupted."""
    from hygie.cli.main import clear_errors

    @clear_errors
    def run() -> None:
        from hygie.cli.main import err
        from hygie.hl7.feed import handle
        from hygie.hl7.mllp import MllpServer

        db, feed = _prepare(account, establishment)

        def on_message(text: str) -> str:
            outcome = handle(db, feed, text)
            err.print(
                f"{outcome.control_id or 'no control id'}: {outcome.code} {outcome.text}",
                highlight=False,
                markup=False,
            )
            return outcome.ack

        try:
            server = MllpServer(host, port, on_message, idle_timeout=idle_timeout)
        except OSError as exc:
            db.dispose()
            raise ValidationError(
                f"cannot listen on {host}:{port}: {exc.strerror}", field="port"
            ) from None

        def stop(_signum: int, _frame: FrameType | None) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        err.print(
            f"HL7 MLLP listener on {host}:{server.port} as {feed.actor.username}",
            highlight=False,
        )
        sys.stderr.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            err.print("stopped", highlight=False)
        finally:
            server.server_close()
            db.dispose()

    run()
