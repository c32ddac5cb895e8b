"""The ``DeliveryLog`` of the SQL stores' units of work: webhook cursors and deliveries.

The two writes that must be atomic are each one statement, so that they hold on PostgreSQL at
``READ COMMITTED`` as they do in SQLite (one writer at a time): moving a cursor compares and
sets it in one ``UPDATE`` (or, for an endpoint's first ingestion, one ``INSERT … ON CONFLICT DO
UPDATE … WHERE``); claiming a delivery is one ``UPDATE … WHERE`` no claim lasts ``… RETURNING``
the row. A second writer racing either waits for the first one's row lock, then finds the row
changed and its condition false: it writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from reseller_plans.delivery_log import FeedCursor, StoredDelivery
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState
from reseller_plans.stores.delivery_codec import dumps_delivery, loads_delivery
from reseller_plans.stores.sql_base import SQLBase, utc_text

__all__ = ["SQLDeliveries"]

_RECORD = "endpoint_id, event_id, subscription_id, seq, record"
"""What :func:`_record` reads of a row, in its order."""
_COLUMNS = f"{_RECORD}, body, claimed_by, claimed_until, generation"
"""What :func:`_stored` reads of a row, in its order."""

_NEXT = (
    f"SELECT {_COLUMNS} FROM webhook_deliveries d"  # noqa: S608 - our own SQL
    " WHERE d.state = 'pending' AND d.endpoint_id = ?"
    " AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?)"
    " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e"
    " WHERE e.endpoint_id = d.endpoint_id AND e.subscription_id = d.subscription_id"
    " AND e.state IN ('pending', 'dead') AND {blocking}"
    " AND (e.seq, e.event_id) < (d.seq, d.event_id))"
    " ORDER BY d.seq, d.event_id LIMIT ?"
)
"""The pending deliveries to an endpoint that are due and come first in their subscription
among those not done (``{blocking}``: the states that hold back the ones after them). The
outer scan reads the ``by_state`` index in feed order; each probe reads the ``heads`` index
(the pending and dead ones only, however many were delivered), whose condition it repeats
word for word so that SQLite uses it."""

_BLOCKING = {True: "1 = 1", False: "e.state = 'pending'"}
"""With ``hold_back``, a dead letter holds back its subscription too; without, only a pending
delivery comes before the ones after it."""

_UNCLAIMED = "(claimed_until IS NULL OR claimed_until <= ?)"
"""No sender's claim on the delivery lasts at the instant given."""


def _record(row: Sequence[Any]) -> DeliveryRecord:
    endpoint_id, event_id, subscription_id, seq, record = row[:5]
    return loads_delivery(
        record, endpoint_id=endpoint_id, event_id=event_id, subscription_id=subscription_id,
        sequence=seq,
    )  # fmt: skip


def _stored(row: Sequence[Any]) -> StoredDelivery:
    body, by, until, generation = row[5:]
    return StoredDelivery(
        record=_record(row),
        body=bytes(body),
        claimed_by=by,
        claimed_until=None if until is None else dt.datetime.fromisoformat(until),
        generation=int(generation),
    )


def _next_attempt(record: DeliveryRecord) -> str | None:
    when = record.next_attempt_at
    return None if when is None else utc_text(when)


def _cursor_is(was: FeedCursor) -> tuple[str, tuple[Any, ...]]:
    """The condition a cursor row meets when it is at ``was``, and its parameters."""
    ingested = "webhook_cursors.ingested = ?"
    if was.position is None:
        return f"webhook_cursors.position IS NULL AND {ingested}", (was.ingested,)
    return f"webhook_cursors.position = ? AND {ingested}", (was.position, was.ingested)


