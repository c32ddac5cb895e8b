"""An activation stored by a version before the alias hold was a step of its own resumes right.

Such an activation has the steps (order, license, storefront, email): its storefront step held
the alias itself. Loaded from a SQL store it gets today's steps back, with its progress kept.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import attrs
import pytest

from lifecycle_builders import T0, make_subscription
from reseller_plans import Plan
from reseller_plans.domain import saga
from reseller_plans.domain.lifecycle import Context
from reseller_plans.domain.saga import Outcome
from reseller_plans.domain.subscription import (
    Operation,
    OperationKind,
    StepAction,
    SubscriptionStatus,
)
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world

A = StepAction
K = OperationKind
OLD = (A.PLACE_ORDER, A.PROVISION_LICENSE, A.ACTIVATE_STOREFRONT, A.QUEUE_EMAIL)


def _old(done: int, *, compensating: bool = False, undone: int = 0) -> Operation:
    return Operation(
        OperationKind.ACTIVATION, Plan.FREE, Plan.BASIC, OLD, done, compensating, undone, id="s-2"
    )


def _remaining(op: Operation) -> list[tuple[StepAction, bool]]:
    """Every step still to run, as ``next_step`` names them, with all outcomes done."""
    sub = attrs.evolve(make_subscription(SubscriptionStatus.PENDING, Plan.FREE), operation=op)
    steps = []
    while (step := saga.next_step(sub)) is not None:
        steps.append((step.action, step.compensation))
        sub = saga.record(sub, step, Outcome.done(), Context(at=T0)).subscription
    return steps


@pytest.mark.parametrize(
    ("old", "expected"),
    [
        # The storefront step was next: hold the alias first, then put the storefront live.
        (_old(2), [(A.HOLD_ALIAS, False), (A.ACTIVATE_STOREFRONT, False), (A.QUEUE_EMAIL, False)]),
        # The storefront is live (with the alias held): only the email is left.
        (_old(3), [(A.QUEUE_EMAIL, False)]),
        # Undoing after the storefront went live: take it down, give the alias back, and on.
        (
            _old(3, compensating=True),
            [
                (A.DEACTIVATE_STOREFRONT, True),
                (A.RELEASE_ALIAS, True),
                (A.REVOKE_LICENSE, True),
                (A.CANCEL_ON_PLATFORM, True),
                (A.RELEASE_ALIAS, True),
            ],
        ),
        # The storefront was taken down (the alias given back with it): the license is next.
        (
            _old(3, compensating=True, undone=1),
            [(A.REVOKE_LICENSE, True), (A.CANCEL_ON_PLATFORM, True), (A.RELEASE_ALIAS, True)],
        ),
        # Undoing before the storefront step: its order is cancelled and the alias given back.
        (
            _old(2, compensating=True),
            [(A.REVOKE_LICENSE, True), (A.CANCEL_ON_PLATFORM, True), (A.RELEASE_ALIAS, True)],
        ),
    ],
    ids=["storefront-next", "email-next", "undo-all", "undo-after-storefront", "undo-early"],
)
def test_an_old_activation_gets_todays_steps_with_its_progress_kept(
    old: Operation, expected: list[tuple[StepAction, bool]]
) -> None:
    assert _remaining(saga.with_alias_steps(old)) == expected


def test_todays_operations_and_other_kinds_are_left_as_they_are() -> None:
    today = Operation(
        OperationKind.ACTIVATION,
        Plan.FREE,
        Plan.BASIC,
        saga.OPERATION_STEPS[OperationKind.ACTIVATION],
    )
    change = Operation(
        OperationKind.PLAN_CHANGE,
        Plan.FREE,
        Plan.STANDARD,
        saga.OPERATION_STEPS[OperationKind.PLAN_CHANGE],
    )
    assert saga.with_alias_steps(today) is today
    assert saga.with_alias_steps(change) is change


def test_an_activation_left_in_progress_in_an_old_sqlite_file_resumes_and_holds_its_alias(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plans.sqlite"
    world: World = make_world(lambda: SQLiteStore(path))
    world.reseller("3542")
    world.faults.crash("storefront.hold_alias")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    world.faults.clear()
    world.store.close()
    # Write it back as the old version stored it: the storefront step next, no hold step.
    with sqlite3.connect(path) as db:
        (body,) = db.execute("SELECT body FROM subscriptions").fetchone()
        data = json.loads(body)
        data["operation"]["steps"] = [s.value for s in OLD]
        assert data["operation"]["done"] == 2
        db.execute("UPDATE subscriptions SET body = ?", (json.dumps(data),))

    plans = world.restart()
    plans.run_due()

    sub = plans.subscription_of("3542")
    assert sub is not None
    assert sub.status.value == "active"
    assert world.storefront.aliases["shop-a"] == "3542"
    assert world.storefront.storefronts["3542"].online
    assert world.check_invariants() == []
