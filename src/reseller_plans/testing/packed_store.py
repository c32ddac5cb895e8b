"""``PackedStore``: the simulator's store, an ``InMemoryStore`` that keeps most of what it holds
packed.

It is the product's in-memory store made small enough for a simulation of ten thousand resellers
over a year (ten thousand subscriptions, over a hundred thousand events and twenty thousand
messages, under 2 KB a subscription everything included), and as honest about transactions: a
unit of work (``PackedUnitOfWork``) stages its writes and applies them whole when its ``with``
block ends normally; units of work are serialized by a lock.

It keeps packed (``reseller_plans.testing.packing``) each subscription's history and settled
messages, and every subscription but the few hundred it loaded or wrote last; it builds the
objects again when they are read: what it returns is equal to what was stored, not the same
object. Its indexes make its queries cost what a database's would with the right index, not a
scan of everything it holds: the due time of each subscription (``due_at``) in a sorted list,
unsent outbox entries in order, the subscriptions of each account, alias holds by expiry, and a
count of subscriptions by status and plan. Every cache it has is its own: two stores in one
process share nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter

from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import Event
from reseller_plans.domain.messages import MessageStatus
from reseller_plans.domain.plans import Plan
from reseller_plans.domain.schedule import due_at
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.coordination import Coordination
from reseller_plans.testing.packed_unit_of_work import PackedUnitOfWork, is_unsent
from reseller_plans.testing.packing import (
    append_entry,
    has_entry,
    pack_subscription,
    unpack_entries,
    unpack_events,
    unpack_subscription,
)

__all__ = ["PackedStore"]

_HOT = 256
"""How many subscriptions the store keeps as objects: those it loaded or wrote last. It packs
the others (a fifth of the memory, a few microseconds to read one back); a command or a
scheduler run works on a handful at a time."""
_first = itemgetter(0)


class PackedStore:
    """A ``Store`` in memory. Survives the ``ResellerPlans`` objects that use it, so a test can
    discard a service mid-saga and resume with a new one over the same store.

    Besides the ``Store`` port it answers the questions a test harness asks of the whole store:
    :meth:`next_due_after` (when is the next scheduled work), :meth:`events` (every event, in
    commit order), :meth:`subscriptions` (or :meth:`iter_subscriptions`), :meth:`census` and
    :meth:`alias_holds`; :meth:`add_listener` shows each commit's events as they happen.

    It keeps each history packed, without the events' audit (``Event.audit`` reads None): a
    simulation of thousands of resellers would keep one per event. Listeners still see each
    event with its audit, as it is committed. The other stores keep it.
    """

    def __init__(self, *, keep_sent_context: bool = True, keep_event_log: bool = True) -> None:
        """Args:
        keep_sent_context: keep the context of messages once sent. Simulations of thousands
            of resellers turn it off: a sent message is never rendered again, and its context
            was the largest part of their memory (``outbox_of`` then gives it empty).
        keep_event_log: keep the place of every event in commit order, for :meth:`events`
            (eight bytes an event). Simulations turn it off and watch events as they are
            committed (:meth:`add_listener`); each subscription's history is kept either way.
        """
        self._keep_sent_context = keep_sent_context
        self._coordination = Coordination()
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
        self._changed: dict[str, dt.datetime] = {}
        """Subscription id → the instant of its latest event (``changed_since``)."""
        self._log: list[str] | None = [] if keep_event_log else None
        """The subscription id of every event, in commit order (the events are in ``_history``:
        the n-th time an id appears here is the n-th event of its history)."""
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
        self._failed: dict[str, str] = {}
        """Entry id → subscription id of the settled entries refused for good (until resent)."""
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold | str] = {}
        """Alias → its hold; a hold with no end (a live subscription's) as the account's id."""
        self._expiries: list[tuple[dt.datetime, str]] = []
        """(until, alias) of every alias hold with an end, sorted."""

    def unit_of_work(self) -> PackedUnitOfWork:
        """Open one transaction (a context manager: it commits when the block ends normally)."""
        return PackedUnitOfWork(self)

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
            settles = not is_unsent(entry)
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
        if is_unsent(entry):
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

    def _apply(
        self, uow: PackedUnitOfWork, histories: dict[str, bytes], settled: dict[str, bytes]
    ) -> None:
        """Apply a unit of work's writes, packed already: nothing here can fail."""
        for sid, sub in uow.subs.items():
            before = self._subscription(sid)
            if before is None:
                self._add_to_account(sub.account_id, sid)
            self._keep_hot(sid, sub)
            self._reindex(sid, before, sub)
            census = self._census
            if before is not None:
                census[before.status, before.plan] -= 1
            census[sub.status, sub.plan] += 1
        for _, events in uow.events:
            for event in events:
                latest = self._changed.get(event.subscription_id)
                if latest is None or event.at > latest:
                    self._changed[event.subscription_id] = event.at
        if histories:
            self._history.update(histories)
            self._event_count += sum(len(events) for _, events in uow.events)
            if self._log is not None:
                self._log += [sid for sid, events in uow.events for _ in events]
        for entry in uow.outbox.values():
            self._track_unsent(entry)
            if entry.status is MessageStatus.FAILED:
                self._failed[entry.id] = entry.subscription_id
            else:
                self._failed.pop(entry.id, None)
        if settled:
            self._settled.update(settled)
        if uow.idem:
            self._idem.update(uow.idem)
        for alias, hold in uow.holds.items():
            self._put_hold(alias, hold)
        if histories and self._listeners:
            self._tell_listeners([event for _, events in uow.events for event in events])

    def _put_hold(self, alias: str, hold: AliasHold | object) -> None:
        """Write (or, for any other value than a hold, delete) the alias's hold."""
        previous = self._holds.get(alias)
        if isinstance(previous, AliasHold) and previous.until is not None:
            expiries = self._expiries
            del expiries[bisect.bisect_left(expiries, (previous.until, alias))]
        if not isinstance(hold, AliasHold):
            self._holds.pop(alias, None)
        elif hold.until is None:
            self._holds[alias] = hold.account_id
        else:
            self._holds[alias] = hold
            bisect.insort(self._expiries, (hold.until, alias))

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
            log = self._log
            if log is None:
                raise InvalidInput(
                    "this PackedStore keeps no event log (keep_event_log=False): read each "
                    "subscription's history, or watch events with add_listener()"
                )
            seen = Counter(log[:since])  # how many events of each history come before
            histories: dict[str, list[Event]] = {}
            events = []
            for sid in log[since:]:
                history = histories.get(sid)
                if history is None:
                    history = histories[sid] = unpack_events(sid, self._history[sid])
                events.append(history[seen[sid]])
                seen[sid] += 1
            return events

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
        return f"PackedStore(subscriptions={len(self._subs)})"
