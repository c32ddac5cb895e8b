"""``SQLiteStore``: the embedded default store. One file (or ``:memory:``), WAL, one transaction
per unit of work, a schema versioned with forward migrations, safe to reopen after a crash.

Subscriptions are stored as JSON documents (``reseller_plans.stores.codec``) beside the columns
the queries need: the account, whether the subscription is live (a partial unique index keeps one
live subscription per account) and when it is next due (``run_due`` reads an index, not a scan).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.codec import (
    dumps_event,
    dumps_subscription,
    loads_event,
    loads_subscription,
    outbox_from_row,
    outbox_to_row,
)
from reseller_plans.stores.memory import due_at

__all__ = ["MIGRATIONS", "SQLiteStore"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        live INTEGER NOT NULL,
        due_at TEXT,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE UNIQUE INDEX subscriptions_one_live_per_account
        ON subscriptions (account_id) WHERE live = 1;
    CREATE INDEX subscriptions_by_account ON subscriptions (account_id);
    CREATE INDEX subscriptions_due ON subscriptions (due_at) WHERE due_at IS NOT NULL;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        subscription_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX events_by_subscription ON events (subscription_id, seq);
    CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        recipients TEXT NOT NULL,
        context TEXT NOT NULL,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        failed_permanently INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outbox_unsent ON outbox (created_at)
        WHERE sent_at IS NULL AND failed_permanently = 0;
    CREATE INDEX outbox_by_subscription ON outbox (subscription_id);
    CREATE TABLE idempotency (
        scope TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (scope, key)
    );
    CREATE TABLE alias_holds (
        alias TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        until TEXT
    );
    """,
)
"""Forward migrations; the database's ``user_version`` says how many have run."""


def _utc(value: dt.datetime) -> str:
    """A sortable text form: every time is stored in UTC with the same layout."""
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _due_text(sub: Subscription) -> str | None:
    when = due_at(sub)
    return None if when is None else _utc(when)


