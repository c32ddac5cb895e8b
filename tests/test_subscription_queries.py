"""``plans.subscriptions(...)``: every filter over every store (in memory, the packed one, a
SQLite file, PostgreSQL), paging lazily while subscriptions change, and bad input refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from reseller_plans import Actor, InvalidInput, Plan, SubscriptionStatus, SyncStatus
from reseller_plans.ports import Store
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world
from store_kinds import store_fixture

HOUR = dt.timedelta(hours=1)


make_store = store_fixture("memory", "packed", "sqlite", "postgres")


@pytest.fixture
def world(make_store: Callable[[], Store]) -> Iterator[World]:
    """Seven subscriptions of D-100's resellers, one of D-200's, in every state a host asks for."""
    world = make_world(make_store)
    for n in range(7):
        world.reseller(f"35{n:02d}")
    world.reseller("4000", distributor_id="D-200")
    plans, disti, faults = world.plans, world.disti, world.faults
    plans.upgrade("3500", Plan.STANDARD, alias="active-std", actor=disti)  # sub_1: active
    plans.upgrade("3501", Plan.FREE, alias="free-one", actor=disti)  # sub_2: active, Free
    world.clock.advance(HOUR)
    sub3 = plans.upgrade("3502", Plan.STANDARD, alias="to-cancel", actor=disti)
    plans.cancel(sub3.id, actor=disti)  # sub_3: cancelled, an hour later
    sub4 = plans.upgrade("3503", Plan.FREE, alias="free-two", actor=disti)
    plans.suspend(sub4.id, actor=disti, reason="non-payment")  # sub_4: suspended
    faults.crash("storefront.activate_storefront")
    with pytest.raises(SimulatedCrash):  # sub_5: pending, its activation under way
        plans.upgrade("3504", Plan.STANDARD, alias="under-way", actor=disti)
    faults.fail("bss.provision_license", permanent=True)
    plans.upgrade("3505", Plan.STANDARD, alias="rolled", actor=disti)  # sub_6: failed
    faults.fail("storefront.activate_storefront", times=None)
    plans.upgrade("3506", Plan.STANDARD, alias="waits", actor=disti)  # sub_7: waits for retry
    faults.clear()
    plans.upgrade("4000", Plan.FREE, alias="other-disti", actor=Actor.distributor("D-200"))
    yield world
    world.store.close()


def _ids(world: World, **filters: object) -> list[str]:
    return [s.id for s in world.plans.subscriptions(**filters)]  # type: ignore[arg-type]


def test_every_filter_alone_and_together(world: World) -> None:
    assert _ids(world) == [f"sub_{n}" for n in range(1, 9)]  # in the order they were created
    assert _ids(world, distributor_id="D-200") == ["sub_8"]
    assert _ids(world, account_id="3503") == ["sub_4"]
    assert _ids(world, status="active", distributor_id="D-100") == ["sub_1", "sub_2"]
    assert _ids(world, status=["cancelled", SubscriptionStatus.SUSPENDED]) == ["sub_3", "sub_4"]
    assert _ids(world, sync="in_progress") == ["sub_5"]
    assert _ids(world, sync="failed") == ["sub_7"]  # waiting for retry
    assert _ids(world, sync=SyncStatus.SYNCHRONIZED, plan="free") == ["sub_2", "sub_4", "sub_8"]
    assert _ids(world, status="failed") == ["sub_6"]
    assert _ids(world, plan=Plan.STANDARD, status="pending") == ["sub_5", "sub_7"]
    since = world.clock.now() - HOUR / 2
    assert _ids(world, changed_since=since) == [f"sub_{n}" for n in range(3, 9)]
    assert _ids(world, changed_since=since, distributor_id="D-100", plan="free") == ["sub_4"]
    assert _ids(world, account_id="nobody") == []


def test_changed_since_follows_the_latest_event(world: World) -> None:
    world.clock.advance(HOUR)
    since = world.clock.now()
    assert _ids(world, changed_since=since) == []
    world.plans.resume("sub_4", actor=world.disti)
    world.plans.run_due()  # the activation under way goes on
    assert _ids(world, changed_since=since) == ["sub_4", "sub_5"]
    assert _ids(world, changed_since=since, sync="synchronized", status="active") == [
        "sub_4",
        "sub_5",
    ]


def test_paging_goes_on_while_subscriptions_change(world: World) -> None:
    pages = world.plans.subscriptions(status="active", page_size=1)
    first = next(pages)
    assert first.id == "sub_1"
    world.plans.cancel("sub_2", actor=world.disti)  # not active any more: not seen
    world.plans.upgrade("3502", Plan.FREE, alias="again-free", actor=world.disti)  # sub_9
    rest = [s.id for s in pages]
    assert rest == ["sub_8", "sub_9"]  # the new one, active, at the end
    assert len(_ids(world, page_size=2)) == 9
    assert _ids(world, page_size=3) == _ids(world, page_size=100)


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        ({"status": "lost"}, "status"),
        ({"status": []}, "status"),
        ({"status": 3}, "status"),
        ({"sync": "stuck"}, "sync"),
        ({"plan": "gold"}, "plan"),
        ({"distributor_id": ""}, "distributor_id"),
        ({"account_id": 42}, "account_id"),
        ({"changed_since": dt.datetime(2026, 1, 1)}, "changed_since"),  # naive
        ({"changed_since": dt.date(2026, 1, 1)}, "changed_since"),
        ({"page_size": 0}, "page_size"),
    ],
)
def test_bad_filters_are_refused_at_once(
    world: World, filters: dict[str, object], named: str
) -> None:
    with pytest.raises(InvalidInput, match=named):
        world.plans.subscriptions(**filters)  # type: ignore[arg-type]
