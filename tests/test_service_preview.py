"""``preview.upgrade`` and ``preview.change_plan``: the command's own planner, nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reseller_plans import (
    Actor,
    AliasTaken,
    Forbidden,
    IllegalTransition,
    InvalidAlias,
    InvalidInput,
    NotEligible,
    NotFound,
    Plan,
    ResellerPlansError,
    SubscriptionStatus,
    TransientBackendError,
)
from service_world import World, make_world


@pytest.fixture
def world() -> World:
    w = make_world()
    for account in ("3542", "3600", "3700"):
        w.reseller(account)
    w.reseller("3800", reselling_enabled=False)
    w.reseller("9000", distributor_id="D-200")
    return w


def written(world: World) -> tuple[object, ...]:
    """Everything a command could write, anywhere."""
    with world.store.unit_of_work() as uow:
        lives = [uow.live_subscription_of(a) for a in ("3542", "3600", "3700", "3800", "9000")]
        holds = [uow.get_alias_hold(a) for a in ("techsolutions", "fresh", "shop-two")]
        keys = uow.get_idempotency("distributor:D-100", "k")
    return (
        lives, holds, keys, len(world.mailer.sent), len(world.bss.orders),
        dict(world.bss.licenses),
    )  # fmt: skip


def test_an_allowed_preview_shows_the_subscription_and_writes_nothing(world: World) -> None:
    before = written(world)
    preview = world.plans.preview.upgrade("3542", "standard", actor=world.disti, alias="fresh")
    assert preview.allowed
    assert preview.error is None
    assert preview.subscription is not None
    assert preview.subscription.status is SubscriptionStatus.PENDING
    assert preview.subscription.plan is Plan.STANDARD
    assert str(preview.subscription.alias) == "fresh"
    assert preview.subscription.id == "sub_preview"
    assert written(world) == before
    # and the command then does what the preview said
    sub = world.plans.upgrade("3542", "standard", actor=world.disti, alias="fresh")
    assert sub.status is SubscriptionStatus.ACTIVE
    assert sub.id == "sub_1"  # the preview took no id from the id source


Scenario = Callable[[World], tuple[str, Plan, Actor, str | None]]


def _held_alias(w: World) -> tuple[str, Plan, Actor, str | None]:
    w.plans.upgrade("3600", Plan.FREE, actor=w.disti, alias="techsolutions")
    return "3542", Plan.FREE, w.disti, "techsolutions"


def _on_the_plan_already(w: World) -> tuple[str, Plan, Actor, str | None]:
    w.plans.upgrade("3700", Plan.STANDARD, actor=w.disti, alias="shop-two")
    return "3700", Plan.FREE, w.disti, "other-shop"


SCENARIOS: dict[str, tuple[Scenario, type[ResellerPlansError]]] = {
    "not eligible": (lambda w: ("3800", Plan.FREE, w.disti, "fresh"), NotEligible),
    "alias taken": (_held_alias, AliasTaken),
    "another distributor's": (lambda w: ("9000", Plan.FREE, w.disti, "fresh"), Forbidden),
    "a reseller for another": (
        lambda w: ("3542", Plan.FREE, Actor.reseller("3600"), "fresh"),
        Forbidden,
    ),
    "not an upgrade": (_on_the_plan_already, IllegalTransition),
    "no alias from Basic": (lambda w: ("3542", Plan.FREE, w.disti, None), InvalidAlias),
    "an invalid alias": (lambda w: ("3542", Plan.FREE, w.disti, "-x-"), InvalidAlias),
    "an unknown account": (lambda w: ("1234", Plan.FREE, w.disti, "fresh"), NotFound),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_a_refused_preview_carries_the_error_the_upgrade_then_raises(
    world: World, name: str
) -> None:
    scenario, error_type = SCENARIOS[name]
    account, plan, actor, alias = scenario(world)
    before = written(world)
    preview = world.plans.preview.upgrade(account, plan, actor=actor, alias=alias)
    assert not preview.allowed
    assert isinstance(preview.error, error_type)
    assert written(world) == before
    with pytest.raises(error_type) as raised:
        world.plans.upgrade(account, plan, actor=actor, alias=alias)
    assert str(raised.value) == str(preview.error)


def test_a_backend_that_cannot_be_read_is_raised_not_a_refusal(world: World) -> None:
    world.faults.fail("bss.get_account", times=10)
    with pytest.raises(TransientBackendError):
        world.plans.preview.upgrade("3542", Plan.FREE, actor=world.disti, alias="fresh")


def test_a_malformed_argument_is_raised_as_by_the_command(world: World) -> None:
    with pytest.raises(InvalidInput, match="actor must be an Actor"):
        world.plans.preview.upgrade("3542", Plan.FREE, actor="D-100", alias="fresh")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="Basic is not an upgrade"):
        world.plans.preview.upgrade("3542", Plan.BASIC, actor=world.disti, alias="fresh")


def test_a_plan_change_preview_says_when_and_writes_nothing(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    before = written(world)
    later = world.plans.preview.change_plan(sub.id, "free", actor=world.disti)
    now = world.plans.preview.change_plan(sub.id, "free", actor=world.disti, timing="immediate")
    assert later.subscription is not None
    assert later.subscription.pending_change is not None  # Standard → Free waits for term end
    assert now.subscription is not None
    assert now.subscription.operation is not None  # at once: the saga would start
    assert written(world) == before
    assert world.plans.get(sub.id).version == sub.version


def test_a_plan_change_preview_refuses_as_change_plan_does(world: World) -> None:
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="techsolutions")
    world.plans.suspend(sub.id, actor=world.disti, reason="non-payment")
    preview = world.plans.preview.change_plan(sub.id, Plan.FREE, actor=world.disti)
    assert isinstance(preview.error, IllegalTransition)
    with pytest.raises(IllegalTransition) as raised:
        world.plans.change_plan(sub.id, Plan.FREE, actor=world.disti)
    assert str(raised.value) == str(preview.error)
    other = world.plans.preview.change_plan(sub.id, Plan.FREE, actor=Actor.distributor("D-200"))
    assert isinstance(other.error, Forbidden)
    missing = world.plans.preview.change_plan("sub_x", Plan.FREE, actor=world.disti)
    assert isinstance(missing.error, NotFound)
