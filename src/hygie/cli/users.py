"""``hygie user`` and ``hygie token``: accounts and API tokens."""

from __future__ import annotations

import typer

user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
