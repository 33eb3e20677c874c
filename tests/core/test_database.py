"""``Database.run``: a unit of work PostgreSQL ends in a deadlock is run again."""

import asyncio
import threading
from collections import Counter

from sqlalchemy import text
from sqlalchemy.orm import Session

from orderly.core.db import Database, migrate, session_factory


class TestDeadlocks:
    def test_the_transaction_postgresql_ends_is_run_again(self, postgres_url: str) -> None:
        # PostgreSQL only: SQLite has one writer at a time, so its writers cannot deadlock.
        migrate(postgres_url)
        db = session_factory(postgres_url)()
        db.execute(text("CREATE TABLE IF NOT EXISTS deadlock_probe (id int PRIMARY KEY, n int)"))
        db.execute(text("DELETE FROM deadlock_probe"))
        db.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"))
        db.commit()
        database = Database(postgres_url)
        both_hold_one = threading.Barrier(2)
        attempts: Counter[int] = Counter()

        def lock_in_order(first: int, second: int) -> None:
            def work(session: Session) -> None:
                attempts[first] += 1
                update = text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id")
                session.execute(update, {"id": first})
                if attempts[first] == 1:  # the first time, both wait for the other's row
                    both_hold_one.wait(timeout=10)
                session.execute(update, {"id": second})

            asyncio.run(database.run(work, write=True))

        threads = [
            threading.Thread(target=lock_in_order, args=(1, 2)),
            threading.Thread(target=lock_in_order, args=(2, 1)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert sorted(attempts.values()) == [1, 2]  # one was ended by the server and ran again
        rows = db.execute(text("SELECT id, n FROM deadlock_probe")).all()
        counts = {int(row[0]): int(row[1]) for row in rows}
        assert counts == {1: 2, 2: 2}  # both units of work, each exactly once
        db.execute(text("DROP TABLE deadlock_probe"))
        db.commit()
        db.close()
