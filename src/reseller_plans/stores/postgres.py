"""``PostgresStore``: several worker processes, on several machines, share one database.

The same tables and documents as ``SQLiteStore``. Whoever drives a subscription (a command, a
``run_due`` item in any worker) first takes its lease, in one atomic statement, and messages
are claimed before they are sent: no two drivers run one subscription's steps at once, and a
driver that died lets go when its lease ends. Every save still checks the subscription's
version, so two writers can never both record a step.

Needs the ``postgres`` extra (``pip install 'reseller-plans[postgres]'``, psycopg 3).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

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

__all__ = ["MIGRATIONS", "PostgresStore"]

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema; claimed_until holds a worker's claim, seq the insertion order
    schema_v1(
        sequence="BIGSERIAL PRIMARY KEY",
        subscription_extras="claimed_until TEXT, seq BIGSERIAL NOT NULL,",
    ),
    # 2: leases, the notes of failed due work, outbox claims (claimed_until above is unused
    # since: a lease per subscription replaced the claim of due work)
    schema_v2(),
    # 3: reconciliation requests; whether a lease was taken over
    schema_v3(),
    # 4: an index of the messages refused for good (the outbox's queries)
    schema_v4(),
    # 5: columns and indexes for the subscriptions' queries
    schema_v5(
        lambda column, path: f"({column}::jsonb #>> '{{{','.join(path)}}}')",
        lambda x: (
            f"to_char(({x})::timestamptz AT TIME ZONE 'UTC',"
            " 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00'"
        ),
    ),
    # 6: the feed's order (nothing to do in SQLite: one writer at a time)
    schema_v6(postgres=True),
    # 7: the audit trail: the events recorded before it get the audit of an unrecorded actor
    schema_audit(postgres=True),
    # 8: webhook deliveries: each endpoint's cursor in the feed, one row per delivery
    schema_deliveries(postgres=True),
)
"""Forward migrations; ``reseller_plans_schema.version`` says how many have run."""

POSTGRES = Dialect(
    marker="%s",
    insertion_order="seq",
    is_integrity_error=lambda exc: isinstance(exc, psycopg.errors.UniqueViolation),
    feed_transaction="txid",
    feed_visible="txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    name="postgres",
)

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}\Z")
_MIGRATION_LOCK = 0x7265_7365  # pg_advisory_xact_lock key: "rese"


class PostgresStore(SQLStore):
    """The store for several workers sharing one PostgreSQL database.

    Args:
        dsn: a libpq connection string (``postgresql://user@host/db``). Ignored when
            ``connection`` is given.
        connection: the host application's own psycopg connection (not in autocommit mode).
        schema: the database schema that holds the tables (created if missing); the default
            is the connection's ``search_path``.

    Raises:
        InvalidInput: a malformed schema name, or a database newer than this library.
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        connection: psycopg.Connection[Any] | None = None,
        schema: str | None = None,
    ) -> None:
        if connection is None and not dsn:
            raise InvalidInput("PostgresStore needs a dsn or a connection")
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise InvalidInput(f"not a plain schema name: {schema!r}")
        super().__init__()
        self._owned = connection is None
        self._db: psycopg.Connection[Any] = connection or psycopg.connect(dsn or "")
        self._lock = threading.RLock()
        self.schema = schema
        if schema is not None:
            with self._db.transaction():
                self._db.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema))
                )
            self._db.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            self._db.commit()
        self._migrate()

    @property
    def schema_version(self) -> int:
        """How many migrations the database has run."""
        with self._lock, self._db.transaction():
            return self._version()

    def _version(self) -> int:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS reseller_plans_schema (version INTEGER NOT NULL)"
        )
        row = self._db.execute("SELECT max(version) FROM reseller_plans_schema").fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def _migrate(self) -> None:
        with self._lock, self._db.transaction():
            # One migrating worker at a time; the others wait and then find nothing to do.
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            current = self._version()
            if current > len(MIGRATIONS):
                raise InvalidInput(
                    f"the database schema is version {current}, newer than this library's "
                    f"{len(MIGRATIONS)}: upgrade reseller-plans"
                )
            for number in range(current, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        self._db.execute(statement.encode())
                self._db.execute("INSERT INTO reseller_plans_schema VALUES (%s)", (number + 1,))

    def _execute(self, statement: str, params: Any) -> Any:
        return self._db.execute(statement.encode(), params)

    @contextmanager
    def unit_of_work(self) -> Iterator[SQLUnitOfWork]:
        """One transaction; rolled back if the block raises. Listeners see its events after the
        commit."""
        with self._lock:
            uow = SQLUnitOfWork(self._execute, POSTGRES)
            with self._db.transaction():
                yield uow
            self._committed(uow)

    def close(self) -> None:
        """Close the connection (unless the host application owns it)."""
        if self._owned:
            self._db.close()

    def __repr__(self) -> str:
        where = self.schema or "search_path"
        return f"PostgresStore(schema={where!r})"
