"""The ``orderly`` command: run the API and manage organizations and tokens."""

import asyncio
import errno
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, BinaryIO, NoReturn

import typer
import uvicorn
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from typer.core import TyperOption

from orderly import __version__
from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role
from orderly.core import crypto, telemetry
from orderly.core.actor import current_actor
from orderly.core.config import get_settings
from orderly.core.db import Database, analyze, migrate, sqlalchemy_url, transaction, utc_now
from orderly.core.errors import OrderlyError, clean_message, validation_details
from orderly.core.protocol import server_options
from orderly.events import service as events_service
from orderly.events.schemas import parse_types
from orderly.export import importer
from orderly.export import service as export
from orderly.export.columns import Shape
from orderly.export.formats import Format
from orderly.export.schemas import ExportQuery
from orderly.idempotency import service as idempotency
from orderly.integrations import service as integrations_service
from orderly.integrations import sync as integrations_sync
from orderly.integrations.channels.base import Walk, iso
from orderly.integrations.channels.client import new_http
from orderly.integrations.models import Platform, RunKind, SyncRunRow
from orderly.integrations.schemas import ConnectionCreate, CredentialsSet
from orderly.webhooks import service as webhooks_service


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag takes no value: its help shows no type (typer 0.29 labels every one ``<bool>``)."""
    if self.is_flag:
        return None
    return _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]

# Errors a user can fix are one line (see ``run``), not a traceback.
app = typer.Typer(
    help="Orderly: unified order management.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="People who sign in to the dashboard.", no_args_is_help=True)
app.add_typer(users_app, name="users")
secrets_app = typer.Typer(help="The keys that encrypt webhook secrets.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
tokens = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(tokens, name="tokens")
integrations = typer.Typer(help="Connect the platforms that send orders.", no_args_is_help=True)
app.add_typer(integrations, name="integrations")
events_app = typer.Typer(help="The events feed: every change of an order.", no_args_is_help=True)
app.add_typer(events_app, name="events")
webhooks_app = typer.Typer(help="Endpoints that are sent the events.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")
err = Console(stderr=True, soft_wrap=True)  # messages never broken at 80 columns


def _print_version(asked: bool) -> None:
    if asked:
        print(f"orderly {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Orderly: unified order management."""
    current_actor.set("cli")  # changes made from the command line, in the audit trail


def _sqlite_file() -> Path | None:
    url = make_url(sqlalchemy_url(get_settings().database_url))
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "").resolve()


def _note_a_new_database() -> None:
    """Say so when a command is about to create a SQLite file: a relative
    ``ORDERLY_DATABASE_URL`` (the default) names a different file in every folder, and a
    command run from the wrong one would otherwise work on an empty database of its own."""
    path = _sqlite_file()
    if path is not None and not path.exists():
        err.print(f"Creating a new database at {path} (ORDERLY_DATABASE_URL).")


@contextmanager
def database(*, write: bool = True) -> Iterator[Session]:
    """A migrated database and one transaction, committed if the command succeeds. A reading
    command (``write=False``) leaves SQLite's write lock to the server's writers."""
    _note_a_new_database()
    migrate()
    try:
        with transaction(write=write) as session:
            yield session
    except OrderlyError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.details.items())
        err.print(f"[red]{exc.message}[/red]" + (f" ({details})" if details else ""))
        raise typer.Exit(1) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes; default: one per core.", min=1)
    ] = None,
) -> None:
    """Run the HTTP API (migrating the database and refreshing its statistics first)."""
    _refuse_a_taken_port(host, port)  # before anything is made or migrated
    _note_a_new_database()
    path = _sqlite_file()
    where = str(path) if path else make_url(get_settings().database_url).render_as_string()
    err.print(f"Orders are kept in {where}.")
    if not migrate():  # a migration refreshes the statistics itself
        analyze()
    metrics_folder = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The workers keep their metrics in one folder, so that /metrics sums them all; it goes
        # when serve stops (and a killed serve's is removed by the next one).
        telemetry.remove_abandoned_metrics_folders()
        metrics_folder = telemetry.new_metrics_folder()
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_folder)
        # uvicorn raises the signal that stopped it again once it has shut down; with the
        # default handler that would end the process before the folder is removed.
        for stop in (signal.SIGTERM, signal.SIGINT):
            signal.signal(stop, _exit_on)
    try:
        uvicorn.run(
            "orderly.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers or os.cpu_count() or 1,
            access_log=False,
            # A worker busy importing on a loaded machine does not answer the supervisor's
            # pings; uvicorn's own 5 s killed such workers in a loop.
            timeout_worker_healthcheck=get_settings().worker_healthcheck_timeout,
            **server_options(),
        )
    finally:
        if metrics_folder is not None:
            shutil.rmtree(metrics_folder, ignore_errors=True)


