"""The core is shared: a second driver (``stepping_driver``) over the same planners, step table
and domain does what ``ResellerPlans`` does, and two of them interleave on one subscription."""

from __future__ import annotations

import pytest

from reseller_plans import Plan
from reseller_plans.domain.subscription import StepAction, SubscriptionStatus
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.faults import Faults
from service_world import World, make_world
from stepping_driver import SteppingDriver

A = StepAction


def _driver(world: World, ids: str = "step") -> SteppingDriver:
    return SteppingDriver(
        bss=world.bss, storefront=world.storefront, store=world.store, clock=world.clock, ids=ids
    )


@pytest.fixture
def world() -> World:
    return make_world(InMemoryStore)


def test_the_stepping_driver_runs_an_upgrade_to_the_state_the_service_reaches(world: World) -> None:
    world.reseller("3542")
    world.reseller("3543")
    driver = _driver(world)

    stepped = driver.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    steps = []
    while (step := driver.step()) is not None:
        steps.append(step.action)
    stepped = world.plans.get(stepped.id)
    served = world.plans.upgrade("3543", Plan.STANDARD, actor=world.disti, alias="shop-b")

    assert steps == [
        A.PLACE_ORDER,
        A.PROVISION_LICENSE,
        A.HOLD_ALIAS,
        A.ACTIVATE_STOREFRONT,
        A.QUEUE_EMAIL,
    ]
    assert stepped.status is served.status is SubscriptionStatus.ACTIVE
    assert (stepped.plan, stepped.version) == (served.plan, served.version)
    assert [type(e) for e in world.plans.history(stepped.id)] == [
        type(e) for e in world.plans.history(served.id)
    ]
    assert world.bss.licenses == {"3542": Plan.STANDARD, "3543": Plan.STANDARD}
    assert set(world.storefront.storefronts) == {"3542", "3543"}
    assert [e.kind for e in world.plans.outbox(stepped.id)] == [
        e.kind for e in world.plans.outbox(served.id)
    ]


def test_a_driver_that_took_over_mid_saga_finishes_it_and_the_first_ones_outcome_is_refused(
    world: World,
) -> None:
    world.reseller("3542")
    first, second = _driver(world, "first"), _driver(world, "second")
    sub = first.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    first.step()  # the order
    first.step()  # the license

    second.take(sub.id)  # another process finds it in progress and drives it to the end
    finished = second.run()
    late = first.step()  # the first driver, late, runs the step it believed next

    assert finished is not None
    assert finished.status is SubscriptionStatus.ACTIVE
    assert late is not None
    assert late.action is A.HOLD_ALIAS
    assert first.lost == 1
    assert first.subscription == world.plans.get(sub.id)  # it went on from what is stored
    assert first.next_step() is None
    assert world.plans.get(sub.id) == finished
    assert world.plans.run_due().emails_sent == 1  # the outbox goes out once, by the scheduler
    assert world.check_invariants() == []


def test_two_drivers_alternating_steps_on_one_saga_record_each_step_once(world: World) -> None:
    world.reseller("3542")
    first, second = _driver(world, "first"), _driver(world, "second")
    sub = first.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    second.take(sub.id)

    turns = 0
    while True:
        driver = (first, second)[turns % 2]
        driver.take(sub.id)  # each turn starts from the store, as a new process would
        if driver.step() is None:
            break
        turns += 1

    done = world.plans.get(sub.id)
    assert done.status is SubscriptionStatus.ACTIVE
    assert turns == 5
    assert first.lost == second.lost == 0
    assert done.version == sub.version + 5 + 1  # one per step, one for the activation
    assert world.plans.run_due().emails_sent == 1
    assert world.check_invariants() == []


def test_a_stepping_driver_records_a_refused_step_and_the_undo_runs_through_the_same_table(
    world: World,
) -> None:
    world.reseller("3542")
    faults: Faults = world.faults
    faults.fail("storefront.activate_storefront", permanent=True)
    driver = _driver(world)
    sub = driver.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")

    actions = []
    while (step := driver.step()) is not None:
        actions.append((step.action, step.compensation))

    assert actions == [
        (A.PLACE_ORDER, False),
        (A.PROVISION_LICENSE, False),
        (A.HOLD_ALIAS, False),
        (A.ACTIVATE_STOREFRONT, False),
        (A.RELEASE_ALIAS, True),
        (A.REVOKE_LICENSE, True),
        (A.CANCEL_ON_PLATFORM, True),
        (A.RELEASE_ALIAS, True),
    ]
    failed = world.plans.get(sub.id)
    assert failed.status is SubscriptionStatus.FAILED
    assert "3542" not in world.bss.licenses
    assert "shop-a" not in world.storefront.aliases
    assert world.check_invariants() == []
