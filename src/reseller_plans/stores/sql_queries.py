"""The queries of the SQL stores' units of work: the outbox's messages by status, and the
subscriptions that match a ``SubscriptionQuery``, one page at a time over indexed columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import OutboxEntry
from reseller_plans.stores.codec import loads_event, loads_subscription, outbox_from_row
from reseller_plans.stores.sql_base import SQLBase, utc_text

__all__ = ["SQLQueries"]

_STATUS_WHERE = {
    MessageStatus.WAITING: "sent_at IS NULL AND failed_permanently = 0",
    MessageStatus.FAILED: "sent_at IS NULL AND failed_permanently = 1",
    MessageStatus.SENT: "sent_at IS NOT NULL",
}
"""Each status of a message, as the outbox's columns say it (the indexes match the first two)."""


class SQLQueries(SQLBase):
    """The read-only queries of ``SQLUnitOfWork``."""

    def _outbox(self, where: str, params: Sequence[Any]) -> list[OutboxEntry]:
        cursor = self._run(f"SELECT * FROM outbox WHERE {where}", params)  # noqa: S608
        names = [d[0] for d in cursor.description]
        return [outbox_from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        found = self._outbox("id = ?", (entry_id,))
        return found[0] if found else None

    def outbox_page(
        self,
        *,
        status: MessageStatus | None,
        subscription_id: str | None,
        distributor_id: str | None = None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[OutboxEntry]:
        where = [_STATUS_WHERE[status]] if status is not None else []
        params: list[Any] = []
        if subscription_id is not None:
            where.append("subscription_id = ?")
            params.append(subscription_id)
        if distributor_id is not None:
            where.append(
                "subscription_id IN (SELECT id FROM subscriptions WHERE distributor_id = ?)"
            )
            params.append(distributor_id)
        if after is not None:
            at = after[0].astimezone(dt.UTC).isoformat()  # as outbox_to_row stores it
            where.append("(created_at > ? OR (created_at = ? AND id > ?))")
            params += [at, at, after[1]]
        clause = " AND ".join(where) or "1 = 1"
        return self._outbox(f"{clause} ORDER BY created_at, id LIMIT ?", (*params, limit))

    def count_outbox(self, status: MessageStatus) -> int:
        where = _STATUS_WHERE[status]
        return int(self._one(f"SELECT COUNT(*) FROM outbox WHERE {where}"))  # noqa: S608

    def subscriptions_page(
        self, query: SubscriptionQuery, *, after: int | None, limit: int
    ) -> list[tuple[int, Subscription]]:
        order = self._dialect.insertion_order
        where: list[str] = [f"{order} > ?"]
        params: list[object] = [after or 0]
        for column, value in (
            ("distributor_id", query.distributor_id),
            ("account_id", query.account_id),
            ("sync", None if query.sync is None else query.sync.value),
            ("plan", None if query.plan is None else query.plan.value),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.statuses:
            statuses = sorted(s.value for s in query.statuses)
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params += statuses
        if query.changed_since is not None:
            where.append("changed_at >= ?")
            params.append(utc_text(query.changed_since))
        rows = self._run(
            f"SELECT {order}, body FROM subscriptions WHERE {' AND '.join(where)}"  # noqa: S608
            f" ORDER BY {order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [(int(row[0]), loads_subscription(row[1])) for row in rows]

    def events_after(self, after: str | None, limit: int) -> list[FeedEvent]:
        dialect = self._dialect
        transaction, seq = _cursor(after, dialect.name)
        key = dialect.feed_transaction
        params: tuple[int, ...]
        if key == "0":  # one writer at a time: the sequence is the commit order (its index)
            where, params = "seq > ?", (seq,)
        else:
            where = f"({key} > ? OR ({key} = ? AND seq > ?)) AND {dialect.feed_visible}"
            params = (transaction, transaction, seq)
        rows = self._run(
            f"SELECT {key} AS feed_tx, seq, body FROM events WHERE {where}"  # noqa: S608
            f" ORDER BY {self._feed_order} LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [
            FeedEvent(f"evt_{row[1]}", f"{dialect.name}:{row[0]}.{row[1]}", loads_event(row[2]))
            for row in rows
        ]


_BIGINT = 2**63 - 1


def _cursor(after: str | None, kind: str) -> tuple[int, int]:
    """The (transaction, sequence) a position of this kind of store's feed names."""
    if after is None:
        return 0, 0
    prefix, colon, rest = after.partition(":")
    transaction, dot, seq = rest.partition(".")
    numbers = (transaction, seq)
    if (
        prefix != kind or not colon or not dot
        or not all(n.isascii() and n.isdigit() and int(n) <= _BIGINT for n in numbers)
    ):  # fmt: skip
        raise InvalidInput(f"{after!r} is not a position of this store's feed")
    return int(transaction), int(seq)
