"""The delivery log: what a store keeps of webhook deliveries (the ``DeliveryLog`` port).

A store that can carry webhooks gives its units of work these methods besides the
``UnitOfWork`` port's: each endpoint's place in the feed (its *cursor*), one row per delivery
(an event on its way to an endpoint: its :class:`~reseller_plans.domain.deliveries.DeliveryRecord`,
its body, and the claim of the sender making an attempt), and the operator's queries.

The rules live in the domain (:mod:`reseller_plans.domain.deliveries`,
:mod:`reseller_plans.domain.delivery_order`). The store keeps the records, finds what may go
next (per subscription, the first delivery not done: a query over its columns, as ``due`` is
for subscriptions), and makes the two writes that must be atomic: moving a cursor (so that two
notifiers never ingest the same events twice), and claiming a delivery (so that two notifiers
never send it at once, and an attempt whose claim was taken over by another cannot record its
outcome: the claim's *generation* is its fencing token).

``InMemoryStore``, ``SQLiteStore`` and ``PostgresStore`` implement it; the simulator's
``PackedStore`` does not, and a ``ResellerPlans`` given webhooks over it is refused when it is
built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import attrs

from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState

__all__ = ["DeliveryLog", "FeedCursor", "StoredDelivery"]


@attrs.frozen
class FeedCursor:
    """Where an endpoint is in the feed.

    Attributes:
        position: the position of the last event ingested for it (None: none yet).
        ingested: how many events of the feed were read for it so far; the next one's
            ``DeliveryRecord.sequence`` is ``ingested + 1``.
    """

    position: str | None = None
    ingested: int = 0


@attrs.frozen
class StoredDelivery:
    """A delivery as the store keeps it.

    Attributes:
        record: its state, attempts and results.
        body: the body bytes, rendered once when it was ingested (the same on every attempt).
        claimed_by: the sender holding its claim, if any.
        claimed_until: when that claim ends unless it is finished first.
        generation: the fencing token: it goes up with each claim, and an outcome recorded
            under an older one is refused.
    """

    record: DeliveryRecord
    body: bytes = attrs.field(repr=False)
    claimed_by: str | None = None
    claimed_until: dt.datetime | None = None
    generation: int = 0

    @property
    def key(self) -> tuple[str, str]:
        """``(endpoint_id, event_id)``: what names it."""
        return self.record.endpoint_id, self.record.event_id

    def claimed_at(self, now: dt.datetime) -> bool:
        """Whether a sender's claim on it lasts at ``now``."""
        return self.claimed_until is not None and self.claimed_until > now


class DeliveryLog(Protocol):
    """The unit of work's methods for webhook deliveries (one transaction, as the rest)."""

    def feed_cursor(self, endpoint_id: str) -> FeedCursor:
        """The endpoint's place in the feed (``FeedCursor()`` for a new endpoint)."""
        ...

    def ingest_deliveries(
        self, endpoint_id: str, deliveries: Sequence[StoredDelivery], *,
        was: FeedCursor, now: FeedCursor,
    ) -> bool:  # fmt: skip
        """Move the endpoint's cursor from ``was`` to ``now`` and add the deliveries read
        between the two, atomically. Returns False, and writes nothing, when the cursor is no
        longer at ``was`` (another notifier ingested them meanwhile)."""
        ...

    def next_deliveries(
        self, endpoint_id: str, *, now: dt.datetime, hold_back: bool, limit: int
    ) -> list[StoredDelivery]:
        """Up to ``limit`` deliveries to the endpoint that may go at ``now``, in feed order
        (``sequence``): per subscription, the first one not delivered nor skipped, when it is
        pending and its next attempt is due (``hold_back``: a dead letter holds back the ones
        after it); or, without ``hold_back``, the first pending one, when it is due. At most one
        per subscription: what ``sendable`` would choose, found without reading the rest."""
        ...

    def claim_delivery(
        self, endpoint_id: str, event_id: str, owner: str, *, now: dt.datetime,
        until: dt.datetime,
    ) -> StoredDelivery | None:  # fmt: skip
        """Claim a pending delivery for one attempt, atomically: when no other sender's claim
        lasts at ``now``. The generation goes up by one. Returns it claimed, or None."""
        ...

    def finish_delivery(self, claimed: StoredDelivery, record: DeliveryRecord) -> bool:
        """Record an attempt's outcome and end the claim, if the claim is still ``claimed``'s
        (same owner, same generation). Returns False, and writes nothing, when it is not (it
        ran out and another sender took it, or an operator changed the delivery)."""
        ...

    def get_delivery(self, endpoint_id: str, event_id: str) -> StoredDelivery | None:
        """One delivery, or None."""
        ...

    def change_delivery(
        self, record: DeliveryRecord, *, was: DeliveryState, now: dt.datetime
    ) -> bool:
        """An operator's change (a redrive, a skip): store ``record`` if the delivery is still
        in state ``was`` and no sender's claim on it lasts at ``now``; any claim ends and the
        generation goes up, so that an attempt in flight cannot record its outcome over it.
        Returns whether it did."""
        ...

    def deliveries_page(
        self, *, state: DeliveryState | None, endpoint_id: str | None,
        subscription_id: str | None, after: tuple[str, int, str] | None, limit: int,
    ) -> list[DeliveryRecord]:  # fmt: skip
        """Up to ``limit`` deliveries in that state, to that endpoint, of that subscription
        (any, for None), ordered by ``(endpoint_id, sequence, event_id)``, after that key."""
        ...

    def count_deliveries(self, state: DeliveryState) -> int:
        """How many deliveries are in that state."""
        ...
