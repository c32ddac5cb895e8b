"""``InMemoryStore``: the store of tests and simulations, honest about transactions.

A unit of work stages its writes and applies them only when its ``with`` block ends normally,
so a crash inside one leaves nothing behind, exactly as with a database. Units of work are
serialized by a lock, so the store is safe to share between threads.

The store keeps indexes so that its queries cost what a database's would with the right index,
not a scan of everything it holds (a simulation keeps tens of thousands of subscriptions): the
due time of each subscription (:func:`due_at`) in a sorted list, unsent outbox entries in order,
the subscriptions of each account, alias holds by expiry, and a count of subscriptions by status
and plan. It also keeps every event in the order it was committed (:meth:`InMemoryStore.events`),
unless told not to, and shows each commit's events to listeners.

It keeps packed what it holds long (``reseller_plans.stores.packing``): each subscription's
history (a dozen bytes an event) and settled messages as bytes, and every subscription but the
few hundred it loaded or wrote last. It builds the objects again when they are read: what it
returns is equal to what was stored, not the same object. A simulation of ten thousand resellers
over a year keeps ten thousand subscriptions, over a hundred thousand events and twenty thousand
messages in under 2 KB a subscription, everything included.
"""

from __future__ import annotations

import array
import bisect
import datetime as dt
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import attrgetter, itemgetter
from types import TracebackType
from typing import Any, NamedTuple

import attrs

from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.schedule import ALWAYS, applicable_change, due_at, is_due
from reseller_plans.domain.subscription import (
    Subscription,
    SubscriptionStatus,
)
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.packing import (
    append_entry,
    has_entry,
    pack,
    pack_subscription,
    packed,
    unpack,
    unpack_entries,
    unpack_subscription,
)

__all__ = ["ALWAYS", "InMemoryStore", "applicable_change", "due_at", "is_due"]

_DELETED = object()
_HOT = 256
"""How many subscriptions the store keeps as objects: those it loaded or wrote last. It packs
the others (a fifth of the memory, a few microseconds to read one back); a command or a
scheduler run works on a handful at a time."""
_first = itemgetter(0)
_queued = attrgetter("created_at", "id")


class _Layout(NamedTuple):
    """How an event class is packed: its class (packed), then ``at`` and its other fields."""

    head: bytes
    read: Callable[[Event], tuple[object, ...]]
    """``at`` and the other fields after ``subscription_id``, at once."""
    size: int
    """How many values ``read`` gives."""


_LAYOUTS: dict[type[Event], _Layout] = {}


def _layout(cls: type[Event]) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        names = tuple(f.name for f in attrs.fields(cls))[1:]  # "at" and the rest
        read: Callable[[Event], Any] = attrgetter(*names)
        if len(names) == 1:  # attrgetter of one name gives the value, not a tuple of it
            read_one = read

            def read(event: Event) -> tuple[object, ...]:
                return (read_one(event),)

        layout = _LAYOUTS[cls] = _Layout(packed(cls), read, len(names))
    return layout


def _pack_events(events: Sequence[Event], out: bytearray, offsets: array.array[int] | None) -> None:
    """Append ``events`` to a subscription's packed history ``out`` and, when ``offsets`` is
    given, where each starts to it."""
    for event in events:
        if offsets is not None:
            offsets.append(len(out))
        layout = _layout(type(event))
        out += layout.head
        pack(layout.read(event), out)


def _unpack_event(sid: str, history: bytes, offset: int) -> tuple[Event, int]:
    (cls,), offset = unpack(history, offset, 1)
    values, offset = unpack(history, offset, _layout(cls).size)  # type: ignore[arg-type]
    return cls(sid, *values), offset  # type: ignore[operator]


def _unpack_events(sid: str, history: bytes) -> list[Event]:
    events, offset, size = [], 0, len(history)
    while offset < size:
        event, offset = _unpack_event(sid, history, offset)
        events.append(event)
    return events


def _unsent(entry: OutboxEntry) -> bool:
    return entry.sent_at is None and not entry.failed_permanently


