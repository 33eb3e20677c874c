"""The ``orderly`` command: run the API and manage organizations and tokens."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.core.db import migrate, session_factory
from orderly.core.errors import OrderlyError

app = typer.Typer(help="Orderly: unified order management.", no_args_is_help=True)
tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(tokens, name="tokens")
err = Console(stderr=True)


@contextmanager
def database() -> Iterator[Session]:
    """A migrated database and one transaction, committed if the command succeeds."""
    migrate()
    with session_factory()() as session:
        try:
            yield session
            session.commit()
        except OrderlyError as exc:
            session.rollback()
            details = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
            err.print(f"[red]{exc.message}[/red]" + (f" ({details})" if details else ""))
            raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Run the HTTP API (migrating the database first)."""
    migrate()
    uvicorn.run(
        "orderly.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
    )


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending database migrations."""
    migrate()
    err.print("Database is up to date.")


@tokens.command("create")
def create_token(
    org: Annotated[str, typer.Option(help="Organization slug; created when new.")],
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
    country: Annotated[
        str, typer.Option(help="Default phone region for a new organization.")
    ] = "SA",
) -> None:
    """Mint a bearer token (printed alone on the last line)."""
    with database() as session:
        organization = auth.get_or_create_organization(session, org, default_country=country)
        minted = auth.mint_token(session, organization, name)
    err.print(f"Token {minted.token.id} for {organization.slug} ({organization.id}):")
    print(minted.secret)


@tokens.command("list")
def list_tokens(org: Annotated[str, typer.Option(help="Organization slug.")]) -> None:
    """List an organization's tokens (never their secrets)."""
    with database() as session:
        organization = auth.require_organization(session, org)
        rows = auth.list_tokens(session, organization)
    table = Table("id", "name", "created", "revoked")
    for token in rows:
        revoked = token.revoked_at.isoformat() if token.revoked_at else ""
        table.add_row(token.id, token.name, token.created.isoformat(), revoked)
    Console().print(table)


@tokens.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id (tok_…).")]) -> None:
    """Revoke a token; requests bearing it are refused from then on."""
    with database() as session:
        token = auth.revoke_token(session, token_id)
    err.print(f"Revoked {token.id}.")


if __name__ == "__main__":
    app()
