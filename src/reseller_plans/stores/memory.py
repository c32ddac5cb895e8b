"""``InMemoryStore``: the reference implementation of the ``Store`` port, in plain dicts.

It keeps every subscription, event, outbox entry, idempotency record and alias hold as the
objects it was given, and answers each query by looking through them: meant to be read, and to
be the store of tests and of small worlds, not of a large population.

It is honest about transactions, as a database is: a unit of work stages its writes and applies
them, all of them, only when its ``with`` block ends normally, so a block that raises leaves
nothing behind. A write that conflicts with the store (a second live subscription for an
account, a save from a stale version) raises ``ConcurrentUpdate`` at once. Units of work are
serialized by a lock, so the store is safe to share between threads. Queries order what they
return as the SQL stores do.

Due-ness (``due_at``, ``is_due``...) is decided by ``reseller_plans.domain.schedule``; the names
are importable from here too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

import attrs

from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.feed import FeedEvent
from reseller_plans.domain.filters import SubscriptionQuery
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.schedule import ALWAYS, applicable_change, due_at, is_due
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.coordination import Coordinated, Coordination
from reseller_plans.stores.memory_deliveries import (
    DeliveryTables,
    MemoryDeliveries,
    StagedDeliveries,
)

__all__ = ["ALWAYS", "InMemoryStore", "applicable_change", "due_at", "is_due"]

_DELETED = object()
"""A staged alias hold that the commit deletes."""


def _is_unsent(entry: OutboxEntry) -> bool:
    return entry.status is MessageStatus.WAITING


def _queued(entry: OutboxEntry) -> tuple[dt.datetime, str]:
    return entry.created_at, entry.id


def _position(after: str | None) -> int:
    """The feed position a cursor of this store names (how many events come before)."""
    if after is None:
        return 0
    prefix, colon, n = after.partition(":")
    if prefix != "memory" or not colon or not n.isascii() or not n.isdigit():
        raise InvalidInput(f"{after!r} is not a position of this store's feed")
    return int(n)


def _note_changes(changed: dict[str, dt.datetime], events: Sequence[Event]) -> None:
    """Move each subscription's latest event instant on to the events' (it never goes back)."""
    for event in events:
        before = changed.get(event.subscription_id)
        if before is None or event.at > before:
            changed[event.subscription_id] = event.at


class _MemoryUnitOfWork(MemoryDeliveries, Coordinated):
    """One transaction: reads see the store plus this transaction's staged writes."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._subs: dict[str, Subscription] = {}
        self._events: list[Event] = []
        self._outbox: dict[str, OutboxEntry] = {}
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold | object] = {}
        self._coordination = store._coordination.begin()
        self._tables = store._deliveries
        self._staged = StagedDeliveries()

    def __enter__(self) -> _MemoryUnitOfWork:
        self._store._lock.acquire()
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
                self._tables.apply(self._staged)
                self._store._apply(self._subs, self._events, self._outbox, self._idem, self._holds)
        finally:
            self._store._lock.release()

    # subscriptions
    def _all_subscriptions(self) -> list[Subscription]:
        """Every subscription as this transaction sees it, in the order they were created."""
        stored = self._store._subs
        subs = [self._subs.get(sid, sub) for sid, sub in stored.items()]
        return subs + [sub for sid, sub in self._subs.items() if sid not in stored]

    def get(self, subscription_id: str) -> Subscription | None:
        return self._subs.get(subscription_id) or self._store._subs.get(subscription_id)

    def subscriptions_page(
        self, query: SubscriptionQuery, *, after: int | None, limit: int
    ) -> list[tuple[int, Subscription]]:
        changed = dict(self._store._changed)
        _note_changes(changed, self._events)
        found: list[tuple[int, Subscription]] = []
        for position, sub in enumerate(self._all_subscriptions(), start=1):
            if (after is None or position > after) and query.matches(sub, changed.get(sub.id)):
                found.append((position, sub))
                if len(found) == limit:
                    break
        return found

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        return next((s for s in self.subscriptions_of(account_id) if s.is_live), None)

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        store = self._store
        ids = dict.fromkeys(store._ids_of.get(account_id, []))
        ids |= {sid: None for sid, s in self._subs.items() if s.account_id == account_id}
        return [s for sid in ids if (s := self.get(sid)) is not None]

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        if self.get(subscription.id) is not None:
            raise ConcurrentUpdate(f"subscription {subscription.id} already exists")
        if subscription.is_live and self.live_subscription_of(subscription.account_id):
            raise ConcurrentUpdate(f"account {subscription.account_id} has a live subscription")
        self._subs[subscription.id] = subscription
        self._events += events

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        current = self.get(subscription.id)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self._subs[subscription.id] = subscription
        self._events += events

    def history(self, subscription_id: str) -> list[Event]:
        committed = self._store._histories.get(subscription_id, [])
        return committed + [e for e in self._events if e.subscription_id == subscription_id]

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        due = [(when, s.id) for s in self._all_subscriptions() if (when := due_at(s)) is not None]
        due.sort()  # earliest first; then by id, as the SQL stores do
        waiting = self._coordination.backed_off
        return [sid for when, sid in due if when <= now and not waiting(sid, now)][:limit]

    # outbox
    def _entry(self, entry_id: str) -> OutboxEntry | None:
        return self._outbox.get(entry_id) or self._store._outbox.get(entry_id)

    def add_outbox(self, entry: OutboxEntry) -> None:
        if self._entry(entry.id) is None:  # an entry is added once
            self._outbox[entry.id] = entry

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        ids = dict.fromkeys(self._store._unsent) | dict.fromkeys(self._outbox)
        unsent = [e for i in ids if (e := self._entry(i)) is not None and _is_unsent(e)]
        return sorted(unsent, key=_queued)[:limit]

    def update_outbox(self, entry: OutboxEntry) -> None:
        if self._entry(entry.id) is not None:  # as an SQL UPDATE: only an entry there is
            self._outbox[entry.id] = entry
            self._coordination.unclaim(entry.id)

    def claim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        entry = self._entry(entry_id)
        if entry is None or not _is_unsent(entry):
            return None
        return entry if self._coordination.claim(entry_id, owner, now, until) else None

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        ids = dict.fromkeys(self._store._outbox_of.get(subscription_id, []))
        ids |= {i: None for i, e in self._outbox.items() if e.subscription_id == subscription_id}
        return sorted([e for i in ids if (e := self._entry(i)) is not None], key=_queued)

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        return self._entry(entry_id)

    def reclaim_outbox(
        self, entry_id: str, owner: str, *, now: dt.datetime, until: dt.datetime
    ) -> OutboxEntry | None:
        entry = self._entry(entry_id)
        if entry is None or entry.sent_at is not None:
            return None
        if not self._coordination.claim(entry_id, owner, now, until):
            return None
        fresh = attrs.evolve(entry, attempts=0, last_error=None, failed_permanently=False)
        self._outbox[entry_id] = fresh  # claimed: not through update_outbox, which unclaims
        return fresh

    def _candidates(self, status: MessageStatus | None, subscription_id: str | None) -> list[str]:
        store = self._store
        if subscription_id is not None:
            ids = dict.fromkeys(store._outbox_of.get(subscription_id, []))
        elif status is MessageStatus.WAITING:
            ids = dict(store._unsent)
        elif status is MessageStatus.FAILED:
            ids = dict(store._failed)
        else:
            ids = dict.fromkeys(store._outbox)
        return list(ids | dict.fromkeys(self._outbox))

    def outbox_page(
        self,
        *,
        status: MessageStatus | None,
        subscription_id: str | None,
        distributor_id: str | None = None,
        after: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[OutboxEntry]:
        found = [
            e for i in self._candidates(status, subscription_id)
            if (e := self._entry(i)) is not None
            and (status is None or e.status is status)
            and (subscription_id is None or e.subscription_id == subscription_id)
            and (after is None or _queued(e) > after)
            and (distributor_id is None or self._of_distributor(e, distributor_id))
        ]  # fmt: skip
        return sorted(found, key=_queued)[:limit]

    def _of_distributor(self, entry: OutboxEntry, distributor_id: str) -> bool:
        sub = self.get(entry.subscription_id)
        return sub is not None and sub.distributor_id == distributor_id

    def count_outbox(self, status: MessageStatus) -> int:
        entries = (self._entry(i) for i in self._candidates(status, None))
        return sum(1 for e in entries if e is not None and e.status is status)

    def record_events(self, events: Sequence[Event]) -> None:
        self._events += events

    def events_after(self, after: str | None, limit: int) -> list[FeedEvent]:
        log = self._store._log
        if log is None:
            raise InvalidInput(
                "this InMemoryStore keeps no event log (keep_event_log=False): it has no feed"
            )
        start = _position(after)
        return [
            FeedEvent(f"evt_{n}", f"memory:{n}", event)
            for n, event in enumerate(log[start : start + limit], start=start + 1)
        ]

    # idempotency
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self._idem.get((scope, key)) or self._store._idem.get((scope, key))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._idem[(record.scope, record.key)] = record

    # alias holds
    def get_alias_hold(self, alias: str) -> AliasHold | None:
        hold = self._holds.get(alias) or self._store._holds.get(alias)
        return hold if isinstance(hold, AliasHold) else None

    def put_alias_hold(self, hold: AliasHold) -> None:
        self._holds[hold.alias] = hold

    def delete_alias_hold(self, alias: str) -> None:
        self._holds[alias] = _DELETED

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

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        aliases = dict.fromkeys(self._store._holds) | dict.fromkeys(self._holds)
        holds = [h for a in aliases if (h := self.get_alias_hold(a)) is not None]
        expired = [h for h in holds if h.until is not None and h.until <= now]
        return sorted(expired, key=lambda h: h.alias)  # as the SQL stores order them


class InMemoryStore:
    """A ``Store`` in memory. Survives the ``ResellerPlans`` objects that use it, so a test can
    discard a service mid-saga and resume with a new one over the same store.

    Besides the ``Store`` port it answers the questions a test harness asks of the whole store:
    :meth:`next_due_after` and :meth:`has_due_work` (when is there scheduled work),
    :meth:`events` (every event, in commit order), :meth:`subscriptions` (or
    :meth:`iter_subscriptions`), :meth:`census` and :meth:`alias_holds`; :meth:`add_listener`
    shows each commit's events as they happen.

    Args:
        keep_sent_context: keep the context of messages once sent (``outbox_of`` gives a sent
            message's context empty without it: a sent message is never rendered again).
        keep_event_log: keep every event in commit order, for :meth:`events`; without it, watch
            events as they are committed (:meth:`add_listener`). Each subscription's history is
            kept either way.
    """

    def __init__(self, *, keep_sent_context: bool = True, keep_event_log: bool = True) -> None:
        self._keep_sent_context = keep_sent_context
        self._lock = threading.RLock()
        self._listeners: list[Callable[[list[Event]], object]] = []
        self._subs: dict[str, Subscription] = {}
        """Subscriptions by id, in the order they were created."""
        self._ids_of: dict[str, list[str]] = {}
        """Account id → the ids of its subscriptions, in the order they were created."""
        self._histories: dict[str, list[Event]] = {}
        self._changed: dict[str, dt.datetime] = {}
        """Subscription id → the instant of its latest event (``changed_since``)."""
        self._log: list[Event] | None = [] if keep_event_log else None
        self._event_count = 0
        self._outbox: dict[str, OutboxEntry] = {}
        """Outbox entries by id, in the order they were added."""
        self._outbox_of: dict[str, list[str]] = {}
        """Subscription id → the ids of its outbox entries."""
        self._unsent: dict[str, None] = {}
        """The ids of the entries not sent yet (nor refused for good)."""
        self._failed: dict[str, None] = {}
        """The ids of the entries refused for good (until resent)."""
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold] = {}
        self._coordination = Coordination()
        """Leases, outbox claims and the notes of failed due work."""
        self._deliveries = DeliveryTables()
        """Webhook cursors and deliveries (the ``DeliveryLog``)."""

    def unit_of_work(self) -> _MemoryUnitOfWork:
        """Open one transaction (a context manager: it commits when the block ends normally)."""
        return _MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release."""

    def _apply(
        self,
        subs: dict[str, Subscription],
        events: list[Event],
        outbox: dict[str, OutboxEntry],
        idem: dict[tuple[str, str], IdempotencyRecord],
        holds: dict[str, AliasHold | object],
    ) -> None:
        """Apply a unit of work's staged writes (nothing here can fail), then tell listeners."""
        for sid, sub in subs.items():
            if sid not in self._subs:
                self._ids_of.setdefault(sub.account_id, []).append(sid)
            self._subs[sid] = sub
        for event in events:
            self._histories.setdefault(event.subscription_id, []).append(event)
        _note_changes(self._changed, events)
        if self._log is not None:
            self._log += events
        self._event_count += len(events)
        for entry_id, entry in outbox.items():
            if entry_id not in self._outbox:
                self._outbox_of.setdefault(entry.subscription_id, []).append(entry_id)
            if not self._keep_sent_context and entry.sent_at is not None:
                entry = attrs.evolve(entry, context={})  # noqa: PLW2901 - the one kept
            self._outbox[entry_id] = entry
            if _is_unsent(entry):
                self._unsent[entry_id] = None
            else:
                self._unsent.pop(entry_id, None)
            if entry.status is MessageStatus.FAILED:
                self._failed[entry_id] = None
            else:
                self._failed.pop(entry_id, None)
        self._idem.update(idem)
        for alias, hold in holds.items():
            if isinstance(hold, AliasHold):
                self._holds[alias] = hold
            else:
                self._holds.pop(alias, None)
        if events:
            self._tell_listeners(events)

    def _tell_listeners(self, events: list[Event]) -> None:
        """Every listener sees the commit, even when one before it raises; then the first
        error is raised."""
        error: Exception | None = None
        for listener in self._listeners:
            try:
                listener(list(events))
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    # ------------------------------------------------------------------ for test harnesses

    def next_due_after(self, when: dt.datetime) -> dt.datetime | None:
        """The earliest instant strictly after ``when`` at which ``run_due`` will find scheduled
        work: a pending change taking effect, a term ending or an alias hold expiring. None when
        nothing is scheduled after ``when``. (Work already due at ``when``, such as an operation
        in progress, is not "after" it.)
        """
        with self._lock:
            instants = [t for s in self._subs.values() if (t := due_at(s)) is not None]
            instants += [h.until for h in self._holds.values() if h.until is not None]
            return min((t for t in instants if t > when), default=None)

    def has_due_work(self, now: dt.datetime) -> bool:
        """Whether ``run_due(now)`` would find anything to do: a subscription due by ``now``
        (an operation in progress always is), an unsent message, or an alias hold expired by
        ``now``."""
        with self._lock:
            return (
                any(is_due(s, now) for s in self._subs.values())
                or bool(self._unsent)
                or any(h.until is not None and h.until <= now for h in self._holds.values())
            )

    def events(self, since: int = 0) -> list[Event]:
        """Every event of every subscription in the order they were committed, from position
        ``since`` on.

        Raises:
            InvalidInput: the store keeps no event log (``keep_event_log=False``).
        """
        with self._lock:
            if self._log is None:
                raise InvalidInput(
                    "this InMemoryStore keeps no event log (keep_event_log=False): read each "
                    "subscription's history, or watch events with add_listener()"
                )
            return self._log[since:]

    @property
    def event_count(self) -> int:
        """How many events were committed so far (a position for :meth:`events`)."""
        return self._event_count

    def add_listener(self, listener: Callable[[list[Event]], object]) -> None:
        """Call ``listener`` after each commit that wrote events, with those events in order.

        It runs in the committing thread while the store is locked, so it sees every commit
        exactly once and in order; it may read the store (the lock is reentrant) but should
        be quick. If one raises, the others still see the commit, then the unit of work raises
        that error: what it wrote stays.
        """
        with self._lock:
            self._listeners.append(listener)

    def subscriptions(self) -> list[Subscription]:
        """Every subscription, in the order they were created."""
        with self._lock:
            return list(self._subs.values())

    def iter_subscriptions(self) -> Iterator[Subscription]:
        """Every subscription, in the order they were created (those there were when it
        started)."""
        return iter(self.subscriptions())

    def census(self) -> dict[tuple[SubscriptionStatus, Plan], int]:
        """How many subscriptions are in each status on each plan (only those with some)."""
        counts: dict[tuple[SubscriptionStatus, Plan], int] = {}
        for sub in self.subscriptions():
            counts[sub.status, sub.plan] = counts.get((sub.status, sub.plan), 0) + 1
        return counts

    def alias_holds(self) -> list[AliasHold]:
        """Every alias hold, ordered by alias."""
        with self._lock:
            return [self._holds[alias] for alias in sorted(self._holds)]

    def __repr__(self) -> str:
        return f"InMemoryStore(subscriptions={len(self._subs)})"