class SQLDeliveries(SQLBase):
    """The ``DeliveryLog`` methods of ``SQLUnitOfWork`` (see ``reseller_plans.delivery_log``).

    A delivery's identity (its endpoint, event, subscription and sequence) is written when it
    is ingested and never changes: ``finish_delivery`` and ``change_delivery`` store a record's
    state, attempts, results and operators' marks, not its identity.
    """

    def feed_cursor(self, endpoint_id: str) -> FeedCursor:
        row = self._run(
            "SELECT position, ingested FROM webhook_cursors WHERE endpoint_id = ?",
            (endpoint_id,),
        ).fetchone()
        return FeedCursor() if row is None else FeedCursor(row[0], int(row[1]))

    def _move_cursor(self, endpoint_id: str, *, was: FeedCursor, now: FeedCursor) -> bool:
        """Compare and set the endpoint's cursor in one statement; whether it moved."""
        at_was, params = _cursor_is(was)
        if was == FeedCursor():  # no row yet, or a row still at the start
            row = self._run(
                "INSERT INTO webhook_cursors (endpoint_id, position, ingested)"  # noqa: S608
                " VALUES (?, ?, ?) ON CONFLICT (endpoint_id) DO UPDATE SET"
                f" position = excluded.position, ingested = excluded.ingested WHERE {at_was}"
                " RETURNING 1",
                (endpoint_id, now.position, now.ingested, *params),
            ).fetchone()
            return row is not None
        cursor = self._run(
            "UPDATE webhook_cursors SET position = ?, ingested = ?"  # noqa: S608
            f" WHERE endpoint_id = ? AND {at_was}",
            (now.position, now.ingested, endpoint_id, *params),
        )
        return cursor.rowcount == 1

    def ingest_deliveries(
        self, endpoint_id: str, deliveries: Sequence[StoredDelivery], *,
        was: FeedCursor, now: FeedCursor,
    ) -> bool:  # fmt: skip
        if not self._move_cursor(endpoint_id, was=was, now=now):
            return False
        for stored in deliveries:
            record = stored.record
            until = stored.claimed_until
            self._run(
                f"INSERT INTO webhook_deliveries ({_COLUMNS}, state, next_attempt_at)"  # noqa: S608
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                (
                    record.endpoint_id, record.event_id, record.subscription_id,
                    record.sequence, dumps_delivery(record), bytes(stored.body),
                    stored.claimed_by, None if until is None else utc_text(until),
                    stored.generation, record.state.value, _next_attempt(record),
                ),
            )  # fmt: skip
        return True

    def next_deliveries(
        self, endpoint_id: str, *, now: dt.datetime, hold_back: bool, limit: int
    ) -> list[StoredDelivery]:
        rows = self._run(
            _NEXT.format(blocking=_BLOCKING[hold_back]), (endpoint_id, utc_text(now), limit)
        ).fetchall()
        return [_stored(row) for row in rows]

    def claim_delivery(
        self, endpoint_id: str, event_id: str, owner: str, *, now: dt.datetime,
        until: dt.datetime,
    ) -> StoredDelivery | None:  # fmt: skip
        row = self._run(
            "UPDATE webhook_deliveries SET claimed_by = ?, claimed_until = ?,"  # noqa: S608
            " generation = generation + 1"
            f" WHERE endpoint_id = ? AND event_id = ? AND state = 'pending' AND {_UNCLAIMED}"
            f" RETURNING {_COLUMNS}",
            (owner, utc_text(until), endpoint_id, event_id, utc_text(now)),
        ).fetchone()
        return None if row is None else _stored(row)

    def finish_delivery(self, claimed: StoredDelivery, record: DeliveryRecord) -> bool:
        cursor = self._run(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, record = ?,"
            " claimed_by = NULL, claimed_until = NULL"
            " WHERE endpoint_id = ? AND event_id = ? AND claimed_by = ? AND generation = ?",
            (
                record.state.value, _next_attempt(record), dumps_delivery(record),
                *claimed.key, claimed.claimed_by, claimed.generation,
            ),
        )  # fmt: skip
        return cursor.rowcount == 1

    def get_delivery(self, endpoint_id: str, event_id: str) -> StoredDelivery | None:
        row = self._run(
            f"SELECT {_COLUMNS} FROM webhook_deliveries"  # noqa: S608
            " WHERE endpoint_id = ? AND event_id = ?",
            (endpoint_id, event_id),
        ).fetchone()
        return None if row is None else _stored(row)

    def change_delivery(
        self, record: DeliveryRecord, *, was: DeliveryState, now: dt.datetime
    ) -> bool:
        cursor = self._run(
            "UPDATE webhook_deliveries SET state = ?, next_attempt_at = ?, record = ?,"  # noqa: S608
            " claimed_by = NULL, claimed_until = NULL, generation = generation + 1"
            f" WHERE endpoint_id = ? AND event_id = ? AND state = ? AND {_UNCLAIMED}",
            (
                record.state.value, _next_attempt(record), dumps_delivery(record),
                record.endpoint_id, record.event_id, was.value, utc_text(now),
            ),
        )  # fmt: skip
        return cursor.rowcount == 1

    def deliveries_page(
        self, *, state: DeliveryState | None, endpoint_id: str | None,
        subscription_id: str | None, after: tuple[str, int, str] | None, limit: int,
    ) -> list[DeliveryRecord]:  # fmt: skip
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("state", None if state is None else state.value),
            ("endpoint_id", endpoint_id),
            ("subscription_id", subscription_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if after is not None:
            where.append("(endpoint_id, seq, event_id) > (?, ?, ?)")
            params += after
        clause = " AND ".join(where) or "1 = 1"
        rows = self._run(
            f"SELECT {_RECORD} FROM webhook_deliveries WHERE {clause}"  # noqa: S608
            " ORDER BY endpoint_id, seq, event_id LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [_record(row) for row in rows]

    def count_deliveries(self, state: DeliveryState) -> int:
        return int(
            self._one("SELECT COUNT(*) FROM webhook_deliveries WHERE state = ?", (state.value,))
        )
