"""``SQLiteStore``: the embedded default store. One file (or ``:memory:``), WAL, one transaction
per unit of work, a schema versioned with forward migrations, safe to reopen after a crash.

Subscriptions are stored as JSON documents (``reseller_plans.stores.codec``) beside the columns
the queries need: the account, whether the subscription is live (a partial unique index keeps one
live subscription per account) and when it is next due (``run_due`` reads an index, not a scan).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.stores.schema import (
    schema_audit,
    schema_deliveries,
    schema_v1,
    schema_v2,
    schema_v3,
    schema_v4,
    schema_v5,
    schema_v6,
)
from reseller_plans.stores.sql import Dialect, SQLUnitOfWork
from reseller_plans.stores.sql_store import SQLStore

__all__ = ["MIGRATIONS", "SQLiteStore"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    schema_v1(sequence="INTEGER PRIMARY KEY AUTOINCREMENT"),
    # 2: leases, the notes of failed due work, outbox claims
    schema_v2(),
    # 3: reconciliation requests; whether a lease was taken over
    schema_v3(),
    # 4: an index of the messages refused for good (the outbox's queries)
    schema_v4(),
    # 5: columns and indexes for the subscriptions' queries
    schema_v5(
        lambda column, path: f"json_extract({column}, '$.{'.'.join(path)}')",
        # strftime reads the offset and writes UTC; the fraction, whole seconds apart, is kept
        lambda x: (
            f"strftime('%Y-%m-%dT%H:%M:%S', {x}) || '.' || CASE WHEN substr({x}, 20, 1)"
            f" = '.' THEN substr({x}, 21, 6) ELSE '000000' END || '+00:00'"
        ),
    ),
    # 6: the feed's order (nothing to do in SQLite: one writer at a time)
    schema_v6(postgres=False),
    # 7: the audit trail: the events recorded before it get the audit of an unrecorded actor
    schema_audit(postgres=False),
    # 8: webhook deliveries: each endpoint's cursor in the feed, one row per delivery
    schema_deliveries(postgres=False),
)
"""Forward migrations; the database's ``user_version`` says how many have run."""


SQLITE = Dialect(
    marker="?",
    insertion_order="rowid",
    is_integrity_error=lambda exc: isinstance(exc, sqlite3.IntegrityError),
    name="sqlite",
)


class SQLiteStore(SQLStore):
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
        super().__init__()
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
    def unit_of_work(self) -> Iterator[SQLUnitOfWork]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction; rolled back if the block raises.
        Listeners see its events after the commit."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            uow = SQLUnitOfWork(self._db.execute, SQLITE)
            try:
                yield uow
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            self._committed(uow)

    def close(self) -> None:
        """Close the connection (unless the host application owns it)."""
        if self._owned:
            self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
