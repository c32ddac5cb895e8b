"""The simulator's ``PackedStore`` keeps most of what it holds packed, and nobody can tell from
what it returns; it counts subscriptions by status and plan, shows each commit's events to
listeners, and can go without the commit-order log."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import attrs
import pytest

from reseller_plans import Plan
from reseller_plans.domain.errors import InvalidInput
from reseller_plans.domain.events import Event, Requested
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus, Term
from reseller_plans.ports import AliasHold, OutboxEntry
from reseller_plans.testing import Sandbox, Simulator, packed_store
from reseller_plans.testing.packed_store import PackedStore

T0 = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
MANY = packed_store._HOT * 2 + 10


def subscription(n: int) -> Subscription:
    return Subscription(
        id=f"sub_{n}",
        account_id=f"R-{n}",
        distributor_id="D-100",
        plan=Plan.FREE if n % 2 else Plan.STANDARD,
        alias=None,
        status=SubscriptionStatus.ACTIVE if n % 3 else SubscriptionStatus.SUSPENDED,
        term=Term.starting(T0 + dt.timedelta(hours=n)),
    )


def filled(count: int = MANY) -> tuple[PackedStore, list[Subscription]]:
    store, subs = PackedStore(), [subscription(n) for n in range(count)]
    for sub in subs:
        with store.unit_of_work() as uow:
            uow.add(sub, (Requested(sub.id, T0, sub.account_id, sub.plan, "bss"),))
    return store, subs


def test_subscriptions_packed_away_come_back_equal() -> None:
    store, subs = filled()

    assert store.subscriptions() == subs
    assert list(store.iter_subscriptions()) == subs
    with store.unit_of_work() as uow:
        assert [uow.get(s.id) for s in subs] == subs
        assert [uow.live_subscription_of(s.account_id) for s in subs] == subs
    assert len(store._hot) <= packed_store._HOT  # the rest is packed


def test_a_subscription_packed_away_is_saved_again_by_its_version() -> None:
    store, subs = filled()
    first = subs[0]  # long packed away by now
    renewed = attrs.evolve(first, term=first.term.renewed(), version=first.version + 1)

    with store.unit_of_work() as uow:
        uow.save(renewed, (), expected_version=first.version)
    for sub in subs[1:]:  # pack it away again
        with store.unit_of_work() as uow:
            uow.get(sub.id)

    with store.unit_of_work() as uow:
        assert uow.get(first.id) == renewed
        assert uow.due(renewed.term.end, limit=MANY).count(first.id) == 1


def test_the_census_counts_subscriptions_by_status_and_plan() -> None:
    store, subs = filled()
    cancelled = attrs.evolve(subs[5], status=SubscriptionStatus.CANCELLED, version=2)
    with store.unit_of_work() as uow:
        uow.save(cancelled, (), expected_version=1)
    subs[5] = cancelled

    assert store.census() == Counter((s.status, s.plan) for s in subs)


def test_listeners_see_each_commit_with_events_once_and_in_order() -> None:
    sandbox = Sandbox(store=PackedStore())
    seen: list[list[Event]] = []
    sandbox.store.add_listener(seen.append)

    sandbox.upgrade(sandbox.reseller(), Plan.STANDARD)
    with sandbox.store.unit_of_work() as uow:  # a commit without events
        uow.put_alias_hold(AliasHold("someone", "R-9", None))

    assert [e for batch in seen for e in batch] == sandbox.events
    assert all(batch for batch in seen)


def test_a_listener_that_raises_fails_the_unit_of_work_after_its_commit() -> None:
    store = PackedStore()

    def refuse(events: list[Event]) -> None:
        raise RuntimeError("listener down")

    store.add_listener(refuse)
    sub = subscription(1)

    with pytest.raises(RuntimeError, match="listener down"), store.unit_of_work() as uow:
        uow.add(sub, (Requested(sub.id, T0, sub.account_id, sub.plan, "bss"),))

    assert store.subscriptions() == [sub]


def test_a_store_without_the_event_log_keeps_every_history() -> None:
    sandbox = Sandbox(store=PackedStore(keep_event_log=False))
    reseller = sandbox.reseller()
    sandbox.upgrade(reseller, Plan.FREE)
    sandbox.advance(months=2)

    with pytest.raises(InvalidInput, match="keep_event_log=False"):
        sandbox.events  # noqa: B018 - the property is what is tested
    with pytest.raises(InvalidInput, match="add_listener"):
        sandbox.store.events(0)
    names = [e.name for e in sandbox.history(reseller)]
    assert names[0] == "Requested"
    assert names.count("Renewed") == 2
    assert sandbox.store.event_count == len(names)


def test_alias_holds_with_and_without_an_end_come_back_as_holds() -> None:
    store = PackedStore()
    open_ended = AliasHold("techsolutions", "R-1", None)
    ending = AliasHold("oldname", "R-2", T0)
    with store.unit_of_work() as uow:
        uow.put_alias_hold(open_ended)
        uow.put_alias_hold(ending)

    with store.unit_of_work() as uow:
        assert uow.get_alias_hold("techsolutions") == open_ended
        assert uow.expired_alias_holds(T0) == [ending]
    assert store.alias_holds() == [ending, open_ended]


def test_a_commit_that_cannot_be_packed_leaves_nothing_behind() -> None:
    store = PackedStore()
    seen: list[list[Event]] = []
    store.add_listener(seen.append)
    bad, good = subscription(1), subscription(2)

    with pytest.raises(TypeError, match="cannot pack"), store.unit_of_work() as uow:
        uow.add(bad, (Requested(bad.id, T0, bad.account_id, bad.plan, object()),))  # type: ignore[arg-type]
    with store.unit_of_work() as uow:
        uow.add(good, (Requested(good.id, T0, good.account_id, good.plan, "bss"),))

    assert store.subscriptions() == [good]
    assert store.census() == {(good.status, good.plan): 1}
    assert store.event_count == 1
    assert [e.subscription_id for e in store.events()] == [good.id]
    assert seen == [store.events()]


def test_text_with_a_lone_surrogate_is_stored_whole() -> None:
    # ResellerPlans refuses such text at its inputs; the store still keeps what it is given.
    store = PackedStore()
    sub = attrs.evolve(subscription(1), failure_reason="late \ud800")
    with store.unit_of_work() as uow:
        uow.add(sub, ())
    with store.unit_of_work() as uow:
        assert uow.get(sub.id) == sub


def test_the_service_refuses_a_lone_surrogate_before_the_store_sees_it() -> None:
    sandbox = Sandbox(store=PackedStore())
    reseller = sandbox.reseller()
    sub = sandbox.upgrade(reseller, Plan.FREE)

    with pytest.raises(InvalidInput, match="reason holds a lone surrogate"):
        sandbox.plans.suspend(sub.id, actor=sandbox.as_distributor(reseller), reason="late \ud800")

    assert sandbox.plans.get(sub.id).version == sub.version


def test_an_entry_sent_then_reopened_is_in_the_outbox_once() -> None:
    sandbox = Sandbox(keep_messages=False, store=PackedStore(keep_sent_context=False))
    sub = sandbox.upgrade(sandbox.reseller(), Plan.STANDARD)
    with sandbox.store.unit_of_work() as uow:
        (sent,) = uow.outbox_of(sub.id)
        assert sent.sent_at is not None
        # Two senders raced: one sent it, the other failed and wrote it back as unsent.
        reopened = attrs.evolve(sent, sent_at=None, attempts=2, last_error="timeout")
        uow.update_outbox(reopened)

    with sandbox.store.unit_of_work() as uow:
        assert uow.outbox_of(sub.id) == [reopened]
        assert uow.unsent_outbox(limit=10) == [reopened]


def test_a_refused_message_keeps_its_context_when_sent_ones_do_not() -> None:
    store = PackedStore(keep_sent_context=False)
    sub = subscription(1)
    refused = OutboxEntry(
        "m-1", sub.id, MessageKind.WELCOME, ("a@x.example",), {"plan": "free"}, T0,
        attempts=1, last_error="550 no such user", failed_permanently=True,
    )  # fmt: skip
    sent = attrs.evolve(refused, id="m-2", sent_at=T0, failed_permanently=False, last_error=None)
    with store.unit_of_work() as uow:
        uow.add(sub, ())
        uow.add_outbox(refused)
        uow.add_outbox(sent)

    with store.unit_of_work() as uow:
        assert uow.outbox_of(sub.id) == [refused, attrs.evolve(sent, context={})]


def test_every_listener_sees_the_commit_even_after_one_raises() -> None:
    store = PackedStore()
    seen: list[list[Event]] = []

    def refuse(events: list[Event]) -> None:
        raise RuntimeError("first listener down")

    store.add_listener(refuse)
    store.add_listener(seen.append)
    sub = subscription(1)

    with pytest.raises(RuntimeError, match="first listener down"), store.unit_of_work() as uow:
        uow.add(sub, (Requested(sub.id, T0, sub.account_id, sub.plan, "bss"),))

    assert [len(batch) for batch in seen] == [1]


def test_a_subscription_the_layout_cannot_pack_stays_as_it_is() -> None:
    odd = attrs.evolve(subscription(0), id="odd", account_id="R-odd", plan="free")  # not a Plan
    store, subs = filled()
    with store.unit_of_work() as uow:
        uow.add(odd, ())
    for sub in subs:  # push it out of the most recent ones
        with store.unit_of_work() as uow:
            uow.save(sub, (), expected_version=sub.version)

    with store.unit_of_work() as uow:
        assert uow.get(odd.id) == odd


def test_two_stores_in_one_process_share_nothing() -> None:
    # What a store caches is its own: a subscription written to one is not seen by the other,
    # and both give back what was written to each.
    first, second = PackedStore(), PackedStore()
    sub = subscription(1)
    other = attrs.evolve(sub, plan=Plan.STANDARD)
    with first.unit_of_work() as uow:
        uow.add(sub, (Requested(sub.id, T0, sub.account_id, sub.plan, "bss"),))
    with second.unit_of_work() as uow:
        uow.add(other, (Requested(other.id, T0, other.account_id, other.plan, "web"),))

    assert first.subscriptions() == [sub]
    assert second.subscriptions() == [other]
    assert [e.channel for e in first.events()] == ["bss"]  # type: ignore[attr-defined]
    assert [e.channel for e in second.events()] == ["web"]  # type: ignore[attr-defined]


def test_the_simulator_runs_over_a_packed_store() -> None:
    simulator = Simulator(seed=3, resellers=50, months=1)
    simulator.run()

    assert simulator.world is not None
    assert isinstance(simulator.world.store, PackedStore)