def _exit_on(signum: int, _: Any) -> None:
    raise SystemExit(128 + signum)


def _refuse_a_taken_port(host: str, port: int) -> None:
    """One line naming the address, rather than uvicorn's bare ``[Errno 98]`` and exit 3."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            err.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror}.[/red]")
            if exc.errno == errno.EADDRINUSE:
                err.print("Another program uses that port: stop it, or choose one with --port.")
            raise typer.Exit(1) from None


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


AsJSON = Annotated[bool, typer.Option("--json", help="One JSON array, for scripts.")]


def _print_rows(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], as_json: bool) -> None:
    """A table on a terminal; tab-separated lines when piped (nothing cut to the screen's
    width); a JSON array of objects with ``--json``."""
    if as_json:
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], indent=2))
    elif sys.stdout.isatty():
        table = Table(*columns)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
    else:
        for row in rows:
            print("\t".join(row))


@tokens.command("list")
def list_tokens(
    org: Annotated[str, typer.Option(help="Organization slug.")], as_json: AsJSON = False
) -> None:
    """List an organization's tokens (never their secrets)."""
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        rows = auth.list_tokens(session, organization)
    shown = [
        (
            token.id,
            token.name,
            token.created.isoformat(),
            token.revoked_at.isoformat() if token.revoked_at else "",
        )
        for token in rows
    ]
    _print_rows(("id", "name", "created", "revoked"), shown, as_json)


@tokens.command("revoke")
def revoke_token(token_id: Annotated[str, typer.Argument(help="The token's id (tok_…).")]) -> None:
    """Revoke a token; requests bearing it are refused from then on."""
    with database() as session:
        token = auth.revoke_token(session, token_id)
    err.print(f"Revoked {token.id}.")


_LOCAL_URL = "http://127.0.0.1:8000"  # where `orderly serve` listens by default


def _report_invalid(exc: ValidationError) -> NoReturn:
    for name, message in validation_details(exc.errors()).items():
        err.print(f"[red]{name}[/red]: {message}")
    raise typer.Exit(2)


