"""The service's guarantees: authorization on every command, idempotency, and recovery from a
crash at every port call, with the state in a real SQLite file."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from reseller_plans import (
    Actor,
    Forbidden,
    IdempotencyConflict,
    Plan,
    Timing,
)
from reseller_plans.domain.subscription import Subscription, SubscriptionStatus
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.sqlite import SQLiteStore
from reseller_plans.testing.faults import SimulatedCrash
from service_world import World, make_world

OWN = Actor.distributor("D-100")
OTHER_DISTRIBUTOR = Actor.distributor("D-200")
OTHER_RESELLER = Actor.reseller("3600")


@pytest.fixture
def world() -> World:
    w = make_world()
    w.reseller("3542")
    w.reseller("3600")
    return w


def active(world: World, plan: Plan = Plan.STANDARD) -> Subscription:
    return world.plans.upgrade("3542", plan, alias="techsol", actor=OWN)


COMMANDS: dict[str, Callable[[ResellerPlans, str, Actor], object]] = {
    "change_plan": lambda p, s, a: p.change_plan(s, Plan.FREE, actor=a),
    "cancel": lambda p, s, a: p.cancel(s, actor=a),
    "cancel_at_term_end": lambda p, s, a: p.cancel(s, actor=a, timing=Timing.END_OF_TERM),
    "withdraw_change": lambda p, s, a: p.withdraw_change(s, actor=a),
    "suspend": lambda p, s, a: p.suspend(s, actor=a),
    "resume": lambda p, s, a: p.resume(s, actor=a),
    "retry": lambda p, s, a: p.retry(s, actor=a),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("actor", [OTHER_DISTRIBUTOR, OTHER_RESELLER], ids=str)
def test_another_party_may_not_act_on_a_subscription(
    world: World, command: str, actor: Actor
) -> None:
    sub = active(world)
    calls_before = sum(world.faults.calls.values())

    with pytest.raises(Forbidden):
        COMMANDS[command](world.plans, sub.id, actor)

    assert world.plans.get(sub.id) == sub
    # refused before any call to an outside system
    assert sum(world.faults.calls.values()) == calls_before


@pytest.mark.parametrize("command", ["suspend", "resume", "retry"])
def test_suspend_resume_and_retry_are_distributor_actions(world: World, command: str) -> None:
    sub = active(world)
    with pytest.raises(Forbidden):
        COMMANDS[command](world.plans, sub.id, Actor.reseller("3542"))
    assert world.plans.get(sub.id) == sub


@pytest.mark.parametrize("actor", [OTHER_DISTRIBUTOR, OTHER_RESELLER], ids=str)
def test_another_party_may_not_upgrade_an_account(world: World, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=actor)
    assert world.bss.orders == {}
    assert world.plans.subscription_of("3542") is None


def test_a_reseller_may_not_check_another_account(world: World) -> None:
    with pytest.raises(Forbidden):
        world.plans.check("3542", Plan.FREE, actor=OTHER_RESELLER)
    report = world.plans.check("3542", Plan.FREE, actor=OTHER_DISTRIBUTOR)
    assert not report.eligible
    assert "NOT_DISTRIBUTORS_ACCOUNT" in {c.value for c in report.codes}


def test_repeating_an_upgrade_with_its_key_returns_the_first_result(world: World) -> None:
    first = world.plans.upgrade(
        "3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="crm-1"
    )
    again = world.plans.upgrade(
        "3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="crm-1"
    )
    assert again == first
    assert len(world.bss.orders) == 1
    assert len(world.mailer.sent) == 1


def test_the_same_key_with_other_arguments_is_refused(world: World) -> None:
    world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="crm-1")
    with pytest.raises(IdempotencyConflict):
        world.plans.upgrade("3600", Plan.FREE, alias="other", actor=OWN, idempotency_key="crm-1")
    assert world.plans.subscription_of("3600") is None


def test_keys_are_scoped_to_the_actor(world: World) -> None:
    world.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=OWN, idempotency_key="k")
    sub = world.plans.upgrade(
        "3600", Plan.FREE, alias="other", actor=Actor.reseller("3600"), idempotency_key="k"
    )
    assert sub.account_id == "3600"


def test_repeating_a_cancel_with_its_key_does_not_cancel_twice(world: World) -> None:
    sub = active(world)
    world.plans.cancel(sub.id, actor=OWN, idempotency_key="c-1")
    again = world.plans.cancel(sub.id, actor=OWN, idempotency_key="c-1")
    assert again.status is SubscriptionStatus.CANCELLED
    assert world.faults.calls["bss.cancel_subscription"] == 1


def test_the_repeat_after_a_crash_finishes_the_first_request(world: World) -> None:
    world.faults.crash("bss.provision_license")
    with pytest.raises(SimulatedCrash):
        world.plans.upgrade(
            "3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="crm-9"
        )
    plans = world.restart()
    sub = plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=OWN, idempotency_key="crm-9")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert len(world.bss.orders) == 1
    assert world.check_invariants() == []


# --- crash at every step ----------------------------------------------------------------------

Scenario = Callable[[ResellerPlans, World], object]


def _setup_active(world: World) -> str:
    return world.plans.upgrade("3542", Plan.STANDARD, alias="techsol", actor=OWN).id


SCENARIOS: dict[
    str, tuple[Callable[[World], str | None], Callable[[ResellerPlans, str | None], object]]
] = {
    "upgrade in the BSS": (
        lambda w: None,
        lambda p, s: p.upgrade("3542", Plan.STANDARD, alias="techsol", actor=OWN),
    ),
    "purchase in the Storefront": (
        lambda w: None,
        lambda p, s: p.upgrade("3542", Plan.FREE, alias="techsol", actor=Actor.reseller("3542")),
    ),
    "Free to Standard": (
        lambda w: w.plans.upgrade("3542", Plan.FREE, alias="techsol", actor=OWN).id,
        lambda p, s: p.upgrade("3542", Plan.STANDARD, actor=OWN),
    ),
    "downgrade now": (
        _setup_active,
        lambda p, s: p.change_plan(s or "", Plan.FREE, actor=OWN, timing=Timing.IMMEDIATE),
    ),
    "scheduled downgrade applied": (
        lambda w: (s := _setup_active(w), w.plans.change_plan(s, Plan.FREE, actor=OWN))[0],
        lambda p, s: p.run_due(p.get(s or "").term.end),
    ),
    "cancel": (_setup_active, lambda p, s: p.cancel(s or "", actor=OWN)),
    "suspend": (_setup_active, lambda p, s: p.suspend(s or "", actor=OWN, reason="x")),
    "resume": (
        lambda w: (s := _setup_active(w), w.plans.suspend(s, actor=OWN))[0],
        lambda p, s: p.resume(s or "", actor=OWN),
    ),
}


def _sqlite_world(tmp_path: Path) -> World:
    path = tmp_path / "plans.sqlite3"
    w = make_world(lambda: SQLiteStore(path))
    w.reseller("3542")
    return w


def _port_calls(name: str, tmp_path: Path) -> list[tuple[str, int]]:
    """Every port call the scenario's command makes, as (operation, call number)."""
    world = _sqlite_world(tmp_path / "probe")
    setup, command = SCENARIOS[name]
    sid = setup(world)
    before = dict(world.faults.calls)
    command(world.plans, sid)
    world.store.close()
    return [
        (op, n)
        for op, count in sorted(world.faults.calls.items())
        for n in range(before.get(op, 0) + 1, count + 1)
    ]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_crash_at_every_port_call_is_resumed_by_run_due(name: str, tmp_path: Path) -> None:
    (tmp_path / "probe").mkdir()
    calls = _port_calls(name, tmp_path)
    assert calls, "the scenario makes port calls"
    for index, (operation, number) in enumerate(calls):
        run = tmp_path / f"run{index}"
        run.mkdir()
        world = _sqlite_world(run)
        setup, command = SCENARIOS[name]
        sid = setup(world)
        world.faults.crash(operation, on_call=number)
        with contextlib.suppress(SimulatedCrash):
            command(world.plans, sid)
        world.store.close()
        world.faults.clear()
        plans = world.restart()  # a new service over the reopened SQLite file
        plans.run_due(world.clock.now())
        # a scheduled change's due time may lie ahead of the fake clock
        world.clock.advance(dt.timedelta(days=40))
        plans.run_due()
        problems = world.check_invariants()
        assert problems == [], f"crash at {operation} call {number}: {problems}"
        world.store.close()
