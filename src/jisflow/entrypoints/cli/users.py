"""``jisflow users ...``: create users and API keys (secrets are shown once, stored hashed)."""

from __future__ import annotations

import typer
from rich.table import Table

from jisflow.domain.auth import Role, Scope
from jisflow.entrypoints.cli.common import DbOption, app_for, console, reports_errors
from jisflow.services import auth

app = typer.Typer(help="Users and API keys of the HTTP API.", no_args_is_help=True)


@app.command("create")
@reports_errors
def create(
    name: str = typer.Argument(...),
    role: Role = typer.Option(..., "--role"),
    supplier: str = typer.Option(None, "--supplier", help="Supplier code (role supplier)."),
    carrier: str = typer.Option(None, "--carrier", help="Carrier code (role carrier)."),
    db: str = DbOption,
) -> None:
    """Create a user with one role; a supplier or carrier user is bound to its partner."""
    jf = app_for(db)
    jf.uow.actor = "cli"
    user = auth.create_user(jf.uow, jf.clock, name, role, supplier or carrier)
    console.print(f"user [bold]{user.name}[/] ({user.role.value}{', ' + user.partner if user.partner else ''}) created")


@app.command("key")
@reports_errors
def key(
    name: str = typer.Argument(..., help="The user the key belongs to."),
    scope: list[Scope] = typer.Option([], "--scope", help="Repeatable; default: every scope of the user's role."),
    db: str = DbOption,
) -> None:
    """Issue an API key; the token is printed once and only its hash is kept."""
    jf = app_for(db)
    jf.uow.actor = "cli"
    issued = auth.issue_key(jf.uow, jf.clock, name, scope or None)
    console.print(f"key {issued.key.key_id} for {name}: {', '.join(sorted(s.value for s in issued.key.scopes))}")
    print(issued.token)


@app.command("revoke")
@reports_errors
def revoke(key_id: str = typer.Argument(...), db: str = DbOption) -> None:
    """Revoke an API key."""
    jf = app_for(db)
    jf.uow.actor = "cli"
    auth.revoke_key(jf.uow, jf.clock, key_id)
    console.print(f"key {key_id} revoked")


@app.command("list")
@reports_errors
def list_users(db: str = DbOption) -> None:
    """Users with their role, partner and keys."""
    jf = app_for(db)
    with jf.uow:
        users = jf.uow.accounts.users()
        keys = {u.name: jf.uow.accounts.keys_of(u.name) for u in users}
    table = Table("user", "role", "partner", "keys")
    for u in users:
        live = [k.key_id for k in keys[u.name] if k.revoked_at is None]
        table.add_row(u.name, u.role.value, u.partner or "", ", ".join(live))
    console.print(table)