@users_app.command("create")
def create_user(
    org: Annotated[str, typer.Option(help="Organization slug; created when new.")],
    email: Annotated[str, typer.Option(help="The person's e-mail, their sign-in name.")],
    role: Annotated[Role, typer.Option(help="owner, staff or viewer.")] = Role.STAFF,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Add a person; prints a generated password alone on the last line (unless read)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else users.new_password()
    with database() as session:
        organization = auth.get_or_create_organization(session, org)
        user = users.create_user(session, organization, email, role, password)
    err.print(f"{user.email} can sign in to {organization.slug} as {user.role}.")
    if not password_stdin:
        print(password)


@secrets_app.command("new-key")
def new_secret_key() -> None:
    """Print a new key for ORDERLY_SECRET_KEY (alone on the line)."""
    print(crypto.new_key())


@secrets_app.command("rotate")
def rotate_secrets() -> None:
    """Encrypt every webhook secret again under the newest key.

    With ORDERLY_SECRET_KEY: put the new key first (``new,old``), restart, run this, then drop
    the old key. With the key file: a new key is made and the old one retired."""
    url = get_settings().database_url
    migrate()
    if crypto.keys_from_setting():
        with database() as session:
            count = _reseal(session, crypto.secret_box(url))
        err.print(f"Encrypted {count} secrets under the first key of ORDERLY_SECRET_KEY.")
        err.print("The keys after it can be removed from ORDERLY_SECRET_KEY now.")
        return
    path = crypto.key_file(url)
    old = crypto.read_keys(url)
    # Both keys while secrets are re-encrypted: every process can open them throughout.
    crypto.write_key_file(path, [crypto.new_key().encode(), *old])
    crypto.secret_box.cache_clear()
    with database() as session:
        count = _reseal(session, crypto.secret_box(url))
    crypto.write_key_file(path, crypto.read_keys(url)[:1])
    err.print(f"Encrypted {count} secrets under a new key in {path}; the old key is gone.")


def _reseal(session: Session, box: crypto.SecretBox) -> int:
    """Every stored secret (platforms' and webhook endpoints') under the newest key."""
    return integrations_service.reseal_secrets(session, box) + webhooks_service.reseal_secrets(
        session, box
    )


@app.command()
def prune() -> None:
    """Apply the retention settings: old webhook deliveries, events and their finished
    outbound deliveries, idempotency keys and expired dashboard sessions (run daily)."""
    now = utc_now()
    days = get_settings().event_retention_days
    with database() as session:
        inbox = integrations_service.prune_inbox(session, now)
        outbound = webhooks_service.prune(session, now, days)
        events = events_service.prune(session, now, days)
        keys = idempotency.prune(session, now)
        sessions = users.prune_sessions(session, now)
    err.print(
        f"Removed {inbox.processed} processed and {inbox.unverified} unverified webhook"
        f" deliveries, {events} events and {outbound} finished outbound deliveries older than"
        f" {days} days, {keys} idempotency keys older than 24 hours, and {sessions} expired"
        " dashboard sessions."
    )


@integrations.command("add")
def add_integration(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    platform: Annotated[Platform, typer.Option(help="The platform sending webhooks.")],
    secret: Annotated[
        str | None, typer.Option(help="The platform's webhook secret; generated when left out.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="A label, such as the store's name.")] = None,
) -> None:
    """Connect a store: prints the webhook URL and the secret to give the platform."""
    try:
        data = ConnectionCreate(platform=platform, secret=secret, name=name)
    except ValidationError as exc:
        _report_invalid(exc)
    with database() as session:
        organization = auth.require_organization(session, org)
        new = integrations_service.create_connection(session, organization, data)
    err.print(f"Connected {platform.value} to {organization.slug} as {new.connection.id}.")
    if not get_settings().public_url:
        err.print("Set ORDERLY_PUBLIC_URL to the address the platform reaches this service at.")
    print(f"webhook_url: {integrations_service.webhook_url(new.connection, _LOCAL_URL)}")
    print(f"secret: {new.secret}")


@integrations.command("list")
def list_integrations(
    org: Annotated[str, typer.Option(help="Organization slug.")], as_json: AsJSON = False
) -> None:
    """List an organization's connections (never their secrets)."""
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        rows = integrations_service.list_connections(session, organization)
    shown = [
        (
            connection.id,
            connection.platform,
            connection.name,
            integrations_service.webhook_url(connection, _LOCAL_URL),
        )
        for connection in rows
    ]
    _print_rows(("id", "platform", "name", "webhook_url"), shown, as_json)


ConnectionArgument = Annotated[str, typer.Argument(help="The connection's id (con_…).")]


def _organization_of_connection(session: Session, connection_id: str) -> Any:
    """The organization a connection id names (its id carries the organization's key)."""
    organization = integrations_service.organization_of_connection(session, connection_id)
    if organization is None:
        raise integrations_service.IntegrationNotFound(details={"id": connection_id})
    return organization


@integrations.command("credentials")
def set_integration_credentials(
    connection: ConnectionArgument,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="FIELD=VALUE for each field the platform needs (shopify: shop_domain,"
            " access_token; woocommerce: store_url, consumer_key, consumer_secret; salla:"
            " access_token; zid: manager_token, authorization).",
        ),
    ] = None,
    api_base_url: Annotated[
        str | None, typer.Option(help="Another address for the platform's API.")
    ] = None,
    push_back: Annotated[
        bool, typer.Option("--push-back", help="Tell the platform about changes made here.")
    ] = False,
    interval: Annotated[int, typer.Option(help="Seconds between polls.")] = 600,
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the fields as one JSON object from stdin.")
    ] = False,
) -> None:
    """Set a connection's platform API credentials (sealed; never printed)."""
    given: dict[str, Any] = json.loads(sys.stdin.read()) if from_stdin else {}
    for pair in values or []:
        name, sep, value = pair.partition("=")
        if not sep:
            err.print(f"[red]--set takes FIELD=VALUE, not {pair!r}[/red]")
            raise typer.Exit(2)
        given[name.strip()] = value
    try:
        body = CredentialsSet.model_validate(
            {
                **given,
                "api_base_url": api_base_url or given.get("api_base_url"),
                "push_back": push_back or bool(given.get("push_back")),
                "poll_interval_seconds": interval,
            }
        )
    except ValidationError as exc:
        _report_invalid(exc)
    with database() as session:
        organization = _organization_of_connection(session, connection)
        integrations_sync.set_credentials(session, organization, connection, body)
    err.print(f"Credentials set for {connection}; its first poll is due now.")


