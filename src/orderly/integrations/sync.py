"""Keeping a connection in step with its platform's API: its credentials, the reconciliation
poll that heals missed webhooks, and backfills of its history.

A walk lists the platform's orders page by page (``channels``) and takes each page through
the webhook path (``service.take_listed``) in one transaction with where the walk stands, so
the cursor moves only past pages that are stored, and an interrupted walk goes on from the
page after the last stored. A lease on the connection (compare and set) lets one worker of
many walk it at a time; a crashed worker's lease runs out.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy.orm import Session

from orderly.auth.models import Organization
from orderly.core.crypto import session_box
from orderly.core.db import Database, utc_now
from orderly.core.errors import Conflict, ValidationFailed
from orderly.core.ids import random_token
from orderly.core.outbound import literal_refusal
from orderly.events import repository as events_repository
from orderly.integrations import repository, service
from orderly.integrations.channels import CHANNELS
from orderly.integrations.channels.base import (
    Channel,
    Credentials,
    MalformedAnswer,
    Walk,
    iso,
)
from orderly.integrations.channels.client import (
    CredentialsRefused,
    PlatformClient,
    PlatformError,
    Unavailable,
)
from orderly.integrations.models import ConnectionRow, Platform, RunKind, SyncRunRow
from orderly.integrations.schemas import CredentialsSet

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # renewed with every stored page
# A finished poll's next one starts this long before the platform's clock at its start: an
# order changed while the walk went on is read again, never missed.
OVERLAP = timedelta(minutes=2)
# A connection's first poll reaches back this far from when it was connected.
FIRST_POLL_REACH = timedelta(days=1)
RUNS_SHOWN = 20
BACKFILL_PAUSE_SECONDS = 60  # a backfill that stopped early goes on after this


class SyncNotSupported(ValidationFailed):
    message = "This platform has no order API to sync with"


class NoCredentials(Conflict):
    message = "The connection has no platform credentials; set them first"


class SyncBusy(Conflict):
    message = "Another sync of this connection is running; try again when it ends"


def channel_of(connection: ConnectionRow) -> Channel:
    channel = CHANNELS.get(Platform(connection.platform))
    if channel is None:
        raise SyncNotSupported(details={"platform": connection.platform})
    return channel


# ---- credentials ------------------------------------------------------------------------------


def _check_url(field: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(details={field: "Must be an http(s) URL"})
    refusal = literal_refusal(value)
    if refusal:
        raise ValidationFailed(details={field: f"Not reachable: {refusal}"})
    return value.rstrip("/")


def set_credentials(
    session: Session, organization: Organization, connection_id: str, body: CredentialsSet
) -> ConnectionRow:
    """Seal the platform credentials and the sync settings; the next poll is due at once."""
    connection = service.get_connection(session, organization, connection_id)
    channel = channel_of(connection)
    given = body.model_dump(exclude_none=True)
    missing = {name: "Required for this platform" for name in channel.required if name not in given}
    if missing:
        raise ValidationFailed(details=missing)
    values = {name: given[name] for name in channel.required}
    if "store_url" in values:
        values["store_url"] = _check_url("store_url", values["store_url"])
    if "shop_domain" in values:
        values["shop_domain"] = values["shop_domain"].strip().lower()
        if "/" in values["shop_domain"] or "." not in values["shop_domain"]:
            raise ValidationFailed(details={"shop_domain": "A domain such as acme.myshopify.com"})
    base = _check_url("api_base_url", body.api_base_url) if body.api_base_url else None
    sealed = {"values": values, "api_base_url": base}
    connection.credentials = session_box(session).seal(json.dumps(sealed))
    if body.push_back and not connection.push_back:
        # Changes made from now on are pushed, not the organization's past.
        connection.push_after = events_repository.last_sequence(session, organization.id)
    connection.push_back = body.push_back
    connection.poll_interval_seconds = body.poll_interval_seconds
    connection.attention = None
    connection.next_poll = utc_now()
    if connection.poll_state is None:
        connection.poll_state = Walk(since=iso(connection.created - FIRST_POLL_REACH)).as_json()
    session.flush()
    return connection


def poll_soon(session: Session, organization: Organization, connection_id: str) -> None:
    """Make the connection's poll due now (a worker of ``orderly serve`` runs it)."""
    connection = service.get_connection(session, organization, connection_id)
    channel_of(connection)
    if not connection.credentials:
        raise NoCredentials(details={"id": connection_id})
    connection.next_poll = utc_now()
    session.flush()


