"""``plans.events(after=cursor)``: the store's events in one order that never changes, with
stable ids and versioned payloads, over the in-memory store, a SQLite file and PostgreSQL; and
on PostgreSQL, transactions that commit out of order never make an event appear behind a
cursor already given."""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from reseller_plans import EventPage, FeedEvent, InvalidInput, Plan
from reseller_plans.domain.events import MessageResent
from reseller_plans.domain.feed import PAYLOAD_VERSION, event_type, event_type_set
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.stores.postgres import PostgresStore
from reseller_plans.testing.packed_store import PackedStore
from service_world import World, make_world, world_fixture
from store_kinds import store_fixture

DSN = os.environ.get("RESELLER_PLANS_TEST_POSTGRES_DSN")
T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


make_store = store_fixture("memory", "sqlite", "postgres")
world = world_fixture("3542", "3543")


def test_the_feed_gives_every_event_once_in_order_with_stable_ids(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    history = world.plans.history(sub.id)
    page = world.plans.events()
    assert [e.event for e in page.events] == history
    assert page.cursor == page.events[-1].position
    again = world.plans.events()
    assert [e.id for e in again.events] == [e.id for e in page.events]  # stable ids
    assert len({e.id for e in page.events}) == len(page.events)

    other = world.plans.upgrade("3543", Plan.FREE, alias="second", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti)
    rest: list[FeedEvent] = []
    cursor = page.cursor
    while True:  # two at a time, as a consumer that keeps its cursor would
        more = world.plans.events(after=cursor, limit=2)
        if not more.events:
            assert more.cursor == cursor  # an empty page keeps the cursor
            break
        rest += more.events
        cursor = more.cursor
    later = world.plans.history(other.id) + world.plans.history(sub.id)[len(history) :]
    assert sorted(map(repr, (e.event for e in rest))) == sorted(map(repr, later))
    assert [e.event for e in rest if e.event.subscription_id == sub.id] == (
        world.plans.history(sub.id)[len(history) :]
    )  # each subscription's events in its history's order
    assert world.plans.events(after=cursor).events == ()


def test_each_payload_is_versioned_and_json_ready(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    first = world.plans.events(limit=1).events[0]
    payload = first.payload()
    assert payload["version"] == PAYLOAD_VERSION
    assert payload["id"] == first.id
    assert payload["subscription_id"] == sub.id
    assert payload["type"] == "subscription.requested"
    assert payload["data"] == {"account_id": "3542", "plan": "standard", "channel": "bss"}
    assert dt.datetime.fromisoformat(str(payload["occurred_at"])) == first.event.at
    resent = MessageResent(sub.id, T0, "m", "welcome", "distributor D-100")
    assert event_type(resent) == "subscription.message_resent"


@pytest.mark.parametrize(("args", "named"), [
    ({"after": "nowhere"}, "position"), ({"after": 7}, "after"), ({"limit": 0}, "limit"),
])  # fmt: skip
def test_bad_cursors_and_limits_are_refused(
    world: World, args: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        world.plans.events(**args)  # type: ignore[arg-type]


def test_a_packed_store_says_it_has_no_feed() -> None:
    world = make_world(PackedStore)
    with pytest.raises(InvalidInput, match="no feed"):
        world.plans.events()
    memory = make_world(lambda: InMemoryStore(keep_event_log=False))
    with pytest.raises(InvalidInput, match="no event log"):
        memory.plans.events()


@pytest.mark.postgres
def test_a_transaction_that_commits_late_is_never_skipped() -> None:
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    early, late, reader = (PostgresStore(DSN, schema=schema) for _ in range(3))
    try:
        with reader.unit_of_work() as uow:
            uow.record_events([MessageResent("s0", T0, "m0", "welcome", "first")])
        wrote, go = threading.Event(), threading.Event()

        def slow_writer() -> None:  # takes its transaction id first, and commits last
            with early.unit_of_work() as uow:
                uow.record_events([MessageResent("s1", T0, "m1", "welcome", "early")])
                wrote.set()
                assert go.wait(30)

        thread = threading.Thread(target=slow_writer)
        thread.start()
        assert wrote.wait(30)
        with late.unit_of_work() as uow:  # a later transaction, committed at once
            uow.record_events([MessageResent("s2", T0, "m2", "welcome", "late")])

        with reader.unit_of_work() as uow:
            seen = uow.events_after(None, 10)
        # The late one has committed, but the early one could still commit before it in the
        # feed's order: neither is given yet, so the cursor cannot go past the early one.
        assert [e.event.actor for e in seen] == ["first"]  # type: ignore[attr-defined]
        go.set()
        thread.join(30)
        with reader.unit_of_work() as uow:
            rest = uow.events_after(seen[-1].position, 10)
        assert [e.event.actor for e in rest] == ["early", "late"]  # type: ignore[attr-defined]
    finally:
        go.set()
        for store in (early, late, reader):
            store.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_a_page_is_a_value() -> None:
    assert EventPage((), None).cursor is None


@pytest.mark.parametrize("known_only", [True, False])
@pytest.mark.parametrize(
    ("value", "message"),
    [("subscription.activated", "not one text"), (7, "set of event type names, not int 7")],
)
def test_a_set_of_event_types_is_neither_one_text_nor_a_value_that_holds_no_names(
    value: object, message: str, known_only: bool
) -> None:
    with pytest.raises(InvalidInput, match=message):
        event_type_set(value, known_only=known_only)  # type: ignore[arg-type]


def test_a_set_of_event_types_names_known_types_or_any_of_the_right_form() -> None:
    names = ["subscription.activated", "subscription.activated", "subscription.renamed"]
    assert event_type_set(names, known_only=False) == set(names)
    with pytest.raises(InvalidInput, match=r"no event has the type 'subscription\.renamed'"):
        event_type_set(names, known_only=True)
    assert event_type_set(names[:1], known_only=True) == {"subscription.activated"}
    with pytest.raises(InvalidInput, match="lowercase words joined by dots"):
        event_type_set(["Activated"], known_only=False)
    assert event_type_set([], known_only=True) == frozenset()


def test_a_cursor_of_another_kind_of_store_or_past_any_number_is_refused(
    world: World, tmp_path: Path
) -> None:
    world.plans.upgrade("3542", Plan.STANDARD, alias="first", actor=world.disti)
    mine = world.plans.events(limit=1).cursor
    assert mine is not None
    kind = mine.partition(":")[0]
    foreign = [c for c in ("memory:1", "sqlite:0.1", "postgres:7.1") if c.partition(":")[0] != kind]
    for cursor in [*foreign, f"{kind}:99999999999999999999.1", f"{kind}:x", "1"]:
        with pytest.raises(InvalidInput, match="not a position"):
            world.plans.events(after=cursor)
    with pytest.raises(InvalidInput, match="limit"):
        world.plans.events(limit=10**20)


@pytest.mark.postgres
def test_a_subscriptions_history_is_in_the_feeds_order_when_writes_interleave() -> None:
    if not DSN:
        pytest.skip("no PostgreSQL configured: set RESELLER_PLANS_TEST_POSTGRES_DSN")
    schema = f"test_{uuid.uuid4().hex[:10]}"
    outbox, driver, reader = (PostgresStore(DSN, schema=schema) for _ in range(3))
    try:
        wrote, go = threading.Event(), threading.Event()

        def message_refused() -> None:  # as OutboxSender does: the outbox row, then its event
            with outbox.unit_of_work() as uow:
                uow.record_events([MessageResent("s1", T0, "m1", "welcome", "outbox")])
                wrote.set()
                assert go.wait(30)

        thread = threading.Thread(target=message_refused)
        thread.start()
        assert wrote.wait(30)
        with driver.unit_of_work() as uow:  # a saga step of the same subscription, meanwhile
            uow.record_events([MessageResent("s1", T0, "m2", "welcome", "driver")])
        go.set()
        thread.join(30)
        with reader.unit_of_work() as uow:
            history = [e.actor for e in uow.history("s1")]  # type: ignore[attr-defined]
            feed = [e.event.actor for e in uow.events_after(None, 10)]  # type: ignore[attr-defined]
        assert history == feed == ["outbox", "driver"]
    finally:
        go.set()
        for store in (outbox, driver, reader):
            store.close()
        with psycopg.connect(DSN, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
