"""``InMemoryStore``, the reference store: a unit of work applies whole when its block ends
normally and not at all when it raises; conflicting writes raise ``ConcurrentUpdate``;
listeners see each commit; the event log and sent messages' context can be left out."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from reseller_plans import Plan
from reseller_plans.domain.errors import ConcurrentUpdate, InvalidInput
from reseller_plans.domain.events import Event, Renewed, Requested
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, Term
from reseller_plans.ports import AliasHold, IdempotencyRecord, OutboxEntry
from reseller_plans.stores.memory import InMemoryStore

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)


def subscription(n: int, account_id: str | None = None) -> Subscription:
    return Subscription(
        id=f"sub_{n}",
        account_id=account_id or f"R-{n}",
        distributor_id="D-100",
        plan=Plan.FREE,
        alias=None,
        status=SubscriptionStatus.ACTIVE,
        term=Term.starting(T0 + dt.timedelta(hours=n)),
    )


def requested(sub: Subscription) -> Requested:
    return Requested(sub.id, T0, sub.account_id, sub.plan, "bss")


def entry(entry_id: str, sub: Subscription, **changes: object) -> OutboxEntry:
    base = OutboxEntry(entry_id, sub.id, MessageKind.WELCOME, ("a@x.example",), {"k": "v"}, T0)
    return attrs.evolve(base, **changes)


def test_a_unit_of_work_applies_every_write_when_its_block_ends() -> None:
    store, sub = InMemoryStore(), subscription(1)
    hold = AliasHold("techsolutions", sub.account_id, None)
    record = IdempotencyRecord("reseller:R-1", "k1", "fp", sub.id, T0)

    with store.unit_of_work() as uow:
        uow.add(sub, (requested(sub),))
        uow.add_outbox(entry("m-1", sub))
        uow.put_alias_hold(hold)
        uow.put_idempotency(record)
        assert uow.get(sub.id) == sub  # the transaction sees its own writes
        assert store.subscriptions() == []  # nobody else does yet

    with store.unit_of_work() as uow:
        assert uow.get(sub.id) == sub
        assert uow.history(sub.id) == [requested(sub)]
        assert uow.outbox_of(sub.id) == [entry("m-1", sub)]
        assert uow.get_alias_hold("techsolutions") == hold
        assert uow.get_idempotency("reseller:R-1", "k1") == record
    assert store.events() == [requested(sub)]


def test_a_unit_of_work_that_raises_leaves_nothing_behind() -> None:
    store, sub = InMemoryStore(), subscription(1)
    seen: list[list[Event]] = []
    store.add_listener(seen.append)

    with pytest.raises(RuntimeError, match="crash"), store.unit_of_work() as uow:
        uow.add(sub, (requested(sub),))
        uow.add_outbox(entry("m-1", sub))
        uow.put_alias_hold(AliasHold("techsolutions", sub.account_id, None))
        raise RuntimeError("crash")

    with store.unit_of_work() as uow:
        assert uow.get(sub.id) is None
        assert uow.unsent_outbox(limit=10) == []
        assert uow.get_alias_hold("techsolutions") is None
    assert (store.subscriptions(), store.events(), store.event_count, seen) == ([], [], 0, [])


def test_conflicting_writes_raise_concurrent_update_and_apply_nothing() -> None:
    store, sub = InMemoryStore(), subscription(1)
    with store.unit_of_work() as uow:
        uow.add(sub, ())
    renewed = attrs.evolve(sub, term=sub.term.renewed(), version=2)

    with pytest.raises(ConcurrentUpdate, match="already exists"), store.unit_of_work() as uow:
        uow.add(sub, ())
    with pytest.raises(ConcurrentUpdate, match="live subscription"), store.unit_of_work() as uow:
        uow.add(subscription(2, account_id=sub.account_id), ())
    with pytest.raises(ConcurrentUpdate, match="changed meanwhile"), store.unit_of_work() as uow:
        uow.save(renewed, (Renewed(sub.id, T0, renewed.term.end),), expected_version=1)
        uow.save(renewed, (), expected_version=1)  # a stale version: the whole unit fails

    assert store.subscriptions() == [sub]
    assert store.event_count == 0


def test_queries_order_what_they_return_as_the_sql_stores_do() -> None:
    store = InMemoryStore()
    early, late = subscription(2), subscription(1)
    later = attrs.evolve(late, term=Term.starting(T0 - dt.timedelta(days=1)))
    with store.unit_of_work() as uow:
        uow.add(later, ())
        uow.add(early, ())
        uow.add_outbox(entry("m-2", early))
        uow.add_outbox(entry("m-1", early))
        uow.put_alias_hold(AliasHold("zeta", "R-1", T0))
        uow.put_alias_hold(AliasHold("alpha", "R-2", T0 + dt.timedelta(hours=1)))

    with store.unit_of_work() as uow:
        far = T0 + dt.timedelta(days=400)
        assert uow.due(far, limit=10) == [later.id, early.id]  # earliest due first
        assert [e.id for e in uow.unsent_outbox(limit=10)] == ["m-1", "m-2"]  # by time, then id
        assert [h.alias for h in uow.expired_alias_holds(far)] == ["alpha", "zeta"]


def test_an_entry_is_added_once_and_updated_only_when_there() -> None:
    store, sub = InMemoryStore(), subscription(1)
    first = entry("m-1", sub)
    with store.unit_of_work() as uow:
        uow.add(sub, ())
        uow.add_outbox(first)
        uow.add_outbox(attrs.evolve(first, to=("other@x.example",)))  # the same id: ignored
        uow.update_outbox(entry("m-9", sub, sent_at=T0))  # no such entry: nothing to update

    with store.unit_of_work() as uow:
        assert uow.outbox_of(sub.id) == [first]


def test_without_the_event_log_histories_and_listeners_still_see_every_event() -> None:
    store, sub = InMemoryStore(keep_event_log=False), subscription(1)
    seen: list[list[Event]] = []
    store.add_listener(seen.append)
    with store.unit_of_work() as uow:
        uow.add(sub, (requested(sub),))

    with pytest.raises(InvalidInput, match="add_listener"):
        store.events()
    with store.unit_of_work() as uow:
        assert uow.history(sub.id) == [requested(sub)]
    assert seen == [[requested(sub)]]
    assert store.event_count == 1


def test_sent_messages_lose_their_context_only_when_told_to() -> None:
    for keep in (True, False):
        store, sub = InMemoryStore(keep_sent_context=keep), subscription(1)
        sent, refused = entry("m-1", sub, sent_at=T0), entry("m-2", sub, failed_permanently=True)
        with store.unit_of_work() as uow:
            uow.add(sub, ())
            uow.add_outbox(sent)
            uow.add_outbox(refused)

        with store.unit_of_work() as uow:
            kept = sent if keep else attrs.evolve(sent, context={})
            assert uow.outbox_of(sub.id) == [kept, refused]