def remove_credentials(session: Session, organization: Organization, connection_id: str) -> None:
    connection = service.get_connection(session, organization, connection_id)
    connection.credentials = None
    connection.push_back = False
    connection.backfill_state = None
    connection.next_poll = None
    session.flush()


def open_credentials(session: Session, connection: ConnectionRow) -> Credentials:
    sealed = json.loads(session_box(session).open(connection.credentials or ""))
    return Credentials(values=sealed["values"], api_base_url=sealed.get("api_base_url"))


@dataclass(frozen=True)
class SyncState:
    """A connection's sync as its page and ``GET …/sync`` show it (no secret)."""

    connection: ConnectionRow
    shown: dict[str, str]  # the credentials that are not secrets (a shop's domain)
    runs: list[SyncRunRow]


def sync_state(session: Session, organization: Organization, connection_id: str) -> SyncState:
    connection = service.get_connection(session, organization, connection_id)
    channel = CHANNELS.get(Platform(connection.platform))
    shown: dict[str, str] = {}
    if connection.credentials and channel is not None:
        credentials = open_credentials(session, connection)
        shown = {k: v for k, v in credentials.values.items() if k not in channel.secrets}
        if credentials.api_base_url:
            shown["api_base_url"] = credentials.api_base_url
    return SyncState(
        connection=connection, shown=shown, runs=list_runs(session, organization, connection.id)
    )


def start_backfill(
    session: Session, organization: Organization, connection_id: str, since: datetime
) -> ConnectionRow:
    """Queue a backfill from ``since``: the workers of ``orderly serve`` walk it (or
    ``orderly integrations backfill`` in the foreground); a new one replaces one under way."""
    connection = service.get_connection(session, organization, connection_id)
    channel_of(connection)
    if not connection.credentials:
        raise NoCredentials(details={"id": connection_id})
    connection.backfill_state = Walk(since=iso(since)).as_json()
    connection.next_poll = utc_now()  # the workers take it up at once
    session.flush()
    return connection


# ---- walking ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    organization_id: str
    connection_id: str


@dataclass
class _Held:
    platform: str
    credentials: Credentials
    walk: Walk
    kind: RunKind
    interval: int
    run_id: str


Progress = Callable[[Walk], None]


def _begin(
    session: Session, target: Target, *, owner: str, kind: RunKind | None, due_only: bool
) -> _Held | None:
    now = utc_now()
    if not repository.take_lease(
        session,
        target.organization_id,
        target.connection_id,
        owner=owner,
        now=now,
        until=now + LEASE,
        due_only=due_only,
    ):
        return None
    connection = repository.held_connection(
        session, target.organization_id, target.connection_id, owner
    )
    assert connection is not None
    if kind is None:  # the worker's choice: a backfill under way goes first
        kind = RunKind.BACKFILL if connection.backfill_state else RunKind.POLL
    state = connection.backfill_state if kind == RunKind.BACKFILL else connection.poll_state
    if state is None:
        connection.lease_owner = connection.lease_until = None
        return None
    run = SyncRunRow(
        organization_id=connection.organization_id,
        id=f"run_{random_token(20)}",
        connection_id=connection.id,
        kind=kind.value,
        started=now,
        requests=0,
        seen=0,
        created=0,
        updated=0,
        unchanged=0,
        failed=0,
    )
    session.add(run)
    session.flush()
    return _Held(
        platform=connection.platform,
        credentials=open_credentials(session, connection),
        walk=Walk.of(state),
        kind=kind,
        interval=connection.poll_interval_seconds,
        run_id=run.id,
    )


class LeaseLost(Exception):
    """Another worker took the connection over (this one stalled past its lease)."""


def _store_page(
    session: Session, target: Target, *, owner: str, held: _Held, bodies: list[Any], walk: Walk
) -> None:
    connection = repository.held_connection(
        session, target.organization_id, target.connection_id, owner
    )
    if connection is None:
        raise LeaseLost
    organization = session.get(Organization, target.organization_id)
    assert organization is not None
    actor = (
        f"reconciliation:{connection.id}"
        if held.kind != RunKind.BACKFILL
        else f"backfill:{connection.id}"
    )
    counted = service.take_listed(session, connection, organization, bodies, actor)
    run = session.get(SyncRunRow, (target.organization_id, held.run_id))
    assert run is not None
    run.seen += len(counted)
    for name in ("created", "updated", "unchanged", "failed"):
        setattr(run, name, getattr(run, name) + counted.count(name))
    if held.kind == RunKind.BACKFILL:
        connection.backfill_state = walk.as_json()
    else:
        connection.poll_state = walk.as_json()
    connection.lease_until = utc_now() + LEASE
    session.flush()


