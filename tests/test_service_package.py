"""The service package's own promises: planners decide without I/O, the alias is a saga step,
and work ``run_due`` applies for an instant is dated at that instant."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from reseller_plans import Actor, InvalidInput, Plan, Timing
from reseller_plans.domain.alias import StorefrontAlias
from reseller_plans.domain.errors import AliasTaken, Forbidden, NotEligible
from reseller_plans.domain.messages import MessageKind
from reseller_plans.domain.subscription import BillingCycle
from reseller_plans.ports import AliasHold
from reseller_plans.service import planning
from reseller_plans.service.decisions import Commit, Facts, Need, Refusal, Then, UpgradeRequest
from service_world import START, World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def _request(world: World, alias: str = "shop-a", plan: Plan = Plan.FREE) -> UpgradeRequest:
    return UpgradeRequest(
        "3542",
        plan,
        world.disti,
        StorefrontAlias.parse(alias),
        BillingCycle.MONTHLY,
        True,
        None,
        None,
    )


def test_the_upgrade_planner_asks_for_each_fact_it_lacks_in_turn(world: World) -> None:
    account = world.reseller("3542")
    facts = Facts(now=START, account=account)
    request = _request(world)
    ids = iter(["sub_new"])

    first = planning.plan_upgrade(request, facts, lambda: next(ids))
    facts = Facts(now=START, account=account, distributor=world.bss.get_distributor("D-100"))
    second = planning.plan_upgrade(request, facts, lambda: next(ids))
    facts = Facts(START, account, facts.distributor, alias_free=True)
    third = planning.plan_upgrade(request, facts, lambda: next(ids))

    assert (first, second) == (Need.PROFILES, Need.ALIAS_AVAILABILITY)
    assert isinstance(third, Commit)
    assert third.subscription.id == "sub_new"
    assert third.reserve_alias == "shop-a"
    assert third.expected_version is None
    assert third.then is Then.DRIVE
    assert world.bss.orders == {}  # deciding placed nothing


def test_the_upgrade_planner_refuses_without_reading_the_storefront_when_the_store_decides(
    world: World,
) -> None:
    account = world.reseller("3542")
    distributor = world.bss.get_distributor("D-100")
    held = AliasHold("shop-a", "9999", None)

    decision = planning.plan_upgrade(
        _request(world), Facts(START, account, distributor, hold=held), lambda: "unused"
    )

    assert isinstance(decision, Refusal)
    assert isinstance(decision.error, AliasTaken)


def test_the_upgrade_planner_refuses_an_ineligible_account_before_asking_about_the_alias(
    world: World,
) -> None:
    account = world.reseller("3542", reselling_enabled=False)
    distributor = world.bss.get_distributor("D-100")

    decision = planning.plan_upgrade(
        _request(world), Facts(START, account, distributor), lambda: "unused"
    )

    assert isinstance(decision, Refusal)
    assert isinstance(decision.error, NotEligible)


def test_the_upgrade_planner_refuses_another_distributors_account(world: World) -> None:
    account = world.reseller("3542", distributor_id="D-200")

    decision = planning.plan_upgrade(_request(world), Facts(START, account), lambda: "unused")

    assert isinstance(decision, Refusal)
    assert isinstance(decision.error, Forbidden)


def test_a_change_to_free_now_decides_without_reading_the_bss(world: World) -> None:
    world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")

    decision = planning.plan_change(sub, Facts(now=START), Plan.FREE, Timing.IMMEDIATE)

    assert isinstance(decision, Commit)
    assert decision.expected_version == sub.version


def test_a_scheduled_change_asks_for_the_profiles_its_email_needs(world: World) -> None:
    world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")

    decision = planning.plan_change(sub, Facts(now=START), Plan.FREE, None)

    assert decision is Need.PROFILES


def test_an_upgrade_holds_the_alias_in_the_storefront_as_a_step_of_its_own(world: World) -> None:
    world.reseller("3542")
    world.faults.fail("storefront.hold_alias", times=3)  # the whole budget of one step

    waiting = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")

    assert waiting.provisioning_failed
    assert waiting.operation is not None
    assert waiting.operation.steps[waiting.operation.done].value == "hold_alias"
    assert "3542" in world.bss.licenses  # the steps before it stay done
    assert "3542" not in world.storefront.storefronts
    done = world.plans.retry(waiting.id, actor=world.disti)
    assert world.storefront.aliases["shop-a"] == "3542"
    assert done.status.value == "active"


def test_run_due_dates_the_email_of_what_it_applies_at_the_instant_it_was_given(
    world: World,
) -> None:
    world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.STANDARD, actor=world.disti, alias="shop-a")
    world.plans.change_plan(sub.id, Plan.FREE, actor=world.disti)  # at the end of the term
    later = sub.term.end + dt.timedelta(days=3)  # the clock itself stays at the start

    world.plans.run_due(later)

    changed = [e for e in world.plans.outbox(sub.id) if e.kind is MessageKind.PLAN_CHANGED]
    assert [e.context["effective_at"] for e in changed] == [f"{later.day} {later:%B %Y}"]


def test_the_two_releases_of_an_undone_activation_carry_different_idempotency_keys(
    world: World,
) -> None:
    world.reseller("3542")
    world.faults.fail("storefront.activate_storefront", permanent=True)
    keys: list[str] = []
    real_release = world.storefront.release_alias

    def release(
        alias: StorefrontAlias, *, account_id: str, idempotency_key: str | None = None
    ) -> None:
        keys.append(idempotency_key or "")
        real_release(alias, account_id=account_id, idempotency_key=idempotency_key)

    world.storefront.release_alias = release  # type: ignore[method-assign]

    failed = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")

    assert failed.status.value == "failed"
    assert len(keys) == 2
    assert keys[0] != keys[1]
    assert keys[0].endswith(":release_alias:undo")
    assert keys[1].endswith(":release_alias:undo-2")


def test_a_setting_changed_after_construction_is_refused_not_ignored(world: World) -> None:
    for name, value in (("retry_budget", 5), ("alias_hold", dt.timedelta(days=90))):
        with pytest.raises(AttributeError, match="fixed when it is built"):
            setattr(world.plans, name, value)
    assert world.plans.retry_budget == 3


def test_a_closed_reseller_plans_says_so_instead_of_a_driver_error(world: World) -> None:
    world.reseller("3542")
    with world.plans as plans:
        sub = plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    with pytest.raises(InvalidInput, match="closed"):
        world.plans.get(sub.id)
    with pytest.raises(InvalidInput, match="closed"):
        world.plans.cancel(sub.id, actor=world.disti)
    world.plans.close()  # closing twice is fine


def test_free_to_standard_through_upgrade_is_decided_on_the_subscriptions_distributor(
    world: World,
) -> None:
    account = world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    world.bss.accounts["3542"] = attrs.evolve(account, distributor_id="D-200")  # moved in the BSS

    with pytest.raises(NotEligible) as refused:
        world.plans.upgrade("3542", Plan.STANDARD, actor=Actor.distributor("D-200"))

    assert "NOT_DISTRIBUTORS_ACCOUNT" in str(refused.value.report.codes)
    assert world.plans.get(sub.id).plan is Plan.FREE


def test_a_plan_change_holds_the_alias_again_before_the_storefront_goes_live(
    world: World,
) -> None:
    world.reseller("3542")
    sub = world.plans.upgrade("3542", Plan.FREE, actor=world.disti, alias="shop-a")
    del world.storefront.aliases["shop-a"]  # the Storefront lost the reservation meanwhile

    changed = world.plans.change_plan(sub.id, Plan.STANDARD, actor=world.disti)

    assert (changed.status.value, changed.plan) == ("active", Plan.STANDARD)
    assert world.storefront.aliases["shop-a"] == "3542"