class _MemoryUnitOfWork:
    """One transaction: reads see the store plus this transaction's staged writes."""

    __slots__ = ("_dirty", "_events", "_holds", "_idem", "_outbox", "_store", "_subs")

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._dirty = False  # most units of work only read: nothing to commit
        self._subs: dict[str, Subscription] = {}
        self._events: list[tuple[str, Sequence[Event]]] = []
        self._outbox: dict[str, OutboxEntry] = {}
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold | object] = {}

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
            if exc_type is None and self._dirty:
                self._commit()
        finally:
            self._store._lock.release()

    # subscriptions
    def get(self, subscription_id: str) -> Subscription | None:
        return self._subs.get(subscription_id) or self._store._subscription(subscription_id)

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        for sid in self._store._ids_of(account_id):
            sub = self.get(sid)
            if sub is not None and sub.is_live:
                return sub
        for sub in self._subs.values():
            if sub.account_id == account_id and sub.is_live:
                return sub
        return None

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        ids = self._store._ids_of(account_id)
        ids += [s.id for s in self._subs.values() if s.account_id == account_id and s.id not in ids]
        return [sub for sid in ids if (sub := self.get(sid)) is not None]

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        if self.get(subscription.id) is not None:
            raise ConcurrentUpdate(f"subscription {subscription.id} already exists")
        if subscription.is_live and self.live_subscription_of(subscription.account_id):
            raise ConcurrentUpdate(f"account {subscription.account_id} has a live subscription")
        self._dirty = True
        self._subs[subscription.id] = subscription
        self._events.append((subscription.id, events))

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        current = self.get(subscription.id)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self._dirty = True
        self._subs[subscription.id] = subscription
        self._events.append((subscription.id, events))

    def history(self, subscription_id: str) -> list[Event]:
        staged = [e for sid, events in self._events if sid == subscription_id for e in events]
        packed = self._store._history.get(subscription_id)
        committed = [] if packed is None else _unpack_events(subscription_id, packed)
        return committed + staged

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        store = self._store
        staged = self._subs
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
        store = self._store
        if entry.id in self._outbox or entry.id in store._unsent:
            return
        if not store._is_settled(entry.subscription_id, entry.id):
            self._dirty = True
            self._outbox[entry.id] = entry

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        store = self._store
        unsent: list[OutboxEntry] = []
        for entry_id, entry in store._unsent.items():
            if len(unsent) >= limit:
                return unsent
            entry = self._outbox.get(entry_id, entry)  # noqa: PLW2901 - as this transaction sees it
            if _unsent(entry):
                unsent.append(entry)
        for entry_id, entry in self._outbox.items():
            if entry_id not in store._unsent and _unsent(entry):
                unsent.append(entry)
        return unsent[:limit]

    def update_outbox(self, entry: OutboxEntry) -> None:
        self._dirty = True
        self._outbox[entry.id] = entry

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        store, staged = self._store, self._outbox
        stored = store._settled_of(subscription_id)
        stored += [store._unsent[i] for i in store._unsent_of.get(subscription_id, ())]
        ids = {e.id for e in stored}
        entries = [staged.get(e.id, e) for e in stored]
        entries += [
            e for e in staged.values() if e.subscription_id == subscription_id and e.id not in ids
        ]
        entries.sort(key=_queued)  # as the SQL stores give them
        return entries

    # idempotency
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self._idem.get((scope, key)) or self._store._idem.get((scope, key))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._dirty = True
        self._idem[(record.scope, record.key)] = record

    # alias holds
    def get_alias_hold(self, alias: str) -> AliasHold | None:
        if alias in self._holds:
            hold = self._holds[alias]
            return hold if isinstance(hold, AliasHold) else None
        return self._store._hold(alias)

    def put_alias_hold(self, hold: AliasHold) -> None:
        self._dirty = True
        self._holds[hold.alias] = hold

    def delete_alias_hold(self, alias: str) -> None:
        self._dirty = True
        self._holds[alias] = _DELETED

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        expiries = self._store._expiries
        end = bisect.bisect_right(expiries, now, key=_first)
        aliases = {alias for _, alias in expiries[:end]} | set(self._holds)
        holds = [self.get_alias_hold(a) for a in sorted(aliases)]
        return [h for h in holds if h is not None and h.until is not None and h.until <= now]

    def _commit(self) -> None:
        # First everything that could fail (packing), into locals; then only what cannot, so
        # that a commit applies whole or not at all.
        store = self._store
        histories: dict[str, bytes] = {}
        offsets: array.array[int] | None = None if store._log is None else array.array("I")
        for sid, events in self._events:
            if events:
                history = bytearray(histories.get(sid) or store._history.get(sid, b""))
                _pack_events(events, history, offsets)
                histories[sid] = bytes(history)
        settled = store._settled_after(self._outbox.values()) if self._outbox else {}

        for sid, sub in self._subs.items():
            before = store._subscription(sid)
            if before is None:
                store._add_to_account(sub.account_id, sid)
            store._keep_hot(sid, sub)
            store._reindex(sid, before, sub)
            census = store._census
            if before is not None:
                census[before.status, before.plan] -= 1
            census[sub.status, sub.plan] += 1
        if histories:
            store._history.update(histories)
            store._event_count += sum(len(events) for _, events in self._events)
            if store._log is not None and offsets is not None:
                store._log += [sid for sid, events in self._events for _ in events]
                store._log_offsets += offsets
        for entry in self._outbox.values():
            store._track_unsent(entry)
        if settled:
            store._settled.update(settled)
        if self._idem:
            store._idem.update(self._idem)
        if self._holds:
            for alias, hold in self._holds.items():
                previous = store._holds.get(alias)
                if isinstance(previous, AliasHold) and previous.until is not None:
                    expiries = store._expiries
                    del expiries[bisect.bisect_left(expiries, (previous.until, alias))]
                if not isinstance(hold, AliasHold):
                    store._holds.pop(alias, None)
                elif hold.until is None:
                    store._holds[alias] = hold.account_id
                else:
                    store._holds[alias] = hold
                    bisect.insort(store._expiries, (hold.until, alias))
        if histories and store._listeners:
            store._tell_listeners([event for _, events in self._events for event in events])


