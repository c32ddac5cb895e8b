"""ResellerPlans over the real HTTP adapters and the emulator on loopback: every failure of every
call of an activation leaves no partial state: the upgrade completes, is rolled back, or waits
for a retry with nothing half-provisioned."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from reseller_plans import Actor, Plan, SubscriptionStatus, SyncStatus, TransientBackendError
from reseller_plans.bss import BSSClient
from reseller_plans.http import RetryPolicy
from reseller_plans.service import ResellerPlans
from reseller_plans.storefront import StorefrontClient
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator
from reseller_plans.testing.fakes import InMemoryMailer

DISTRIBUTOR = Actor.distributor("100")
NO_WAIT = RetryPolicy(max_attempts=3, sleep=lambda seconds: None)

ACTIVATION_ROUTES = [
    "POST /api/orders",
    "POST /api/orders/{order_id}/items",
    "POST /api/orders/{order_id}/checkout",
    "PATCH /api/accounts/{account_id}",
    "PUT /api/storefront/aliases/{alias}",
    "POST /api/storefront/resellers/{account_id}/storefront/activate",
]


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with serve_emulator(EmulatorState.demo()) as running:
        yield running


@pytest.fixture
def plans(server: EmulatorServer) -> Iterator[ResellerPlans]:
    service = wire(server)
    yield service
    service.bss.close()  # type: ignore[attr-defined]
    service.storefront.close()  # type: ignore[attr-defined]


def wire(server: EmulatorServer) -> ResellerPlans:
    bss = BSSClient(
        server.url,
        client_key="demo-client-key",
        client_secret="demo-client-secret",
        username="api-user@disti.example",
        password="demo-password",
        retry=NO_WAIT,
    )
    shop = StorefrontClient(server.url, api_key="demo-storefront-api-key", retry=NO_WAIT)
    ids = itertools.count(1)
    return ResellerPlans(
        bss=bss,
        storefront=shop,
        mailer=InMemoryMailer(),
        store=InMemoryStore(),
        new_id=lambda: f"sub_{next(ids)}",
    )


def platform_state(server: EmulatorServer, account_id: str) -> tuple[object, object]:
    """The account's licensed plan and its storefront's status, as the platform has them."""
    state = server.state
    front = state.storefronts.get(account_id)
    return state.account(account_id).get("resellerPlan"), None if front is None else front["status"]


def test_an_upgrade_runs_end_to_end_over_http(server: EmulatorServer, plans: ResellerPlans) -> None:
    sub = plans.upgrade("3542", Plan.STANDARD, alias="techsolutions", actor=DISTRIBUTOR)
    assert sub.status is SubscriptionStatus.ACTIVE
    assert platform_state(server, "3542") == ("Standard", "Active")
    assert server.state.calls_to("POST /api/orders/{order_id}/checkout") == 1
    cancelled = plans.cancel(sub.id, actor=DISTRIBUTOR)
    assert cancelled.status is SubscriptionStatus.CANCELLED
    assert platform_state(server, "3542") == ("Basic", "Inactive")
    assert server.state.subscriptions[sub.platform_subscription_id or ""]["status"] == "Cancelled"


@pytest.mark.parametrize("route", ACTIVATION_ROUTES)
@pytest.mark.parametrize("status", [400, 503])
def test_a_failing_call_leaves_no_partial_state(
    server: EmulatorServer, plans: ResellerPlans, route: str, status: int
) -> None:
    # 400 fails once for good; 503 outlasts every retry of the adapter and the service
    server.emulator.fail_next(status, route=route, count=1 if status == 400 else 100)

    sub = plans.upgrade("3542", Plan.STANDARD, alias="techsolutions", actor=DISTRIBUTOR)

    plan, storefront = platform_state(server, "3542")
    if status == 400:
        # refused for good: rolled back, nothing left on the platform, the reseller on Basic
        assert sub.status is SubscriptionStatus.FAILED
        assert plan in (None, "Basic")
        assert storefront in (None, "Inactive")
        assert "techsolutions" not in server.state.aliases
        assert plans.plan_of("3542") is Plan.BASIC
        for platform_sub in server.state.subscriptions.values():
            assert platform_sub["status"] == "Cancelled"
    else:
        # unavailable: waits for a retry with nothing past the failed step done
        assert sub.status is SubscriptionStatus.PENDING
        assert sub.sync_status is SyncStatus.FAILED
        assert storefront is None
        server.emulator.clear_scripted_faults()
        finished = plans.retry(sub.id, actor=DISTRIBUTOR)
        assert finished.status is SubscriptionStatus.ACTIVE
        assert platform_state(server, "3542") == ("Standard", "Active")
    assert executed_checkouts(server) <= 1


def executed_checkouts(server: EmulatorServer) -> int:
    """Orders the platform executed (not the refused attempts, nor idempotent replays)."""
    return sum(
        1
        for call in server.state.call_log
        if call.route == "POST /api/orders/{order_id}/checkout"
        and call.status < 300
        and not call.replayed
    )


def test_no_connection_stays_open_after_the_clients_close(server: EmulatorServer) -> None:
    plans = wire(server)
    server.emulator.fail_next(503, count=100)
    with pytest.raises(TransientBackendError):  # the account cannot even be read
        plans.upgrade("3542", Plan.FREE, alias="techsolutions", actor=DISTRIBUTOR)
    assert plans.subscription_of("3542") is None
    plans.bss.close()  # type: ignore[attr-defined]
    plans.storefront.close()  # type: ignore[attr-defined]
    # the server notices the closed sockets on its own thread: give it a bounded moment
    deadline = time.monotonic() + 5
    while server.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.open_connections == 0