class _SQLiteUnitOfWork:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def get(self, subscription_id: str) -> Subscription | None:
        body = self._one("SELECT body FROM subscriptions WHERE id = ?", (subscription_id,))
        return None if body is None else loads_subscription(body)

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        body = self._one(
            "SELECT body FROM subscriptions WHERE account_id = ? AND live = 1", (account_id,)
        )
        return None if body is None else loads_subscription(body)

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        rows = self._db.execute(
            "SELECT body FROM subscriptions WHERE account_id = ? ORDER BY rowid", (account_id,)
        )
        return [loads_subscription(row[0]) for row in rows]

    def _append(self, subscription_id: str, events: Sequence[Event]) -> None:
        if events:
            self._db.executemany(
                "INSERT INTO events (subscription_id, body) VALUES (?, ?)",
                [(subscription_id, dumps_event(e)) for e in events],
            )

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        try:
            self._db.execute(
                "INSERT INTO subscriptions (id, account_id, live, due_at, version, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    subscription.id,
                    subscription.account_id,
                    int(subscription.is_live),
                    _due_text(subscription),
                    subscription.version,
                    dumps_subscription(subscription),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise ConcurrentUpdate(
                f"subscription {subscription.id} conflicts with a stored one: {exc}"
            ) from None
        self._append(subscription.id, events)

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        cursor = self._db.execute(
            "UPDATE subscriptions SET live = ?, due_at = ?, version = ?, body = ?"
            " WHERE id = ? AND version = ?",
            (
                int(subscription.is_live),
                _due_text(subscription),
                subscription.version,
                dumps_subscription(subscription),
                subscription.id,
                expected_version,
            ),
        )
        if cursor.rowcount != 1:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self._append(subscription.id, events)

    def history(self, subscription_id: str) -> list[Event]:
        rows = self._db.execute(
            "SELECT body FROM events WHERE subscription_id = ? ORDER BY seq", (subscription_id,)
        )
        return [loads_event(row[0]) for row in rows]

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        rows = self._db.execute(
            "SELECT id FROM subscriptions WHERE due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            (_utc(now), limit),
        )
        return [row[0] for row in rows]

    def add_outbox(self, entry: OutboxEntry) -> None:
        row = outbox_to_row(entry)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self._db.execute(
            f"INSERT OR IGNORE INTO outbox ({columns}) VALUES ({marks})",  # noqa: S608 - our columns
            tuple(row.values()),
        )

    def _outbox(self, where: str, params: Sequence[Any]) -> list[OutboxEntry]:
        cursor = self._db.execute(f"SELECT * FROM outbox WHERE {where}", params)  # noqa: S608
        names = [d[0] for d in cursor.description]
        return [outbox_from_row(dict(zip(names, row, strict=True))) for row in cursor]

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        return self._outbox(
            "sent_at IS NULL AND failed_permanently = 0 ORDER BY created_at, id LIMIT ?", (limit,)
        )

    def update_outbox(self, entry: OutboxEntry) -> None:
        row = outbox_to_row(entry)
        self._db.execute(
            "UPDATE outbox SET sent_at = ?, attempts = ?, last_error = ?, failed_permanently = ?"
            " WHERE id = ?",
            (
                row["sent_at"],
                row["attempts"],
                row["last_error"],
                row["failed_permanently"],
                entry.id,
            ),
        )

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        return self._outbox("subscription_id = ? ORDER BY created_at, id", (subscription_id,))

    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = self._db.execute(
            "SELECT fingerprint, subscription_id, created_at FROM idempotency"
            " WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(scope, key, row[0], row[1], dt.datetime.fromisoformat(row[2]))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?, ?)",
            (record.scope, record.key, record.fingerprint, record.subscription_id,
             _utc(record.created_at)),
        )  # fmt: skip

    def get_alias_hold(self, alias: str) -> AliasHold | None:
        row = self._db.execute(
            "SELECT account_id, until FROM alias_holds WHERE alias = ?", (alias,)
        ).fetchone()
        if row is None:
            return None
        return AliasHold(
            alias, row[0], None if row[1] is None else dt.datetime.fromisoformat(row[1])
        )

    def put_alias_hold(self, hold: AliasHold) -> None:
        until = None if hold.until is None else _utc(hold.until)
        self._db.execute(
            "INSERT OR REPLACE INTO alias_holds VALUES (?, ?, ?)",
            (hold.alias, hold.account_id, until),
        )

    def delete_alias_hold(self, alias: str) -> None:
        self._db.execute("DELETE FROM alias_holds WHERE alias = ?", (alias,))

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        rows = self._db.execute(
            "SELECT alias, account_id, until FROM alias_holds"
            " WHERE until IS NOT NULL AND until <= ? ORDER BY until",
            (_utc(now),),
        )
        return [AliasHold(r[0], r[1], dt.datetime.fromisoformat(r[2])) for r in rows]


class SQLiteStore:
    """The embedded store.

    Args:
        path: the database file, or ``":memory:"``. Ignored when ``connection`` is given.
        connection: the host application's own connection (opened with
            ``isolation_level=None``; the store manages transactions itself).
        synchronous: SQLite's ``synchronous`` pragma. ``"NORMAL"`` (the default; with WAL every
            committed step survives a crash of the process, the guarantee the saga needs) or
            ``"FULL"`` (every commit is also flushed to the disk: survives a power loss, and
            costs about a third of the throughput).
        timeout: seconds to wait for another process's write lock.

    Raises:
        InvalidInput: an unknown ``synchronous`` value, or a database newer than this library.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        connection: sqlite3.Connection | None = None,
        synchronous: str = "NORMAL",
        timeout: float = 30.0,
    ) -> None:
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise InvalidInput(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = str(path) if connection is None else "<host connection>"
        self._owned = connection is None
        self._db = connection or sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=timeout
        )
        self._db.isolation_level = None
        self._lock = threading.RLock()
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(f"PRAGMA synchronous = {synchronous.upper()}")
        self._db.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    @property
    def schema_version(self) -> int:
        """How many migrations the database has run."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise InvalidInput(
                    f"the database schema is version {current}, newer than this library's "
                    f"{len(MIGRATIONS)}: upgrade reseller-plans"
                )
            for number in range(current, len(MIGRATIONS)):
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in MIGRATIONS[number].split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number + 1}")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")

    @contextmanager
    def unit_of_work(self) -> Iterator[_SQLiteUnitOfWork]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; rolled back if the block raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield _SQLiteUnitOfWork(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (unless the host application owns it)."""
        if self._owned:
            self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
