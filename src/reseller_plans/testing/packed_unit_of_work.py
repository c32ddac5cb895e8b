"""One transaction of ``PackedStore``: reads see the store plus the transaction's staged writes.

Nothing is written to the store until the ``with`` block ends normally. Then everything that
could fail (packing) is done first, into locals, and only then handed to the store
(``PackedStore._apply``), which changes its state and indexes with nothing left that can fail:
a commit applies whole or not at all.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from operator import attrgetter, itemgetter
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.schedule import is_due
from reseller_plans.domain.subscription import Subscription
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.coordination import Coordinated
from reseller_plans.testing.packing import pack_events, unpack_events

if TYPE_CHECKING:
    from reseller_plans.testing.packed_store import PackedStore

__all__ = ["DELETED", "PackedUnitOfWork", "is_unsent"]

DELETED = object()
"""A staged alias hold that the commit deletes."""
_first = itemgetter(0)
_queued = attrgetter("created_at", "id")


def is_unsent(entry: OutboxEntry) -> bool:
    """Whether the outbox entry still waits to be sent."""
    return entry.status is MessageStatus.WAITING


class PackedUnitOfWork(Coordinated):
    """One transaction over a ``PackedStore`` (the ``UnitOfWork`` port)."""

    __slots__ = ("_coordination", "dirty", "events", "holds", "idem", "outbox", "store", "subs")

    def __init__(self, store: PackedStore) -> None:
        self.store = store
        self.dirty = False  # most units of work only read: nothing to commit
        self.subs: dict[str, Subscription] = {}
        self.events: list[tuple[str, Sequence[Event]]] = []
        self.outbox: dict[str, OutboxEntry] = {}
        self.idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self.holds: dict[str, AliasHold | object] = {}
        self._coordination = store._coordination.begin()

    def __enter__(self) -> PackedUnitOfWork:
        self.store._lock.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._coordination.commit()
                if self.dirty:
                    self._commit()
        finally:
            self.store._lock.release()

    # subscriptions
    def get(self, subscription_id: str) -> Subscription | None:
        return self.subs.get(subscription_id) or self.store._subscription(subscription_id)

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        for sid in self.store._ids_of(account_id):
            sub = self.get(sid)
            if sub is not None and sub.is_live:
                return sub
        for sub in self.subs.values():
            if sub.account_id == account_id and sub.is_live:
                return sub
        return None

    def subscriptions_page(
        self, query: SubscriptionQuery, *, after: int | None, limit: int
    ) -> list[tuple[int, Subscription]]:
        store = self.store
        changed = dict(store._changed)
        for _, events in self.events:
            for event in events:
                if (
                    event.subscription_id not in changed
                    or event.at > changed[event.subscription_id]
                ):
                    changed[event.subscription_id] = event.at
        ids = list(store._subs) + [sid for sid in self.subs if sid not in store._subs]
        found: list[tuple[int, Subscription]] = []
        for position, sid in enumerate(ids, start=1):
            if after is not None and position <= after:
                continue
            sub = self.get(sid)
            if sub is not None and query.matches(sub, changed.get(sid)):
                found.append((position, sub))
                if len(found) == limit:
                    break
        return found

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        ids = self.store._ids_of(account_id)
        ids += [s.id for s in self.subs.values() if s.account_id == account_id and s.id not in ids]
        return [sub for sid in ids if (sub := self.get(sid)) is not None]

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        if self.get(subscription.id) is not None:
            raise ConcurrentUpdate(f"subscription {subscription.id} already exists")
        if subscription.is_live and self.live_subscription_of(subscription.account_id):
            raise ConcurrentUpdate(f"account {subscription.account_id} has a live subscription")
        self.dirty = True
        self.subs[subscription.id] = subscription
        self.events.append((subscription.id, events))

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        current = self.get(subscription.id)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self.dirty = True
        self.subs[subscription.id] = subscription
        self.events.append((subscription.id, events))

    def history(self, subscription_id: str) -> list[Event]:
        staged = [e for sid, events in self.events if sid == subscription_id for e in events]
        packed = self.store._history.get(subscription_id)
        committed = [] if packed is None else unpack_events(subscription_id, packed)
        return committed + staged

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        waiting = self._coordination.backed_off
        return [sid for sid in self._due(now, limit * 2 + 8) if not waiting(sid, now)][:limit]

    def _due(self, now: dt.datetime, limit: int) -> list[str]:
        store = self.store
        staged = self.subs
        due: list[str] = []
        times = store._due_times
        for i in range(bisect.bisect_right(times, now)):
            bucket = store._due_at[times[i]]
            if type(bucket) is str:
                due.append(bucket)
            else:
                due += bucket
            if len(due) >= limit and not staged:
                return due[:limit]
        if staged:
            due = [sid for sid in due if sid not in staged]
            due += [sid for sid, sub in staged.items() if is_due(sub, now)]
        return due[:limit]

    # outbox
    def add_outbox(self, entry: OutboxEntry) -> None:
        store = self.store
        if entry.id in self.outbox or entry.id in store._unsent:
            return
        if not store._is_settled(entry.subscription_id, entry.id):
            self.dirty = True
            self.outbox[entry.id] = entry

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        store = self.store
        unsent: list[OutboxEntry] = []
        for entry_id, entry in store._unsent.items():
            if len(unsent) >= limit:
                return unsent
            entry = self.outbox.get(entry_id, entry)  # noqa: PLW2901 - as this transaction sees it
            if is_unsent(entry):
                unsent.append(entry)
        for entry_id, entry in self.outbox.items():
            if entry_id not in store._unsent and is_unsent(entry):
                unsent.append(entry)
        return unsent[:limit]

    def update_outbox(self, entry: OutboxEntry) -> None:
        self.dirty = True
        self.outbox[entry.id] = entry
        self._coordination.unclaim(entry.id)

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        store, staged = self.store, self.outbox
        stored = store._settled_of(subscription_id)
        stored += [store._unsent[i] for i in store._unsent_of.get(subscription_id, ())]
        ids = {e.id for e in stored}
        entries = [staged.get(e.id, e) for e in stored]
        entries += [
            e for e in staged.values() if e.subscription_id == subscription_id and e.id not in ids
        ]
        entries.sort(key=_queued)  # as the SQL stores give them
        return entries

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        store = self.store
        found = self.outbox.get(entry_id) or store._unsent.get(entry_id)
        if found is not None:
            return found
        sids = [store._failed[entry_id]] if entry_id in store._failed else list(store._settled)
        for sid in sids:  # a sent message: a scan (the simulator never asks)
            for entry in store._settled_of(sid):
                if entry.id == entry_id:
                    return entry
        return None

    def reclaim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        entry = self.get_outbox(entry_id)
        if entry is None or entry.sent_at is not None:
            return None
        if not self._coordination.claim(entry_id, owner, now, until):
            return None
        fresh = attrs.evolve(entry, attempts=0, last_error=None, failed_permanently=False)
        self.dirty = True
        self.outbox[entry_id] = fresh  # claimed: not through update_outbox, which unclaims
        return fresh

    def _entries(self, status: MessageStatus | None) -> list[OutboxEntry]:
        store = self.store
        if status is MessageStatus.WAITING:
            stored = list(store._unsent.values())
        elif status is MessageStatus.FAILED:
            stored = [e for sid in dict.fromkeys(store._failed.values())
                      for e in store._settled_of(sid) if e.id in store._failed]  # fmt: skip
        else:
            stored = list(store._unsent.values())
            stored += [e for sid in store._settled for e in store._settled_of(sid)]
        staged = self.outbox
        entries = [staged.get(e.id, e) for e in stored]
        known = {e.id for e in stored}
        return entries + [e for e in staged.values() if e.id not in known]

    def outbox_page(
        self,
        *,
        status: MessageStatus | None,
        subscription_id: str | None,
        distributor_id: str | None = None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[OutboxEntry]:
        if subscription_id is not None:
            entries = self.outbox_of(subscription_id)
        else:
            entries = sorted(self._entries(status), key=_queued)
        found = [
            e for e in entries
            if (status is None or e.status is status) and (after is None or _queued(e) > after)
        ]  # fmt: skip
        if distributor_id is not None:
            found = [e for e in found if (sub := self.get(e.subscription_id)) is not None
                     and sub.distributor_id == distributor_id]  # fmt: skip
        return found[:limit]

    def count_outbox(self, status: MessageStatus) -> int:
        return sum(1 for e in self._entries(status) if e.status is status)

    def events_after(self, after: str | None, limit: int) -> list[FeedEvent]:
        raise InvalidInput(
            "a PackedStore has no feed (it keeps each history packed, not the order of the "
            "commits): use an InMemoryStore or a SQL store for events()"
        )

    def record_events(self, events: Sequence[Event]) -> None:
        self.dirty = True
        for event in events:
            self.events.append((event.subscription_id, (event,)))

    # idempotency
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self.idem.get((scope, key)) or self.store._idem.get((scope, key))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self.dirty = True
        self.idem[(record.scope, record.key)] = record

    # alias holds
    def get_alias_hold(self, alias: str) -> AliasHold | None:
        if alias in self.holds:
            hold = self.holds[alias]
            return hold if isinstance(hold, AliasHold) else None
        return self.store._hold(alias)

    def put_alias_hold(self, hold: AliasHold) -> None:
        self.dirty = True
        self.holds[hold.alias] = hold

    def delete_alias_hold(self, alias: str) -> None:
        self.dirty = True
        self.holds[alias] = DELETED

    def reserve_alias_hold(self, alias: str, account_id: str) -> bool:
        hold = self.get_alias_hold(alias)
        if hold is not None and hold.account_id != account_id:
            return False
        self.put_alias_hold(AliasHold(alias, account_id, None))
        return True

    def release_alias_hold(self, alias: str, account_id: str) -> None:
        hold = self.get_alias_hold(alias)
        if hold is not None and hold.account_id == account_id:
            self.delete_alias_hold(alias)

    def claim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        entry = self.outbox.get(entry_id) or self.store._unsent.get(entry_id)
        if entry is None or not is_unsent(entry):
            return None
        return entry if self._coordination.claim(entry_id, owner, now, until) else None

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        expiries = self.store._expiries
        end = bisect.bisect_right(expiries, now, key=_first)
        aliases = {alias for _, alias in expiries[:end]} | set(self.holds)
        holds = [self.get_alias_hold(a) for a in sorted(aliases)]
        return [h for h in holds if h is not None and h.until is not None and h.until <= now]

    def _commit(self) -> None:
        store = self.store
        histories: dict[str, bytes] = {}
        for sid, events in self.events:
            if events:
                histories[sid] = pack_events(histories.get(sid) or store._history.get(sid), events)
        settled = store._settled_after(self.outbox.values()) if self.outbox else {}
        store._apply(self, histories, settled)
