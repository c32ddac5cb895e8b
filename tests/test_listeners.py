"""``plans.add_listener``: the host's callbacks, called after each commit with the events it
wrote, filtered by type, in order; a callback that raises never fails the command; over the
in-memory store, a SQLite file and PostgreSQL."""

from __future__ import annotations

import logging

import pytest

from reseller_plans import Event, InvalidInput, Plan, ResellerPlans, SubscriptionStatus
from reseller_plans.domain.feed import EVENT_TYPE_NAMES, event_type
from reseller_plans.stores.memory import InMemoryStore
from service_world import World, build_plans, make_world, world_fixture
from store_kinds import store_fixture

make_store = store_fixture("memory", "sqlite", "postgres")
world = world_fixture("3542", "3543")


def test_a_listener_sees_every_event_once_in_order_after_its_commit(world: World) -> None:
    seen: list[Event] = []
    statuses: list[SubscriptionStatus] = []

    def on_event(event: Event) -> None:
        seen.append(event)
        if event.name == "Activated":  # committed already: the store shows it
            statuses.append(world.plans.get(event.subscription_id).status)

    world.plans.add_listener(on_event)
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti)
    assert seen == world.plans.history(sub.id)
    assert statuses == [SubscriptionStatus.ACTIVE]


def test_a_filter_passes_only_the_types_named(world: World) -> None:
    activated: list[str] = []
    cancelled: list[str] = []
    world.plans.add_listener(
        lambda e: activated.append(e.subscription_id), event_types=["subscription.activated"]
    )
    world.plans.add_listener(
        lambda e: cancelled.append(e.name),
        event_types=("subscription.cancelled", "subscription.reverted_to_basic"),
    )
    sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    other = world.plans.upgrade("3543", Plan.FREE, alias="beta", actor=world.disti)
    world.plans.cancel(sub.id, actor=world.disti)
    assert activated == [sub.id, other.id]
    wanted = {"Cancelled", "RevertedToBasic"}
    assert cancelled == [e.name for e in world.plans.history(sub.id) if e.name in wanted]
    assert cancelled


def test_a_listener_that_raises_is_logged_and_the_command_stands(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("the CRM is down")

    world.plans.add_listener(broken, event_types=["subscription.activated"])
    world.plans.add_listener(lambda e: after.append(e.name), event_types=["subscription.activated"])
    with caplog.at_level(logging.ERROR, logger="reseller_plans.events"):
        sub = world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    assert sub.status is SubscriptionStatus.ACTIVE  # not failed by the host's callback
    assert world.plans.get(sub.id).status is SubscriptionStatus.ACTIVE
    assert after == ["Activated"]  # the others still ran
    failures = [r for r in caplog.records if r.name == "reseller_plans.events"]
    assert len(failures) == 1
    assert "raised on Activated of " + sub.id in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert "the CRM is down" in str(failures[0].exc_info[1])


def test_removing_a_listener_stops_it_and_removing_twice_does_nothing(world: World) -> None:
    seen: list[str] = []
    remove = world.plans.add_listener(lambda e: seen.append(e.name))
    world.plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    count = len(seen)
    assert count
    remove()
    remove()
    world.plans.upgrade("3543", Plan.FREE, alias="beta", actor=world.disti)
    assert len(seen) == count


def test_close_stops_every_listener_of_that_facade(world: World) -> None:
    seen: list[str] = []
    world.plans.add_listener(lambda e: seen.append(e.name))
    world.plans.close()
    world.store = world.make_store()
    plans = build_plans(world)
    plans.upgrade("3542", Plan.STANDARD, alias="acme", actor=world.disti)
    assert seen == []


def test_another_facade_over_the_same_store_has_its_own_listeners(world: World) -> None:
    mine: list[str] = []
    world.plans.add_listener(lambda e: mine.append(e.subscription_id))
    other = build_plans(world)  # another façade over the same store object
    theirs: list[str] = []
    other.add_listener(lambda e: theirs.append(e.subscription_id))
    sub = other.upgrade("3542", Plan.FREE, alias="acme", actor=world.disti)
    assert set(theirs) == {sub.id}
    assert set(mine) == {sub.id}  # the store is shared, so its commits are seen by both


@pytest.mark.parametrize(
    ("event_types", "message"),
    [
        ("subscription.activated", "not one text"),
        ([], "empty"),
        (["subscription.activate"], "no event has the type 'subscription.activate'"),
        (["Activated"], "no event has the type 'Activated'"),
        (42, "not int"),
    ],
)
def test_a_malformed_filter_is_refused_and_nothing_is_registered(
    world: World, event_types: object, message: str
) -> None:
    seen: list[str] = []
    with pytest.raises(InvalidInput, match=message):
        world.plans.add_listener(lambda e: seen.append(e.name), event_types=event_types)  # type: ignore[arg-type]
    world.plans.upgrade("3542", Plan.FREE, alias="acme", actor=world.disti)
    assert seen == []


def test_a_listener_must_be_callable(world: World) -> None:
    with pytest.raises(InvalidInput, match="a function of one event"):
        world.plans.add_listener("print")  # type: ignore[arg-type]


def test_every_event_class_has_a_type_a_filter_accepts() -> None:
    world = make_world()
    world.reseller("3542")
    seen: list[str] = []
    world.plans.add_listener(lambda e: seen.append(event_type(e)), event_types=EVENT_TYPE_NAMES)
    world.plans.upgrade("3542", Plan.FREE, alias="acme", actor=world.disti)
    assert seen
    assert set(seen) <= EVENT_TYPE_NAMES


class _SilentStore:
    """A store of the host's that tells no listener of its commits."""

    def __init__(self) -> None:
        self._inner = InMemoryStore()

    def __getattr__(self, name: str) -> object:
        if name == "add_listener":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_that_tells_no_listener_is_refused_with_the_way_out() -> None:
    world = make_world()
    store = _SilentStore()
    plans = ResellerPlans(
        bss=world.bss,
        storefront=world.storefront,
        mailer=world.mailer,
        store=store,  # type: ignore[arg-type]
        clock=world.clock,
    )
    with pytest.raises(InvalidInput, match=r"has no add_listener\(\)\): read the feed"):
        plans.add_listener(print)
