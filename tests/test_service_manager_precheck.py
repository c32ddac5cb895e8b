"""The Service Manager's pre-check (``CheckOnly``) is the real call's planner asked first: it
says "fine" exactly when the call then succeeds, lists why not otherwise, and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from reseller_plans.service_manager import ResultCode
from service_manager_world import ACME, CLOUDY_BITS, NORTHWIND, World, create_body, envelope

Setup = Callable[[World], dict[str, Any]]


def _standard_asks_free(world: World) -> dict[str, Any]:
    envelope(world.handle("Subscriptions/Create", create_body(subscription_id="P-1")))
    return create_body(plan="Free", alias="techsolutions", subscription_id="P-2")


def _alias_held_by_another(world: World) -> dict[str, Any]:
    world.give_alias_to("techsolutions", ACME)
    return create_body()


def _upgrade_under_way(world: World) -> dict[str, Any]:
    world.storefront.faults.fail("storefront.activate_storefront", times=10)
    envelope(world.handle("Subscriptions/Create", create_body(subscription_id="P-1")))
    world.storefront.faults.clear()
    return create_body(account=ACME, alias="techsolutions", subscription_id="P-3")


SCENARIOS: dict[str, Setup] = {
    "a fresh reseller": lambda w: create_body(),
    "Free for a fresh reseller": lambda w: create_body(plan="Free"),
    "no alias from Basic": lambda w: create_body(alias=None),
    "an invalid alias": lambda w: create_body(alias="-bad-"),
    "not marked as a reseller": lambda w: create_body(account=CLOUDY_BITS, alias="cloudy"),
    "another distributor's reseller": lambda w: create_body(account=NORTHWIND, alias="nw"),
    "an alias another reseller holds": _alias_held_by_another,
    "Free for a reseller on Standard": _standard_asks_free,
    "the alias of an upgrade under way": _upgrade_under_way,
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_create_precheck_passes_exactly_when_the_create_then_succeeds(name: str) -> None:
    world = World()
    body = SCENARIOS[name](world)
    before = world.snapshot()

    precheck = envelope(world.handle("Subscriptions/Create", {**body, "CheckOnly": True}))
    assert world.snapshot() == before  # the pre-check wrote nothing
    real = envelope(world.handle("Subscriptions/Create", body))

    assert (precheck["Code"] == ResultCode.OK) == (real["Code"] == ResultCode.OK), (precheck, real)
    if precheck["Code"] != ResultCode.OK:
        assert precheck["Message"].startswith("account ")
        assert "(fix: " in precheck["Message"]  # every failure comes with its remedy


def test_a_refused_create_precheck_lists_every_failure_not_only_the_first() -> None:
    world = World()
    world.give_alias_to("cloudy", ACME)
    body = create_body(account=CLOUDY_BITS, alias="cloudy", check_only=True)

    answer = envelope(world.handle("Subscriptions/Create", body))

    assert answer["Code"] == ResultCode.NOT_ELIGIBLE
    assert "RESELLING_DISABLED" in answer["Message"]
    assert "ALIAS_TAKEN" in answer["Message"]


def test_an_update_precheck_passes_exactly_when_the_update_then_succeeds() -> None:
    world = World()
    created = envelope(world.handle("Subscriptions/Create", create_body(subscription_id="P-1")))
    sub_id = created["Result"]
    world.plans.suspend(
        sub_id, actor=world.distributor, reason="non-payment", platform_initiated=True
    )
    body = create_body(plan="Free", subscription_id="P-1")
    body["ID"] = sub_id
    before = world.snapshot()

    precheck = envelope(world.handle("Subscriptions/Update", {**body, "CheckOnly": True}))
    assert world.snapshot() == before
    real = envelope(world.handle("Subscriptions/Update", body))

    assert precheck["Code"] == ResultCode.ILLEGAL_STATE
    assert real["Code"] != ResultCode.OK
    world.plans.resume(sub_id, actor=world.distributor, platform_initiated=True)
    assert envelope(world.handle("Subscriptions/Update", {**body, "CheckOnly": True}))["Code"] == 0
    assert envelope(world.handle("Subscriptions/Update", body))["Code"] == 0
