"""People and their sessions, below the dashboard: removal, the last owner, languages, and
expired sessions pruned."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderly.auth import service as auth
from orderly.auth import users
from orderly.auth.models import Role, WebSession
from orderly.core.db import utc_now
from orderly.core.errors import Conflict, NotFound, ValidationFailed

PASSWORD = "correct-horse-battery"


def sessions_of(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WebSession)) or 0


class TestRemoval:
    def test_removing_someone_ends_their_sessions(self, db: Session) -> None:
        acme = auth.get_or_create_organization(db, "acme")
        users.create_user(db, acme, "owner@example.com", Role.OWNER, PASSWORD)
        staff = users.create_user(db, acme, "staff@example.com", Role.STAFF, PASSWORD)
        cookie, _ = users.sign_in(db, "acme", "staff@example.com", PASSWORD)
        users.remove_user(db, acme, staff.id)
        db.commit()
        assert users.current(db, cookie) is None
        assert [u.email for u in users.list_users(db, acme)] == ["owner@example.com"]

    def test_the_last_owner_stays(self, db: Session) -> None:
        acme = auth.get_or_create_organization(db, "acme")
        owner = users.create_user(db, acme, "owner@example.com", Role.OWNER, PASSWORD)
        with pytest.raises(Conflict):
            users.remove_user(db, acme, owner.id)
        second = users.create_user(db, acme, "second@example.com", Role.OWNER, PASSWORD)
        users.remove_user(db, acme, owner.id)  # another owner is left
        assert [u.id for u in users.list_users(db, acme)] == [second.id]

    def test_someone_of_another_organization_is_not_found(self, db: Session) -> None:
        acme = auth.get_or_create_organization(db, "acme")
        other = auth.get_or_create_organization(db, "other")
        theirs = users.create_user(db, other, "x@example.com", Role.STAFF, PASSWORD)
        with pytest.raises(NotFound):
            users.remove_user(db, acme, theirs.id)


def test_only_known_languages_are_kept(db: Session) -> None:
    acme = auth.get_or_create_organization(db, "acme")
    person = users.create_user(db, acme, "p@example.com", Role.VIEWER, PASSWORD)
    users.set_language(db, person, "ar")
    with pytest.raises(ValidationFailed):
        users.set_language(db, person, "xx")
    assert person.language == "ar"


def test_prune_removes_expired_sessions_only(db: Session) -> None:
    acme = auth.get_or_create_organization(db, "acme")
    users.create_user(db, acme, "p@example.com", Role.STAFF, PASSWORD)
    expired, _ = users.sign_in(db, "acme", "p@example.com", PASSWORD)
    live, _ = users.sign_in(db, "acme", "p@example.com", PASSWORD)
    stale = db.scalars(
        select(WebSession).where(WebSession.token_hash == auth.hash_token(expired))
    ).one()
    stale.expires = utc_now() - timedelta(minutes=1)
    db.commit()
    assert users.prune_sessions(db, utc_now()) == 1
    db.commit()
    assert sessions_of(db) == 1
    assert users.current(db, live) is not None