def _finish(
    session: Session,
    target: Target,
    *,
    owner: str,
    held: _Held,
    walk: Walk,
    requests: int,
    error: str | None,
    attention: str | None,
    retry_in: float | None,
) -> SyncRunRow | None:
    now = utc_now()
    run = session.get(SyncRunRow, (target.organization_id, held.run_id))
    if run is None:  # the connection was removed meanwhile
        return None
    run.finished, run.requests, run.error = now, requests, error
    connection = repository.held_connection(
        session, target.organization_id, target.connection_id, owner
    )
    if connection is None:
        return run
    if walk.done and held.kind == RunKind.BACKFILL:
        connection.backfill_state = None  # the run keeps what it found
    elif walk.done:
        started = datetime.fromisoformat(walk.started) if walk.started else run.started
        connection.poll_state = Walk(since=iso(started - OVERLAP)).as_json()
    wait = max(retry_in or 0.0, 0.0)
    if held.kind != RunKind.BACKFILL:
        connection.last_poll = now
        connection.next_poll = now + timedelta(seconds=max(wait, held.interval))
    elif error:  # a backfill goes on after a pause (the platform's Retry-After, if longer)
        connection.next_poll = now + timedelta(seconds=max(wait, BACKFILL_PAUSE_SECONDS))
    else:  # done: the polls go on as scheduled, the next one now
        connection.next_poll = now
    if attention:
        connection.attention = attention
    connection.lease_owner = connection.lease_until = None
    session.flush()
    return run


async def walk(
    database: Database,
    http: aiohttp.ClientSession,
    target: Target,
    *,
    owner: str | None = None,
    kind: RunKind | None = None,
    due_only: bool = False,
    progress: Progress | None = None,
) -> SyncRunRow | None:
    """One run through the connection's orders (a poll, or the backfill under way), stored
    page by page; ``None`` when another worker holds the connection (or nothing is due)."""
    owner = owner or random_token(16)
    held = await database.run(
        partial(_begin, target=target, owner=owner, kind=kind, due_only=due_only), write=True
    )
    if held is None:
        return None
    channel = CHANNELS[Platform(held.platform)]
    client = PlatformClient(http, channel, held.credentials)
    current = held.walk
    error = attention = None
    retry_in: float | None = None
    try:
        while not current.done:
            answer = await client(channel.list_call(current))
            page = channel.read_page(answer, current)
            after = replace(
                current,
                started=current.started or iso(answer.time() or utc_now()),
                seen=current.seen + len(page.orders),
                total=page.total if page.total is not None else current.total,
                page=current.page + 1 if page.more else current.page,
                next_url=page.next_url if page.more else None,
                done=not page.more,
            )
            read_at = iso(answer.time() or utc_now())
            bodies = [channel.as_webhook(order, read_at) for order in page.orders]
            await database.run(
                partial(
                    _store_page, target=target, owner=owner, held=held, bodies=bodies, walk=after
                ),
                write=True,
            )
            current = after
            if progress:
                progress(current)
    except CredentialsRefused as exc:
        error = attention = str(exc)
    except Unavailable as exc:
        error, retry_in = str(exc), exc.retry_after
    except (PlatformError, MalformedAnswer) as exc:
        error = str(exc)
    except LeaseLost:
        error = "Another worker took this connection over"
    if error:
        log.warning("Sync of %s stopped: %s", target.connection_id, error)
    return await database.run(
        partial(
            _finish,
            target=target,
            owner=owner,
            held=held,
            walk=current,
            requests=client.requests,
            error=error,
            attention=attention,
            retry_in=retry_in,
        ),
        write=True,
    )


def due(session: Session, limit: int = 20) -> list[Target]:
    return [Target(o, c) for o, c in repository.connections_to_walk(session, utc_now(), limit)]


def target_of(session: Session, organization: Organization, connection_id: str) -> Target:
    connection = service.get_connection(session, organization, connection_id)
    channel_of(connection)
    if not connection.credentials:
        raise NoCredentials(details={"id": connection_id})
    return Target(organization.id, connection.id)


def list_runs(session: Session, organization: Organization, connection_id: str) -> list[SyncRunRow]:
    """The connection's latest runs, newest first (its credentials are not opened)."""
    connection = service.get_connection(session, organization, connection_id)
    return list(repository.list_runs(session, organization.id, connection.id, RUNS_SHOWN))


def run_summary(run: SyncRunRow) -> dict[str, Any]:
    return {
        name: getattr(run, name)
        for name in ("seen", "created", "updated", "unchanged", "failed", "requests")
    }
