"""Whole operations (upgrade, plan change, cancel) through the real adapters, the fault proxy and
the emulator, with every fault on every write they make: none leaves partial state.

After the command (and, when it waits for a retry, after the retry with the faults gone): no live
storefront and no license for a subscription that is not live, and a live subscription's plan is
the plan of its license and of its storefront.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fault_proxy import FAULTS
from proxy_world import FakeTime, World, bss_client, proxied_emulator, storefront_client
from reseller_plans import (
    Actor,
    Plan,
    ResellerPlansError,
    Subscription,
    SubscriptionStatus,
    SyncStatus,
    Timing,
)
from reseller_plans.service import ResellerPlans
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import InMemoryMailer

DISTRIBUTOR = Actor.distributor("100")
ACCOUNT = "3542"
FRONT = f"/api/storefront/resellers/{ACCOUNT}/storefront"
UPGRADE_WRITES = [("POST", "/api/orders"), ("POST", "/api/orders/*/items"),
                  ("POST", "/api/orders/*/checkout"), ("PATCH", f"/api/accounts/{ACCOUNT}"),
                  ("PUT", "/api/storefront/aliases/techsolutions"),
                  ("POST", f"{FRONT}/activate")]  # fmt: skip
CHANGE_WRITES = [("PATCH", f"/api/accounts/{ACCOUNT}"), ("POST", f"{FRONT}/activate")]
CANCEL_WRITES = [("POST", f"{FRONT}/deactivate"), ("PATCH", f"/api/accounts/{ACCOUNT}"),
                 ("POST", "/api/subscriptions/*/cancel")]  # fmt: skip
CASES = [
    pytest.param(command, method, path, fault, id=f"{command}-{method}{path}-{fault}")
    for command, writes in (("upgrade", UPGRADE_WRITES), ("change", CHANGE_WRITES),
                            ("cancel", CANCEL_WRITES))
    for method, path in writes
    for fault in FAULTS
]  # fmt: skip


@dataclass
class Service:
    plans: ResellerPlans
    time: FakeTime


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with proxied_emulator() as running:
        yield running


@pytest.fixture
def service(world: World) -> Iterator[Service]:
    world.reset()
    time = FakeTime()
    bss = bss_client(world.proxy.url, time)
    shop = storefront_client(world.proxy.url, time)
    ids = itertools.count(1)
    plans = ResellerPlans(bss=bss, storefront=shop, mailer=InMemoryMailer(),
                          store=InMemoryStore(), new_id=lambda: f"sub_{next(ids)}")  # fmt: skip
    yield Service(plans, time)
    bss.close()
    shop.close()


def _run(plans: ResellerPlans, command: str, sub: Subscription | None) -> None:
    try:
        if command == "upgrade":
            plans.upgrade(ACCOUNT, Plan.STANDARD, alias="techsolutions", actor=DISTRIBUTOR)
        elif command == "change":
            assert sub is not None
            plans.change_plan(sub.id, Plan.FREE, actor=DISTRIBUTOR, timing=Timing.IMMEDIATE)
        else:
            assert sub is not None
            plans.cancel(sub.id, actor=DISTRIBUTOR, timing=Timing.IMMEDIATE)
    except ResellerPlansError:
        pass  # a typed refusal is fine; what matters is the state it leaves


@pytest.mark.parametrize(("command", "method", "path", "fault"), CASES)
def test_an_operation_under_a_socket_fault_leaves_no_partial_state(
    world: World, service: Service, command: str, method: str, path: str, fault: str
) -> None:
    plans = service.plans
    sub = None
    if command != "upgrade":
        sub = plans.upgrade(ACCOUNT, Plan.STANDARD, alias="techsolutions", actor=DISTRIBUTOR)
        assert sub.status is SubscriptionStatus.ACTIVE
    world.proxy.inject(method, path, fault)

    _run(plans, command, sub)
    world.proxy.clear()
    sub_id = sub.id if sub is not None else "sub_1"
    current = plans.get(sub_id) if _exists(plans, sub_id) else None
    if current is not None and current.sync_status is SyncStatus.FAILED:
        # waits for a retry: it completes (or finishes its undo) once the platform answers
        current = plans.retry(current.id, actor=DISTRIBUTOR)

    if fault == "404" and path.endswith("/deactivate"):
        # The platform says the storefront does not exist, and an undo (or a cancellation)
        # takes "not found" as done; the proxy lied, so only the rest can be checked.
        world.server.emulator.state.storefronts.pop(ACCOUNT, None)
    _assert_consistent(world, plans, current)


def _exists(plans: ResellerPlans, sub_id: str) -> bool:
    try:
        plans.get(sub_id)
    except ResellerPlansError:
        return False
    return True


def _assert_consistent(world: World, plans: ResellerPlans, sub: Subscription | None) -> None:
    state = world.server.state
    front = state.storefronts.get(ACCOUNT)
    front_live = front is not None and front["status"] == "Active"
    license_plan = state.account(ACCOUNT).get("resellerPlan") or "Basic"
    live = sub is not None and sub.status is SubscriptionStatus.ACTIVE
    assert sub is None or sub.operation is None, sub  # nothing left half-run
    if not live:
        assert not front_live, front
        assert license_plan == "Basic"
        assert plans.plan_of(ACCOUNT) is Plan.BASIC
        return
    assert sub is not None
    assert license_plan == sub.plan.title
    assert front_live
    assert front is not None
    assert front["plan"] == sub.plan.title
    assert plans.plan_of(ACCOUNT) is sub.plan
