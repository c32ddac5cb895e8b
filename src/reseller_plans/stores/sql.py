"""The unit of work shared by the SQL stores (SQLite and PostgreSQL).

Both hold the same tables and documents; a ``Dialect`` says the little that differs (the
parameter marker, the insertion-order column, and how ``due`` claims work). Their common base
class is ``stores.sql_store.SQLStore``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from reseller_plans.domain.errors import ConcurrentUpdate
from reseller_plans.domain.events import Event
from reseller_plans.domain.schedule import due_at
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import AliasHold, IdempotencyRecord, Lease, OutboxEntry
from reseller_plans.stores.codec import (
    dumps_event,
    dumps_subscription,
    loads_event,
    loads_subscription,
    outbox_to_row,
)
from reseller_plans.stores.sql_base import Dialect, utc_text
from reseller_plans.stores.sql_deliveries import SQLDeliveries
from reseller_plans.stores.sql_queries import SQLQueries

__all__ = ["DUE", "Dialect", "SQLUnitOfWork", "utc_text"]  # Dialect, utc_text: from sql_base


DUE = (
    "SELECT s.id FROM subscriptions s LEFT JOIN leases l ON l.subscription_id = s.id"
    " WHERE s.due_at IS NOT NULL AND s.due_at <= ? AND (l.retry_at IS NULL OR l.retry_at <= ?)"
    " ORDER BY s.due_at, s.id LIMIT ?"
)
"""The ids of due subscriptions, earliest first, less those whose due work failed lately."""


def _query_columns(sub: Subscription) -> tuple[str, str, str, str]:
    """The columns ``subscriptions_page`` filters on: distributor, status, plan, sync."""
    return (sub.distributor_id, sub.status.value, sub.plan.value, sub.sync_status.value)


def _latest(events: Sequence[Event]) -> str | None:
    """The instant of the latest of ``events``, as the ``changed_at`` column holds it."""
    return utc_text(max(e.at for e in events)) if events else None


def _due_text(sub: Subscription) -> str | None:
    when = due_at(sub)
    return None if when is None else utc_text(when)


class SQLUnitOfWork(SQLQueries, SQLDeliveries):
    """One transaction over the SQL tables (the store opens and closes the transaction)."""

    def get(self, subscription_id: str) -> Subscription | None:
        body = self._one("SELECT body FROM subscriptions WHERE id = ?", (subscription_id,))
        return None if body is None else loads_subscription(body)

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        body = self._one(
            "SELECT body FROM subscriptions WHERE account_id = ? AND live = 1", (account_id,)
        )
        return None if body is None else loads_subscription(body)

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        order = self._dialect.insertion_order
        rows = self._run(
            f"SELECT body FROM subscriptions WHERE account_id = ? ORDER BY {order}",  # noqa: S608
            (account_id,),
        ).fetchall()
        return [loads_subscription(row[0]) for row in rows]

    def _append(self, subscription_id: str, events: Sequence[Event]) -> None:
        self.written += events
        for event in events:
            self._run(
                "INSERT INTO events (subscription_id, body) VALUES (?, ?)",
                (subscription_id, dumps_event(event)),
            )

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        try:
            self._run(
                "INSERT INTO subscriptions (id, account_id, live, due_at, version, body,"
                " distributor_id, status, plan, sync, changed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    subscription.id,
                    subscription.account_id,
                    int(subscription.is_live),
                    _due_text(subscription),
                    subscription.version,
                    dumps_subscription(subscription),
                    *_query_columns(subscription),
                    _latest(events),
                ),
            )
        except Exception as exc:
            if self._dialect.is_integrity_error(exc):
                raise ConcurrentUpdate(
                    f"subscription {subscription.id} conflicts with a stored one"
                ) from None
            raise
        self._append(subscription.id, events)

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        cursor = self._run(
            "UPDATE subscriptions SET live = ?, due_at = ?, version = ?, body = ?,"
            " distributor_id = ?, status = ?, plan = ?, sync = ?,"
            " changed_at = CASE WHEN changed_at IS NULL OR changed_at < ? THEN ?"
            " ELSE changed_at END"
            " WHERE id = ? AND version = ?",
            (
                int(subscription.is_live),
                _due_text(subscription),
                subscription.version,
                dumps_subscription(subscription),
                *_query_columns(subscription),
                _latest(events),
                _latest(events),
                subscription.id,
                expected_version,
            ),
        )
        if cursor.rowcount != 1:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self._append(subscription.id, events)

    def history(self, subscription_id: str) -> list[Event]:
        rows = self._run(  # in the feed's order, so the two always agree
            f"SELECT body FROM events WHERE subscription_id = ? ORDER BY {self._feed_order}",  # noqa: S608
            (subscription_id,),
        ).fetchall()
        return [loads_event(row[0]) for row in rows]

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        at = utc_text(now)
        return [row[0] for row in self._run(DUE, (at, at, limit)).fetchall()]

    def add_outbox(self, entry: OutboxEntry) -> None:
        row = outbox_to_row(entry)
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self._run(
            f"INSERT INTO outbox ({columns}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING",  # noqa: S608
            tuple(row.values()),
        )

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        return self._outbox(
            "sent_at IS NULL AND failed_permanently = 0 ORDER BY created_at, id LIMIT ?", (limit,)
        )

    def update_outbox(self, entry: OutboxEntry) -> None:
        row = outbox_to_row(entry)
        self._run(
            "UPDATE outbox SET sent_at = ?, attempts = ?, last_error = ?, failed_permanently = ?,"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ?",
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

    def record_events(self, events: Sequence[Event]) -> None:
        for event in events:
            self._append(event.subscription_id, (event,))
            at = utc_text(event.at)
            self._run(
                "UPDATE subscriptions SET changed_at = ? WHERE id = ?"
                " AND (changed_at IS NULL OR changed_at < ?)",
                (at, event.subscription_id, at),
            )

    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        row = self._run(
            "SELECT fingerprint, subscription_id, created_at FROM idempotency"
            " WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return None
        return IdempotencyRecord(scope, key, row[0], row[1], dt.datetime.fromisoformat(row[2]))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._run(
            "INSERT INTO idempotency (scope, key, fingerprint, subscription_id, created_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE SET"
            " fingerprint = excluded.fingerprint, subscription_id = excluded.subscription_id,"
            " created_at = excluded.created_at",
            (record.scope, record.key, record.fingerprint, record.subscription_id,
             utc_text(record.created_at)),
        )  # fmt: skip

    def get_alias_hold(self, alias: str) -> AliasHold | None:
        row = self._run(
            "SELECT account_id, until FROM alias_holds WHERE alias = ?", (alias,)
        ).fetchone()
        if row is None:
            return None
        until = None if row[1] is None else dt.datetime.fromisoformat(row[1])
        return AliasHold(alias, row[0], until)

    def put_alias_hold(self, hold: AliasHold) -> None:
        until = None if hold.until is None else utc_text(hold.until)
        self._run(
            "INSERT INTO alias_holds (alias, account_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT (alias) DO UPDATE SET account_id = excluded.account_id,"
            " until = excluded.until",
            (hold.alias, hold.account_id, until),
        )

    def delete_alias_hold(self, alias: str) -> None:
        self._run("DELETE FROM alias_holds WHERE alias = ?", (alias,))

    def claim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        cursor = self._run(
            "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ?"
            " AND sent_at IS NULL AND failed_permanently = 0"
            " AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)",
            (owner, utc_text(until), entry_id, utc_text(now), owner),
        )
        if cursor.rowcount != 1:
            return None
        entries = self._outbox("id = ?", (entry_id,))
        return entries[0] if entries else None

    def reclaim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        cursor = self._run(
            "UPDATE outbox SET attempts = 0, last_error = NULL, failed_permanently = 0,"
            " claimed_by = ?, claimed_until = ? WHERE id = ? AND sent_at IS NULL"
            " AND (claimed_until IS NULL OR claimed_until <= ? OR claimed_by = ?)",
            (owner, utc_text(until), entry_id, utc_text(now), owner),
        )
        return self.get_outbox(entry_id) if cursor.rowcount == 1 else None

    def reserve_alias_hold(self, alias: str, account_id: str) -> bool:
        row = self._run(
            "INSERT INTO alias_holds (alias, account_id, until) VALUES (?, ?, NULL)"
            " ON CONFLICT (alias) DO UPDATE SET until = NULL"
            " WHERE alias_holds.account_id = excluded.account_id RETURNING account_id",
            (alias, account_id),
        ).fetchone()
        return row is not None

    def release_alias_hold(self, alias: str, account_id: str) -> None:
        self._run("DELETE FROM alias_holds WHERE alias = ? AND account_id = ?", (alias, account_id))

    def take_lease(
        self, subscription_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> Lease | None:
        # One statement, so that two drivers racing for it cannot both win.
        row = self._run(
            "INSERT INTO leases (subscription_id, owner, generation, until) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (subscription_id) DO UPDATE SET"
            " generation = CASE WHEN leases.owner = excluded.owner THEN leases.generation"
            " ELSE leases.generation + 1 END,"
            " taken_over = CASE WHEN leases.owner = excluded.owner THEN leases.taken_over"
            " WHEN leases.owner IS NULL THEN 0 ELSE 1 END,"
            " owner = excluded.owner, until = excluded.until"
            " WHERE leases.owner IS NULL OR leases.owner = excluded.owner"
            " OR leases.until IS NULL OR leases.until <= ?"
            " RETURNING generation, taken_over",
            (subscription_id, owner, utc_text(until), utc_text(now)),
        ).fetchone()
        if row is None:
            return None
        return Lease(subscription_id, owner, int(row[0]), until, bool(row[1]))

    def release_lease(
        self, lease: Lease, *, failure: str | None = None, retry_at: dt.datetime | None = None
    ) -> None:
        key = (lease.subscription_id, lease.owner, lease.generation)
        if failure is None:  # the row stays, so that generations only ever go up
            self._run(
                "UPDATE leases SET owner = NULL, until = NULL, failures = 0, last_error = NULL,"
                " retry_at = NULL, taken_over = 0"
                " WHERE subscription_id = ? AND owner = ? AND generation = ?",
                key,
            )
            return
        self._run(
            "UPDATE leases SET owner = NULL, until = NULL, failures = failures + 1,"
            " last_error = ?, retry_at = ? WHERE subscription_id = ? AND owner = ?"
            " AND generation = ?",
            (failure, None if retry_at is None else utc_text(retry_at), *key),
        )

    def request_reconciliation(self, subscription_id: str, *, at: dt.datetime, reason: str) -> None:
        self._run(
            "INSERT INTO reconciliations (subscription_id, due_at, reason) VALUES (?, ?, ?)"
            " ON CONFLICT (subscription_id) DO UPDATE SET due_at = excluded.due_at,"
            " reason = excluded.reason WHERE excluded.due_at < reconciliations.due_at",
            (subscription_id, utc_text(at), reason),
        )

    def due_reconciliations(self, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
        rows = self._run(
            "SELECT subscription_id, reason FROM reconciliations WHERE due_at <= ?"
            " ORDER BY due_at, subscription_id LIMIT ?",
            (utc_text(now), limit),
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def finish_reconciliation(self, subscription_id: str, *, now: dt.datetime) -> None:
        self._run(
            "DELETE FROM reconciliations WHERE subscription_id = ? AND due_at <= ?",
            (subscription_id, utc_text(now)),
        )

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        rows = self._run(
            "SELECT alias, account_id, until FROM alias_holds"
            " WHERE until IS NOT NULL AND until <= ? ORDER BY alias",
            (utc_text(now),),
        ).fetchall()
        return [AliasHold(r[0], r[1], dt.datetime.fromisoformat(r[2])) for r in rows]

    # ------------------------------------------------------------------ for test harnesses

    def _instant(self, sql: str, when: dt.datetime) -> dt.datetime | None:
        text = self._one(sql, (utc_text(when),))
        return None if text is None else dt.datetime.fromisoformat(text)

    def next_due_after(self, when: dt.datetime) -> dt.datetime | None:
        """The earliest due time or alias hold expiry strictly after ``when`` (two MINs over
        indexed columns)."""
        due = self._instant("SELECT MIN(due_at) FROM subscriptions WHERE due_at > ?", when)
        expiry = self._instant("SELECT MIN(until) FROM alias_holds WHERE until > ?", when)
        return min((t for t in (due, expiry) if t is not None), default=None)

    def has_due_work(self, now: dt.datetime) -> bool:
        """Whether a subscription is due by ``now``, a message unsent, or a hold expired."""
        at = utc_text(now)
        return bool(
            self._one("SELECT 1 FROM subscriptions WHERE due_at <= ? LIMIT 1", (at,))
            or self._one(
                "SELECT 1 FROM outbox WHERE sent_at IS NULL AND failed_permanently = 0 LIMIT 1"
            )
            or self._one("SELECT 1 FROM alias_holds WHERE until <= ? LIMIT 1", (at,))
        )

    def all_events(self) -> list[Event]:
        """Every event, in commit order."""
        rows = self._run("SELECT body FROM events ORDER BY seq").fetchall()
        return [loads_event(row[0]) for row in rows]

    def all_subscriptions(self) -> list[Subscription]:
        """Every subscription, in the order they were created."""
        order = self._dialect.insertion_order
        rows = self._run(f"SELECT body FROM subscriptions ORDER BY {order}").fetchall()  # noqa: S608
        return [loads_subscription(row[0]) for row in rows]

    def all_alias_holds(self) -> list[AliasHold]:
        """Every alias hold, ordered by alias."""
        rows = self._run("SELECT alias, account_id, until FROM alias_holds ORDER BY alias")
        return [
            AliasHold(r[0], r[1], None if r[2] is None else dt.datetime.fromisoformat(r[2]))
            for r in rows.fetchall()
        ]
