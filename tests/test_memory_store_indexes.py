"""``InMemoryStore``, and the simulator's ``PackedStore`` from its indexes, answer exactly what a
scan of everything would answer."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from reseller_plans import Plan
from reseller_plans.domain.errors import ConcurrentUpdate
from reseller_plans.domain.messages import MessageKind
from reseller_plans.ports import OutboxEntry
from reseller_plans.stores.memory import InMemoryStore, due_at, is_due
from reseller_plans.testing import Sandbox, SandboxStore, Simulator
from reseller_plans.testing.packed_store import PackedStore
from reseller_plans.testing.simulator import _PlainTemplates

STORES: dict[str, type[SandboxStore]] = {"memory": InMemoryStore, "packed": PackedStore}


@pytest.fixture(scope="module", params=sorted(STORES))
def lived_in(request: pytest.FixtureRequest) -> Sandbox:
    """A world after two months of a busy simulation, faults and crashes included, over each
    in-memory store."""
    worlds: list[Sandbox] = []

    def keep(seed: int, start: dt.datetime) -> Sandbox:
        store = STORES[request.param]()
        worlds.append(Sandbox(seed, start, templates=_PlainTemplates(), store=store))
        return worlds[-1]

    Simulator(seed=2, resellers=400, months=2, activity=0.05, fault_rate=0.2, sandbox=keep).run()
    return worlds[0]


OFFSETS = [dt.timedelta(0), dt.timedelta(days=1), dt.timedelta(days=20), dt.timedelta(days=400)]


@pytest.mark.parametrize("offset", OFFSETS, ids=str)
def test_due_is_what_a_scan_finds(lived_in: Sandbox, offset: dt.timedelta) -> None:
    store, now = lived_in.store, lived_in.now() + offset
    scanned = {s.id for s in store.subscriptions() if is_due(s, now)}

    expired = [h for h in store.alias_holds() if h.until is not None and h.until <= now]

    with store.unit_of_work() as uow:
        due = uow.due(now, limit=1_000_000)
        unsent = uow.unsent_outbox(limit=1_000_000)

    assert len(due) == len(set(due))
    assert set(due) == scanned
    assert store.has_due_work(now) is bool(scanned or unsent or expired)


@pytest.mark.parametrize("offset", OFFSETS, ids=str)
def test_next_due_after_is_the_earliest_scheduled_instant(
    lived_in: Sandbox, offset: dt.timedelta
) -> None:
    store, when = lived_in.store, lived_in.now() + offset
    instants = [t for s in store.subscriptions() if (t := due_at(s)) is not None and t > when]
    instants += [h.until for h in store.alias_holds() if h.until is not None and h.until > when]

    assert store.next_due_after(when) == min(instants, default=None)


def test_due_comes_in_time_order(lived_in: Sandbox) -> None:
    store = lived_in.store
    with store.unit_of_work() as uow:
        due = uow.due(lived_in.now() + dt.timedelta(days=400), limit=1_000_000)
        times = [due_at(sub) for sid in due if (sub := uow.get(sid)) is not None]

    assert times == sorted(t for t in times if t is not None)


def test_outbox_queries_are_what_a_scan_finds(lived_in: Sandbox) -> None:
    store = lived_in.store
    with store.unit_of_work() as uow:
        everything = [e for s in store.subscriptions() for e in uow.outbox_of(s.id)]
        unsent = uow.unsent_outbox(limit=1_000_000)
        per_subscription = {s.id: uow.outbox_of(s.id) for s in store.subscriptions()}

    scanned = [e for e in everything if e.sent_at is None and not e.failed_permanently]
    assert sorted(unsent, key=lambda e: e.id) == sorted(scanned, key=lambda e: e.id)
    assert [e.created_at for e in unsent] == sorted(e.created_at for e in unsent)  # oldest first
    for sid, entries in per_subscription.items():
        assert entries == [e for e in everything if e.subscription_id == sid]
        assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)


@pytest.mark.parametrize("offset", OFFSETS, ids=str)
def test_expired_alias_holds_are_what_a_scan_finds(lived_in: Sandbox, offset: dt.timedelta) -> None:
    store, now = lived_in.store, lived_in.now() + offset
    scanned = [h for h in store.alias_holds() if h.until is not None and h.until <= now]

    with store.unit_of_work() as uow:
        assert uow.expired_alias_holds(now) == scanned


def test_events_are_every_history_in_commit_order(lived_in: Sandbox) -> None:
    store = lived_in.store
    log = store.events()

    assert len(log) == store.event_count
    with store.unit_of_work() as uow:
        for sub in store.subscriptions():
            assert uow.history(sub.id) == [e for e in log if e.subscription_id == sub.id]
    assert store.events(len(log) - 3) == log[-3:]


def test_outbox_entries_come_back_as_they_went_in() -> None:
    sandbox = Sandbox()
    sub = sandbox.upgrade(sandbox.reseller(), Plan.STANDARD)
    entry = OutboxEntry(
        "m-1",
        sub.id,
        MessageKind.WELCOME,
        ("a@x.example",),
        {"plan": "free", "n": "1"},
        sub.term.start,
    )

    with sandbox.store.unit_of_work() as uow:
        uow.add_outbox(entry)
    with sandbox.store.unit_of_work() as uow:
        again = next(e for e in uow.outbox_of(sub.id) if e.id == "m-1")
        uow.update_outbox(attrs.evolve(again, sent_at=sub.term.end, attempts=1))
    with sandbox.store.unit_of_work() as uow:
        sent = next(e for e in uow.outbox_of(sub.id) if e.id == "m-1")

    assert again == entry
    assert sent == attrs.evolve(entry, sent_at=sub.term.end, attempts=1)
    assert list(sent.context.items()) == [("plan", "free"), ("n", "1")]


def test_a_unit_of_work_that_fails_leaves_the_indexes_alone() -> None:
    sandbox = Sandbox()
    reseller = sandbox.reseller(plan=Plan.FREE)
    store = sandbox.store
    sub = sandbox.subscription(reseller)
    assert sub is not None
    before = (store.next_due_after(sandbox.now()), store.event_count)

    with pytest.raises(ConcurrentUpdate), store.unit_of_work() as uow:
        uow.save(sub, (), expected_version=sub.version)
        uow.save(sub, (), expected_version=sub.version - 1)

    assert (store.next_due_after(sandbox.now()), store.event_count) == before


def test_a_unit_of_work_sees_its_own_staged_writes_in_due() -> None:
    sandbox = Sandbox()
    sub = sandbox.upgrade(sandbox.reseller(), Plan.FREE)
    store = InMemoryStore()
    later = sub.term.end

    with store.unit_of_work() as uow:
        uow.add(sub, ())
        assert uow.due(later, limit=10) == [sub.id]
        assert uow.due(sandbox.now(), limit=10) == []
    with store.unit_of_work() as uow:
        assert uow.due(later, limit=10) == [sub.id]