def _print_run(run: SyncRunRow | None) -> None:
    if run is None:
        err.print("[red]Another sync of this connection is running; try again later.[/red]")
        raise typer.Exit(1)
    counts = integrations_sync.run_summary(run)
    print(" ".join(f"{name}={value}" for name, value in counts.items()))
    if run.error:
        err.print(f"[red]Stopped early: {run.error}[/red]")
        raise typer.Exit(1)


async def _walk_now(
    connection_id: str, kind: RunKind, progress: integrations_sync.Progress | None = None
) -> SyncRunRow | None:
    database = Database(get_settings().database_url)
    with transaction(write=False) as session:
        organization = _organization_of_connection(session, connection_id)
        target = integrations_sync.target_of(session, organization, connection_id)
    async with new_http() as http:
        return await integrations_sync.walk(database, http, target, kind=kind, progress=progress)


@integrations.command("sync")
def sync_integration(connection: ConnectionArgument) -> None:
    """Run one reconciliation now: read what changed on the platform and print the counts."""
    _note_a_new_database()
    migrate()
    try:
        run = asyncio.run(_walk_now(connection, RunKind.SYNC))
    except OrderlyError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
    _print_run(run)


@integrations.command("backfill")
def backfill_integration(
    connection: ConnectionArgument,
    since: Annotated[
        datetime | None,
        typer.Option(
            help="Take the orders changed since this date; left out, a backfill that was"
            " interrupted goes on from where it stopped.",
            formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
) -> None:
    """Take a platform's history page by page, with a progress bar; resumable."""
    with database() as session:
        organization = _organization_of_connection(session, connection)
        current = integrations_service.get_connection(session, organization, connection)
        under_way = current.backfill_state
        start = since.replace(tzinfo=since.tzinfo or UTC) if since else None
        if start is not None and (under_way is None or under_way.get("since") != iso(start)):
            integrations_sync.start_backfill(session, organization, connection, start)
        elif under_way is None:
            err.print("[red]No backfill to resume: give --since DATE.[/red]")
            raise typer.Exit(2)
        else:
            err.print(f"Resuming the backfill from page {under_way.get('page', 1)}.")
    with _progress(0, "Backfilling") as progress:
        task = progress.add_task("backfill", total=None, rate="")
        started = time.monotonic()

        def show(walk: Walk) -> None:
            elapsed = time.monotonic() - started
            progress.update(
                task, completed=walk.seen, total=walk.total, rate=f"{walk.seen / elapsed:,.0f}/s"
            )

        try:
            run = asyncio.run(_walk_now(connection, RunKind.BACKFILL, show))
        except OrderlyError as exc:
            err.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None
    _print_run(run)


@integrations.command("runs")
def list_integration_runs(connection: ConnectionArgument, as_json: AsJSON = False) -> None:
    """A connection's latest polls, syncs and backfills, newest first."""
    with database(write=False) as session:
        organization = _organization_of_connection(session, connection)
        runs = integrations_sync.list_runs(session, organization, connection)
    shown = [
        (
            run.kind,
            run.started.isoformat(),
            *(str(v) for v in integrations_sync.run_summary(run).values()),
            run.error or "",
        )
        for run in runs
    ]
    columns = ("kind", "started", "seen", "created", "updated", "unchanged", "failed")
    _print_rows((*columns, "requests", "error"), shown, as_json)


_TAIL_POLL_S = 0.5


@events_app.command("tail")
def tail_events(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    after: Annotated[
        int | None,
        typer.Option(
            help="Start after this sequence number (0: the oldest); default: the last 10."
        ),
    ] = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only these types, comma-separated.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Each event's JSON, one per line.")
    ] = False,
    follow: Annotated[bool, typer.Option(help="Keep waiting for new events (Ctrl-C ends).")] = True,
) -> None:
    """Print the organization's events as they commit, oldest first."""

    try:
        types = parse_types(event_type)
    except ValueError as exc:
        err.print(f"[red]--type: {exc}[/red]")
        raise typer.Exit(1) from None
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        if after is None:
            after = max(events_service.last_sequence(session, organization) - 10, 0)
    try:
        while True:
            with transaction(write=False) as session:
                page = events_service.feed(
                    session, organization, after=after, types=types, order_id=None, limit=1000
                )
            for body in page.bodies:
                if as_json:
                    print(body, flush=True)
                else:
                    event = json.loads(body)
                    print(
                        f"{event['sequence']:>8}  {event['occurred_at']}  {event['type']:<26}"
                        f"  {event['order_id']}  {event['actor']}",
                        flush=True,
                    )
            after = int(page.next_cursor)
            if not page.has_next:
                if not follow:
                    return
                time.sleep(_TAIL_POLL_S)
    except KeyboardInterrupt:
        return


@webhooks_app.command("list")
def list_webhooks(
    org: Annotated[str, typer.Option(help="Organization slug.")], as_json: AsJSON = False
) -> None:
    """List the organization's webhook endpoints and their health (never their secrets)."""
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        endpoints = list(webhooks_service.list_endpoints(session, organization))
        health = webhooks_service.health(session, organization, endpoints)
    shown = []
    for endpoint in endpoints:
        h = health[endpoint.id]
        rate = h["success_rate_24h"]
        shown.append(
            (
                endpoint.id,
                endpoint.url,
                ",".join(endpoint.event_types),
                "yes" if endpoint.enabled else f"no ({endpoint.disabled_reason or 'by hand'})",
                str(h["pending"]),
                "-" if rate is None else f"{rate:.0%}",
                h["last_error"] or "",
            )
        )
    columns = ("id", "url", "events", "enabled", "pending", "success_24h", "last_error")
    _print_rows(columns, shown, as_json)


@webhooks_app.command("test")
def test_webhook(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (whe_…).")],
    org: Annotated[str, typer.Option(help="Organization slug.")],
) -> None:
    """Send a signed webhook.test message to an endpoint now and print what it answered."""
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        url, secret = webhooks_service.destination(session, organization, endpoint_id)
    answer = asyncio.run(webhooks_service.send_test(url, secret))
    status = answer.status_code if answer.status_code is not None else "no answer"
    print(f"{url}: {status} in {answer.duration_ms} ms")
    if answer.response:
        print(answer.response)
    if not answer.delivered:
        err.print(f"[red]{answer.error}[/red]")
        raise typer.Exit(1)


def _progress(total: int, label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        # Only on a terminal: piped or redirected runs stay quiet.
        disable=not err.is_terminal,
    )


def _advancer(progress: Progress, task: TaskID) -> Callable[[int], None]:
    """A callback that moves the bar on by n rows and shows the rate since the start."""
    started = time.monotonic()

    def advance(rows: int) -> None:
        done = progress.tasks[0].completed + rows
        elapsed = time.monotonic() - started
        progress.update(task, advance=rows, rate=f"{done / elapsed:,.0f}/s" if elapsed else "")

    return advance


@app.command("export")
def export_command(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    output: Annotated[str, typer.Option("--output", "-o", help="File to write; - for stdout.")],
    format: Annotated[Format, typer.Option(help="File format.")] = Format.CSV,
    shape: Annotated[Shape, typer.Option(help="A row per order or per line item.")] = Shape.ORDERS,
    columns: Annotated[str | None, typer.Option(help="Comma-separated columns.")] = None,
    status: Annotated[str | None, typer.Option(help="Status(es), comma-separated.")] = None,
    payment_status: Annotated[str | None, typer.Option(help="Payment status(es).")] = None,
    fulfillment_status: Annotated[str | None, typer.Option(help="Fulfillment status(es).")] = None,
    source: Annotated[str | None, typer.Option(help="Source(s), comma-separated.")] = None,
    search: Annotated[str | None, typer.Option(help="Text in name, e-mail, phone, ids.")] = None,
    created_from: Annotated[str | None, typer.Option(help="ISO 8601, inclusive.")] = None,
    created_to: Annotated[str | None, typer.Option(help="ISO 8601, inclusive.")] = None,
    sort: Annotated[str, typer.Option(help="Sort field, '-' for descending.")] = "-created",
    bom: Annotated[bool, typer.Option(help="CSV: start with a UTF-8 byte order mark.")] = False,
) -> None:
    """Export orders straight from the database (the same filters as the API)."""
    try:
        query = ExportQuery(
            format=format,
            shape=shape,
            columns=columns,
            status=status,
            payment_status=payment_status,
            fulfillment_status=fulfillment_status,
            source=source,
            search=search,
            created_from=created_from,
            created_to=created_to,
            sort=sort,
            bom=bom,
        )
    except ValidationError as exc:
        _report_invalid(exc)
    with database(write=False) as session:
        organization = auth.require_organization(session, org)
        plan = export.ExportPlan(
            organization_id=organization.id,
            filters=query,
            shape=query.shape,
            columns=query.chosen_columns,
        )
        total = export.count(session, plan)
        with _progress(total, "Exporting") as progress, _open_output(output) as out:
            task = progress.add_task("export", total=total, rate="")
            on_orders = _advancer(progress, task)
            for chunk in export.export_bytes(
                session, plan, query.format, bom=query.bom, on_orders=on_orders
            ):
                out.write(chunk)
    err.print(f"Exported {_orders(total)}.")


def _orders(count: int) -> str:
    return f"{count:,} order" if count == 1 else f"{count:,} orders"


@contextmanager
def _open_output(output: str) -> Iterator[BinaryIO]:
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    with open(output, "wb") as handle:
        yield handle


@app.command("import")
def import_command(
    org: Annotated[str, typer.Option(help="Organization slug; created when new.")],
    file: Annotated[Path, typer.Argument(help="A .csv or .jsonl file that export wrote.")],
) -> None:
    """Import orders from a CSV or JSONL file; nothing is written unless every row is sound."""
    if not file.is_file():
        err.print(f"[red]No such file: {file}[/red]")
        raise typer.Exit(2)
    with database() as session:
        organization = auth.get_or_create_organization(session, org)
        with _progress(0, "Importing") as progress:
            task = progress.add_task("import", total=None, rate="")
            try:
                outcome = importer.import_file(
                    session, organization, file, on_progress=_advancer(progress, task)
                )
            except importer.UnreadableRow as exc:
                err.print(f"[red]{exc}[/red]")
                raise typer.Exit(2) from None
        if outcome.errors:
            session.rollback()
            for row, message in sorted(outcome.errors.items())[:200]:
                err.print(f"row {row}: {message}")
            err.print(f"[red]{len(outcome.errors)} bad rows; nothing was imported.[/red]")
            raise typer.Exit(1)
    analyze()  # the planner should know the new rows at once
    err.print(f"Imported {_orders(outcome.imported)} into {organization.slug}.")


def run() -> None:
    """The ``orderly`` command. A failure the user can fix (a path that cannot be written, a
    database that cannot be reached) is one line on stderr and exit status 1."""
    try:
        app()
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        err.print(f"[red]{exc.strerror or exc}{where}[/red]")
        sys.exit(1)
    except OperationalError as exc:
        err.print(f"[red]Cannot use the database: {str(exc.orig).strip().splitlines()[0]}[/red]")
        sys.exit(1)
    except ValidationError as exc:  # a setting (ORDERLY_*) that cannot be used
        for error in exc.errors():
            name = "ORDERLY_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(f"[red]{name}: {clean_message(error['msg'])}[/red]")
        sys.exit(1)


if __name__ == "__main__":
    run()
