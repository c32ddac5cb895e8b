"""``InMemoryStore``: the store of tests and simulations, honest about transactions.

A unit of work stages its writes and applies them only when its ``with`` block ends normally,
so a crash inside one leaves nothing behind, exactly as with a database. Units of work are
serialized by a lock, so the store is safe to share between threads.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from reseller_plans.domain.errors import ConcurrentUpdate
from reseller_plans.domain.events import Event
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, SyncStatus
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry

__all__ = ["InMemoryStore", "due_at", "is_due"]

_NOW = dt.datetime.min.replace(tzinfo=dt.UTC)

_DELETED = object()


def due_at(sub: Subscription) -> dt.datetime | None:
    """When ``run_due`` next has work for the subscription (shared by every store).

    An operation in progress is due at once; one that failed waits for ``retry``; otherwise
    the earlier of the scheduled change and the term end of an active or suspended one.
    """
    op = sub.operation
    if op is not None:
        return _NOW if op.sync is SyncStatus.IN_PROGRESS else None
    if sub.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.SUSPENDED):
        return None
    change = sub.pending_change
    if change is not None and change.effective_at < sub.term.end:
        return change.effective_at
    return sub.term.end


def is_due(sub: Subscription, now: dt.datetime) -> bool:
    """Whether ``run_due`` has work for the subscription at ``now``."""
    when = due_at(sub)
    return when is not None and when <= now


class _MemoryUnitOfWork:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._subs: dict[str, Subscription] = {}
        self._events: list[tuple[str, Sequence[Event]]] = []
        self._outbox: dict[str, OutboxEntry] = {}
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold | object] = {}

    # subscriptions
    def get(self, subscription_id: str) -> Subscription | None:
        return self._subs.get(subscription_id) or self._store._subs.get(subscription_id)

    def _all(self) -> dict[str, Subscription]:
        return {**self._store._subs, **self._subs}

    def live_subscription_of(self, account_id: str) -> Subscription | None:
        for sid in self._store._by_account.get(account_id, ()):
            sub = self.get(sid)
            if sub is not None and sub.is_live:
                return sub
        for sub in self._subs.values():
            if sub.account_id == account_id and sub.is_live:
                return sub
        return None

    def subscriptions_of(self, account_id: str) -> list[Subscription]:
        ids = list(self._store._by_account.get(account_id, ()))
        ids += [s.id for s in self._subs.values() if s.account_id == account_id and s.id not in ids]
        return [sub for sid in ids if (sub := self.get(sid)) is not None]

    def add(self, subscription: Subscription, events: Sequence[Event]) -> None:
        if self.get(subscription.id) is not None:
            raise ConcurrentUpdate(f"subscription {subscription.id} already exists")
        if subscription.is_live and self.live_subscription_of(subscription.account_id):
            raise ConcurrentUpdate(f"account {subscription.account_id} has a live subscription")
        self._subs[subscription.id] = subscription
        self._events.append((subscription.id, events))

    def save(
        self, subscription: Subscription, events: Sequence[Event], *, expected_version: int
    ) -> None:
        current = self.get(subscription.id)
        if current is None or current.version != expected_version:
            raise ConcurrentUpdate(f"subscription {subscription.id} changed meanwhile")
        self._subs[subscription.id] = subscription
        self._events.append((subscription.id, events))

    def history(self, subscription_id: str) -> list[Event]:
        staged = [e for sid, events in self._events if sid == subscription_id for e in events]
        return list(self._store._history.get(subscription_id, ())) + staged

    def due(self, now: dt.datetime, limit: int) -> list[str]:
        due = [sid for sid, sub in self._all().items() if is_due(sub, now)]
        return due[:limit]

    # outbox
    def add_outbox(self, entry: OutboxEntry) -> None:
        if entry.id not in self._store._outbox and entry.id not in self._outbox:
            self._outbox[entry.id] = entry

    def unsent_outbox(self, limit: int) -> list[OutboxEntry]:
        merged = {**self._store._outbox, **self._outbox}
        unsent = [e for e in merged.values() if e.sent_at is None and not e.failed_permanently]
        return unsent[:limit]

    def update_outbox(self, entry: OutboxEntry) -> None:
        self._outbox[entry.id] = entry

    def outbox_of(self, subscription_id: str) -> list[OutboxEntry]:
        merged = {**self._store._outbox, **self._outbox}
        return [e for e in merged.values() if e.subscription_id == subscription_id]

    # idempotency
    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None:
        return self._idem.get((scope, key)) or self._store._idem.get((scope, key))

    def put_idempotency(self, record: IdempotencyRecord) -> None:
        self._idem[(record.scope, record.key)] = record

    # alias holds
    def get_alias_hold(self, alias: str) -> AliasHold | None:
        if alias in self._holds:
            hold = self._holds[alias]
            return hold if isinstance(hold, AliasHold) else None
        return self._store._holds.get(alias)

    def put_alias_hold(self, hold: AliasHold) -> None:
        self._holds[hold.alias] = hold

    def delete_alias_hold(self, alias: str) -> None:
        self._holds[alias] = _DELETED

    def expired_alias_holds(self, now: dt.datetime) -> list[AliasHold]:
        aliases = set(self._store._holds) | set(self._holds)
        holds = [self.get_alias_hold(a) for a in sorted(aliases)]
        return [h for h in holds if h is not None and h.until is not None and h.until <= now]

    def _commit(self) -> None:
        store = self._store
        for sid, sub in self._subs.items():
            if sid not in store._subs:
                store._by_account.setdefault(sub.account_id, []).append(sid)
            store._subs[sid] = sub
        for sid, events in self._events:
            store._history.setdefault(sid, []).extend(events)
        store._outbox.update(self._outbox)
        store._idem.update(self._idem)
        for alias, hold in self._holds.items():
            if isinstance(hold, AliasHold):
                store._holds[alias] = hold
            else:
                store._holds.pop(alias, None)


class InMemoryStore:
    """A ``Store`` in memory. Survives the ``ResellerPlans`` objects that use it, so a test can
    discard a service mid-saga and resume with a new one over the same store.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._subs: dict[str, Subscription] = {}
        self._by_account: dict[str, list[str]] = {}
        self._history: dict[str, list[Event]] = {}
        self._outbox: dict[str, OutboxEntry] = {}
        self._idem: dict[tuple[str, str], IdempotencyRecord] = {}
        self._holds: dict[str, AliasHold] = {}

    @contextmanager
    def unit_of_work(self) -> Iterator[_MemoryUnitOfWork]:
        """One transaction: staged writes are applied when the block ends normally."""
        with self._lock:
            uow = _MemoryUnitOfWork(self)
            yield uow
            uow._commit()

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"InMemoryStore(subscriptions={len(self._subs)})"
