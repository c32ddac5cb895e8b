"""The ``DeliveryLog`` of ``InMemoryStore``: webhook cursors and deliveries in plain dicts.

The committed tables are a :class:`DeliveryTables`; a unit of work stages its writes in a
:class:`StagedDeliveries` and the store applies them when it commits, as it does the rest. The
store's lock serializes units of work, so a claim (read, check, write) is atomic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from reseller_plans.delivery_log import FeedCursor, StoredDelivery
from reseller_plans.domain.deliveries import DeliveryRecord, DeliveryState

__all__ = ["DeliveryTables", "MemoryDeliveries", "StagedDeliveries"]

_OPEN = (DeliveryState.PENDING, DeliveryState.DEAD)
Key = tuple[str, str]


def _order(stored: StoredDelivery) -> tuple[int, str]:
    return stored.record.sequence, stored.record.event_id


def _listing(record: DeliveryRecord) -> tuple[str, int, str]:
    return record.endpoint_id, record.sequence, record.event_id


class DeliveryTables:
    """The committed cursors and deliveries of one in-memory store."""

    def __init__(self) -> None:
        self.cursors: dict[str, FeedCursor] = {}
        self.deliveries: dict[Key, StoredDelivery] = {}

    def apply(self, staged: StagedDeliveries) -> None:
        """Apply a unit of work's staged writes."""
        self.cursors.update(staged.cursors)
        self.deliveries.update(staged.deliveries)


class StagedDeliveries:
    """A unit of work's writes to the delivery tables, applied when it commits."""

    def __init__(self) -> None:
        self.cursors: dict[str, FeedCursor] = {}
        self.deliveries: dict[Key, StoredDelivery] = {}


class MemoryDeliveries:
    """The ``DeliveryLog`` methods of the in-memory unit of work."""

    _tables: DeliveryTables
    _staged: StagedDeliveries

    def _delivery(self, key: Key) -> StoredDelivery | None:
        return self._staged.deliveries.get(key) or self._tables.deliveries.get(key)

    def _all_deliveries(self) -> list[StoredDelivery]:
        merged = dict(self._tables.deliveries) | self._staged.deliveries
        return list(merged.values())

    def feed_cursor(self, endpoint_id: str) -> FeedCursor:
        staged = self._staged.cursors.get(endpoint_id)
        return staged or self._tables.cursors.get(endpoint_id) or FeedCursor()

    def ingest_deliveries(
        self, endpoint_id: str, deliveries: Sequence[StoredDelivery], *,
        was: FeedCursor, now: FeedCursor,
    ) -> bool:  # fmt: skip
        if self.feed_cursor(endpoint_id) != was:
            return False
        self._staged.cursors[endpoint_id] = now
        for stored in deliveries:
            if self._delivery(stored.key) is None:  # as ON CONFLICT DO NOTHING
                self._staged.deliveries[stored.key] = stored
        return True

    def next_deliveries(
        self, endpoint_id: str, *, now: dt.datetime, hold_back: bool, limit: int
    ) -> list[StoredDelivery]:
        blocking = _OPEN if hold_back else (DeliveryState.PENDING,)
        heads: dict[str, StoredDelivery] = {}
        for stored in sorted(self._all_deliveries(), key=_order):
            record = stored.record
            if record.endpoint_id != endpoint_id or record.state not in blocking:
                continue
            heads.setdefault(record.subscription_id, stored)
        found = [s for s in heads.values() if s.record.state is DeliveryState.PENDING
                 and s.record.is_due(now)]  # fmt: skip
        return sorted(found, key=_order)[:limit]

    def claim_delivery(
        self, endpoint_id: str, event_id: str, owner: str, *, now: dt.datetime,
        until: dt.datetime,
    ) -> StoredDelivery | None:  # fmt: skip
        stored = self._delivery((endpoint_id, event_id))
        if stored is None or stored.record.state is not DeliveryState.PENDING:
            return None
        if stored.claimed_at(now):
            return None
        claimed = attrs.evolve(
            stored, claimed_by=owner, claimed_until=until, generation=stored.generation + 1
        )
        self._staged.deliveries[stored.key] = claimed
        return claimed

    def finish_delivery(self, claimed: StoredDelivery, record: DeliveryRecord) -> bool:
        stored = self._delivery(claimed.key)
        if (
            stored is None
            or stored.claimed_by != claimed.claimed_by
            or stored.generation != claimed.generation
        ):
            return False
        self._staged.deliveries[stored.key] = attrs.evolve(
            stored, record=record, claimed_by=None, claimed_until=None
        )
        return True

    def get_delivery(self, endpoint_id: str, event_id: str) -> StoredDelivery | None:
        return self._delivery((endpoint_id, event_id))

    def change_delivery(
        self, record: DeliveryRecord, *, was: DeliveryState, now: dt.datetime
    ) -> bool:
        stored = self._delivery((record.endpoint_id, record.event_id))
        if stored is None or stored.record.state is not was or stored.claimed_at(now):
            return False
        self._staged.deliveries[stored.key] = attrs.evolve(
            stored, record=record, claimed_by=None, claimed_until=None,
            generation=stored.generation + 1,
        )  # fmt: skip
        return True

    def deliveries_page(
        self, *, state: DeliveryState | None, endpoint_id: str | None,
        subscription_id: str | None, after: tuple[str, int, str] | None, limit: int,
    ) -> list[DeliveryRecord]:  # fmt: skip
        found = [
            s.record for s in self._all_deliveries()
            if (state is None or s.record.state is state)
            and (endpoint_id is None or s.record.endpoint_id == endpoint_id)
            and (subscription_id is None or s.record.subscription_id == subscription_id)
            and (after is None or _listing(s.record) > after)
        ]  # fmt: skip
        return sorted(found, key=_listing)[:limit]

    def count_deliveries(self, state: DeliveryState) -> int:
        return sum(1 for s in self._all_deliveries() if s.record.state is state)