class InMemoryStore:
    """A ``Store`` in memory. Survives the ``ResellerPlans`` objects that use it, so a test can
    discard a service mid-saga and resume with a new one over the same store.

    Besides the ``Store`` port it answers the questions a test harness asks of the whole store:
    :meth:`next_due_after` (when is the next scheduled work), :meth:`events` (every event, in
    commit order), :meth:`subscriptions` (or :meth:`iter_subscriptions`), :meth:`census` and
    :meth:`alias_holds`; :meth:`add_listener` shows each commit's events as they happen.
    """

    def __init__(self, *, keep_sent_context: bool = True, keep_event_log: bool = True) -> None:
        """Args:
        keep_sent_context: keep the context of messages once sent. Simulations of thousands
            of resellers turn it off: a sent message is never rendered again, and its context
            was the largest part of their memory (``outbox_of`` then gives it empty).
        keep_event_log: keep the place of every event in commit order, for :meth:`events`
            (twelve bytes an event). Simulations turn it off and watch events as they are
            committed (:meth:`add_listener`); each subscription's history is kept either way.
        """
        self._keep_sent_context = keep_sent_context
        self._lock = threading.RLock()
        self._listeners: list[Callable[[list[Event]], object]] = []
        self._event_count = 0
        self._subs: dict[str, Subscription | bytes] = {}
        """Subscriptions by id: the ones loaded or written last as they are, the others packed
        (``packing.pack_subscription``)."""
        self._hot: OrderedDict[str, bytes | None] = OrderedDict()
        """The ids of the subscriptions kept as they are, oldest first, with the bytes each was
        loaded from while it has not changed."""
        self._census: Counter[tuple[SubscriptionStatus, Plan]] = Counter()
        """How many subscriptions are in each status on each plan."""
        self._by_account: dict[str, str | list[str]] = {}
        """Account id → the id of its one subscription, or of its subscriptions in order."""
        self._history: dict[str, bytes] = {}
        """Subscription id → its events, packed (see ``_pack_events``)."""
        self._log: list[str] | None = [] if keep_event_log else None
        """The subscription id of every event, in commit order (the events are in ``_history``)."""
        self._log_offsets = array.array("I")
        """Where each event of ``_log`` starts in its subscription's ``_history``."""
        self._due_times: list[dt.datetime] = []
        """Every instant at which some subscription is due, sorted."""
        self._due_at: dict[dt.datetime, str | list[str]] = {}
        """Due instant → the id of the subscription due then, or the ids of those due then in
        the order they became so."""
        self._settled: dict[str, bytes] = {}
        """Subscription id → its outbox entries sent or refused for good, in the order they
        were, packed (``packing.append_entry``)."""
        self._unsent: dict[str, OutboxEntry] = {}
        """The other outbox entries by id, oldest first (a few at a time: they are sent at
        once, unless the mail server is down)."""
        self._unsent_of: dict[str, list[str]] = {}
        """Subscription id → the ids of its unsent entries, oldest first."""
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold | str] = {}
        """Alias → its hold; a hold with no end (a live subscription's) as the account's id."""
        self._expiries: list[tuple[dt.datetime, str]] = []
        """(until, alias) of every alias hold with an end, sorted."""

    def unit_of_work(self) -> _MemoryUnitOfWork:
        """Open one transaction (a context manager: it commits when the block ends normally)."""
        return _MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release."""

    def _ids_of(self, account_id: str) -> list[str]:
        ids = self._by_account.get(account_id)
        if ids is None:
            return []
        return [ids] if isinstance(ids, str) else list(ids)

    def _add_to_account(self, account_id: str, sid: str) -> None:
        ids = self._by_account.get(account_id)
        if ids is None:
            self._by_account[account_id] = sid  # most accounts ever have one subscription
        elif isinstance(ids, str):
            self._by_account[account_id] = [ids, sid]
        else:
            ids.append(sid)

    def _hold(self, alias: str) -> AliasHold | None:
        hold = self._holds.get(alias)
        return AliasHold(alias, hold, None) if type(hold) is str else hold  # type: ignore[return-value]

    def _settled_of(self, sid: str) -> list[OutboxEntry]:
        data = self._settled.get(sid)
        return unpack_entries(sid, data) if data else []

    def _is_settled(self, sid: str, entry_id: str) -> bool:
        data = self._settled.get(sid)
        return data is not None and has_entry(data, entry_id)

    def _settled_after(self, entries: Iterable[OutboxEntry]) -> dict[str, bytes]:
        """The packed settled entries of each subscription these entries change, once they
        are written: a settled entry is added (or replaces its former self); an unsent one
        takes its settled self out, if it had one (two senders raced)."""
        blobs: dict[str, bytes] = {}
        for entry in entries:
            sid, entry_id = entry.subscription_id, entry.id
            data = blobs.get(sid) or self._settled.get(sid)
            settles = not _unsent(entry)
            keep = self._keep_sent_context or entry.sent_at is None
            if data is not None and has_entry(data, entry_id):
                rebuilt = None
                for e in unpack_entries(sid, data):
                    if e.id != entry_id:
                        rebuilt = append_entry(rebuilt, e, keep_context=True)
                    elif settles:
                        rebuilt = append_entry(rebuilt, entry, keep_context=keep)
                blobs[sid] = rebuilt or b""
            elif settles:
                blobs[sid] = append_entry(data, entry, keep_context=keep)
        return blobs

    def _track_unsent(self, entry: OutboxEntry) -> None:
        sid, entry_id = entry.subscription_id, entry.id
        if _unsent(entry):
            if entry_id not in self._unsent:
                self._unsent_of.setdefault(sid, []).append(entry_id)
            self._unsent[entry_id] = entry
        elif self._unsent.pop(entry_id, None) is not None:
            ids = self._unsent_of[sid]
            ids.remove(entry_id)
            if not ids:
                del self._unsent_of[sid]

    def _tell_listeners(self, events: list[Event]) -> None:
        """Every listener sees the commit, even when one before it raises; then the first
        error is raised."""
        error: Exception | None = None
        for listener in self._listeners:
            try:
                listener(events)
            except Exception as exc:
                error = error or exc
        if error is not None:
            raise error

    def _subscription(self, sid: str) -> Subscription | None:
        value = self._subs.get(sid)
        if type(value) is bytes:
            sub = unpack_subscription(value)
            self._keep_hot(sid, sub, value)
            return sub
        return value  # type: ignore[return-value]

    def _keep_hot(self, sid: str, sub: Subscription, packed_as: bytes | None = None) -> None:
        """Keep ``sub`` as it is (``packed_as`` while it is unchanged), and pack the oldest one
        beyond ``_HOT`` again."""
        subs, hot = self._subs, self._hot
        subs[sid] = sub
        hot[sid] = packed_as
        hot.move_to_end(sid)
        if len(hot) > _HOT:
            cold, was = hot.popitem(last=False)
            if was is None:
                try:
                    was = pack_subscription(subs[cold])  # type: ignore[arg-type]
                except (KeyError, TypeError, ValueError):
                    # Not a subscription the layout knows (a test's odd value): it stays as it
                    # is rather than fail the unit of work that happened to push it out.
                    hot[cold] = None
                    return
            subs[cold] = was

    def _reindex(self, sid: str, before: Subscription | None, after: Subscription) -> None:
        old = None if before is None else due_at(before)
        new = due_at(after)
        if old == new:
            return
        buckets = self._due_at
        if old is not None:
            bucket = buckets[old]
            if type(bucket) is str or bucket == [sid]:
                del buckets[old]
                times = self._due_times
                del times[bisect.bisect_left(times, old)]
            else:
                bucket.remove(sid)  # type: ignore[union-attr]
        if new is not None:
            bucket = buckets.get(new)  # type: ignore[assignment]
            if bucket is None:
                buckets[new] = sid  # most instants have one subscription due
                bisect.insort(self._due_times, new)
            elif type(bucket) is str:
                buckets[new] = [bucket, sid]
            else:
                bucket.append(sid)  # type: ignore[union-attr]

    # ------------------------------------------------------------------ for test harnesses

    def next_due_after(self, when: dt.datetime) -> dt.datetime | None:
        """The earliest instant strictly after ``when`` at which ``run_due`` will find scheduled
        work: a pending change taking effect, a term ending or an alias hold expiring. None when
        nothing is scheduled after ``when``. (Work already due at ``when``, such as an operation
        in progress, is not "after" it.)
        """
        with self._lock:
            found: dt.datetime | None = None
            times = self._due_times
            i = bisect.bisect_right(times, when)
            if i < len(times):
                found = times[i]
            expiries = self._expiries
            j = bisect.bisect_right(expiries, when, key=_first)
            if j < len(expiries) and (found is None or expiries[j][0] < found):
                found = expiries[j][0]
            return found

    def has_due_work(self, now: dt.datetime) -> bool:
        """Whether ``run_due(now)`` would find anything to do: a subscription due by ``now``
        (an operation in progress always is), an unsent message, or an alias hold expired by
        ``now``."""
        with self._lock:
            times, expiries = self._due_times, self._expiries
            return bool(
                (times and times[0] <= now) or self._unsent or (expiries and expiries[0][0] <= now)
            )

    def events(self, since: int = 0) -> list[Event]:
        """Every event of every subscription in the order they were committed, from position
        ``since`` on.

        Raises:
            InvalidInput: the store keeps no event log (``keep_event_log=False``).
        """
        with self._lock:
            log, offsets = self._log, self._log_offsets
            if log is None:
                raise InvalidInput(
                    "this InMemoryStore keeps no event log (keep_event_log=False): read each "
                    "subscription's history, or watch events with add_listener()"
                )
            history = self._history
            return [
                _unpack_event(sid, history[sid], offsets[i])[0]
                for i, sid in enumerate(log[since:], since)
            ]

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
        return list(self.iter_subscriptions())

    def iter_subscriptions(self) -> Iterator[Subscription]:
        """Every subscription, in the order they were created, built one at a time (the store
        keeps most of a large population packed): for a pass over them all that needs no list
        of them all. It goes through those there were when it started."""
        with self._lock:
            values = list(self._subs.values())
        for value in values:
            yield unpack_subscription(value) if isinstance(value, bytes) else value

    def census(self) -> dict[tuple[SubscriptionStatus, Plan], int]:
        """How many subscriptions are in each status on each plan (only those with some)."""
        with self._lock:
            return {key: n for key, n in self._census.items() if n}

    def alias_holds(self) -> list[AliasHold]:
        """Every alias hold, ordered by alias."""
        with self._lock:
            return [hold for alias in sorted(self._holds) if (hold := self._hold(alias))]

    def __repr__(self) -> str:
        return f"InMemoryStore(subscriptions={len(self._subs)})"
