"""Every operation of the real adapters (``BSSClient``, ``StorefrontClient``) over real sockets,
through the fault proxy in front of the emulator, crossed with every fault.

Per cell: only typed errors; retries only where safe (a write only with its idempotency key, the
same on every attempt); a write whose answer was lost or unreadable is ``OutcomeUnknown``; the
waits are the policy's (backoff, or the server's Retry-After), on a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from fault_proxy import FAULTS
from proxy_world import (
    ATTEMPTS,
    FakeTime,
    World,
    bss_client,
    proxied_emulator,
    storefront_client,
)
from reseller_plans import (
    NotFound,
    PermanentBackendError,
    Plan,
    ResellerPlansError,
    StorefrontAlias,
    TransientBackendError,
)
from reseller_plans.http import MalformedResponse, OutcomeUnknown

ALIAS = StorefrontAlias.parse("techsolutions")
FRONT = "/api/storefront/resellers/3542/storefront"
Adapters = tuple[Any, Any]  # (bss, storefront)


def _order(bss: Any, shop: Any) -> str:
    order = bss.place_plan_order(account_id="3542", product_id="P-1004", alias=ALIAS,
                                 billing_cycle="monthly", idempotency_key="setup")  # fmt: skip
    assert order.platform_subscription_id
    return str(order.platform_subscription_id)


def _suspended(bss: Any, shop: Any) -> str:
    sid = _order(bss, shop)
    bss.suspend_subscription(sid, idempotency_key="setup-suspend")
    return sid


def _live_front(bss: Any, shop: Any) -> str:
    shop.activate_storefront("3542", ALIAS, Plan.STANDARD, idempotency_key="setup-front")
    return ""


def _suspended_front(bss: Any, shop: Any) -> str:
    _live_front(bss, shop)
    shop.suspend_storefront("3542", idempotency_key="setup-suspend-front")
    return ""


def _held(bss: Any, shop: Any) -> str:
    shop.hold_alias(ALIAS, account_id="3542")
    return ""


def _nothing(bss: Any, shop: Any) -> str:
    return ""


@dataclass(frozen=True)
class Op:
    name: str
    method: str
    path: str  # the glob the fault is injected on
    call: Callable[[Adapters, str], object]
    setup: Callable[[Any, Any], str] = _nothing
    reads_body: bool = True  # a 2xx body it parses
    not_found_is_ok: bool = False
    keyed: bool = True  # a write that carries an idempotency key

    @property
    def write(self) -> bool:
        return self.method != "GET"


OPS = [
    Op("get_distributor", "GET", "/api/organization", lambda a, _: a[0].get_distributor("100")),
    Op("get_account", "GET", "/api/accounts/3542", lambda a, _: a[0].get_account("3542")),
    Op("list_resellers", "GET", "/api/accounts", lambda a, _: list(a[0].list_resellers("100"))),
    Op("get_subscription", "GET", "/api/subscriptions/*", lambda a, s: a[0].get_subscription(s),
       setup=_order),
    Op("place_plan_order", "POST", "/api/orders/*/checkout",
       lambda a, _: a[0].place_plan_order(account_id="3542", product_id="P-1004", alias=ALIAS,
                                          billing_cycle="monthly", idempotency_key="k")),
    Op("cancel_subscription", "POST", "/api/subscriptions/*/cancel",
       lambda a, s: a[0].cancel_subscription(s, idempotency_key="k"), setup=_order,
       reads_body=False),
    Op("suspend_subscription", "POST", "/api/subscriptions/*/suspend",
       lambda a, s: a[0].suspend_subscription(s, idempotency_key="k"), setup=_order,
       reads_body=False),
    Op("resume_subscription", "POST", "/api/subscriptions/*/resume",
       lambda a, s: a[0].resume_subscription(s, idempotency_key="k"), setup=_suspended,
       reads_body=False),
    Op("provision_license", "PATCH", "/api/accounts/3542",
       lambda a, _: a[0].provision_license("3542", Plan.STANDARD, idempotency_key="k"),
       reads_body=False),
    Op("revoke_license", "PATCH", "/api/accounts/3542",
       lambda a, _: a[0].revoke_license("3542", idempotency_key="k"), reads_body=False),
    Op("is_alias_free", "GET", "/api/storefront/aliases/techsolutions",
       lambda a, _: a[1].is_alias_free(ALIAS, account_id="3542"), not_found_is_ok=True),
    Op("hold_alias", "PUT", "/api/storefront/aliases/techsolutions",
       lambda a, _: a[1].hold_alias(ALIAS, account_id="3542"), reads_body=False, keyed=False),
    Op("release_alias", "DELETE", "/api/storefront/aliases/techsolutions",
       lambda a, _: a[1].release_alias(ALIAS, account_id="3542", idempotency_key="k"),
       setup=_held, reads_body=False, not_found_is_ok=True),
    Op("activate_storefront", "POST", f"{FRONT}/activate",
       lambda a, _: a[1].activate_storefront("3542", ALIAS, Plan.STANDARD, idempotency_key="k")),
    Op("suspend_storefront", "POST", f"{FRONT}/suspend",
       lambda a, _: a[1].suspend_storefront("3542", idempotency_key="k"), setup=_live_front,
       reads_body=False),
    Op("resume_storefront", "POST", f"{FRONT}/resume",
       lambda a, _: a[1].resume_storefront("3542", idempotency_key="k"),
       setup=_suspended_front, reads_body=False),
    Op("deactivate_storefront", "POST", f"{FRONT}/deactivate",
       lambda a, _: a[1].deactivate_storefront("3542", idempotency_key="k"),
       setup=_live_front, reads_body=False, not_found_is_ok=True),
    Op("purchase_plan", "POST", "/api/storefront/baskets/*/checkout",
       lambda a, _: a[1].purchase_plan(account_id="3542", product_id="P-1004", alias=ALIAS,
                                       billing_cycle="monthly", idempotency_key="k")),
]  # fmt: skip

LOST = {"reset_before", "reset_after", "timeout"}  # no answer: retried where safe
REFUSED_TRANSIENT = {"429_retry_after", "429", "403_body", "403_retry_after", "403_remaining",
                     "500", "503"}  # fmt: skip
UNREADABLE = {"malformed_json", "wrong_shape", "acted_garbled"}
STATUS = {"429_retry_after": 429, "429": 429, "403_body": 403, "403_retry_after": 403,
          "403_remaining": 403, "500": 500, "503": 503}  # fmt: skip
RETRY_AFTER = {"429_retry_after": 1.0, "403_retry_after": 1.0}


@dataclass
class Clients:
    time: FakeTime
    direct: Adapters  # straight to the emulator, to set the scene
    proxied: Adapters  # through the fault proxy


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with proxied_emulator() as running:
        yield running


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[Clients]:
    time = FakeTime()
    direct = (bss_client(world.server.url, time), storefront_client(world.server.url, time))
    proxied = (bss_client(world.proxy.url, time), storefront_client(world.proxy.url, time))
    yield Clients(time, direct, proxied)
    for client in (*direct, *proxied):
        client.close()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_every_adapter_call_under_every_socket_fault_is_typed_and_retried_only_where_safe(
    world: World, clients: Clients, op: Op, fault: str
) -> None:
    world.reset()
    time = clients.time
    target = op.setup(*clients.direct)
    time.sleeps.clear()
    world.proxy.inject(op.method, op.path, fault)
    raised: BaseException | None = None
    try:
        op.call(clients.proxied, target)
    except Exception as error:
        raised = error

    assert raised is None or isinstance(raised, ResellerPlansError), repr(raised)
    sent = world.proxy.requests_to(op.method, op.path)
    _check_outcome(op, fault, raised, attempts=len(sent), sleeps=time.sleeps)
    keys = {s.idempotency_key for s in sent}
    if op.write and op.keyed:
        assert len(keys) == 1, keys  # one key, on every attempt
        assert None not in keys
    else:
        assert keys == {None}


def _check_outcome(
    op: Op, fault: str, raised: BaseException | None, *, attempts: int, sleeps: list[float]
) -> None:
    waits = [RETRY_AFTER.get(fault, 0.5 * 2**i * 0.875) for i in range(ATTEMPTS - 1)]
    if fault in LOST:
        assert attempts == ATTEMPTS
        assert sleeps == waits
        assert isinstance(raised, TransientBackendError)
        assert raised.retries_exhausted
        # a write whose answer was lost may have acted
        assert isinstance(raised, OutcomeUnknown) is op.write
    elif fault in REFUSED_TRANSIENT:
        assert attempts == ATTEMPTS
        assert sleeps == waits
        assert isinstance(raised, TransientBackendError)
        assert raised.retries_exhausted
        assert not isinstance(raised, OutcomeUnknown)  # the server said it did not act
        assert raised.status == STATUS[fault]
        assert raised.retry_after == RETRY_AFTER.get(fault)
    elif fault in UNREADABLE:
        assert attempts == 1
        assert sleeps == []
        if not op.reads_body:
            assert raised is None
        elif op.write:
            assert isinstance(raised, OutcomeUnknown)
        else:
            assert isinstance(raised, MalformedResponse)
    elif fault == "404":
        assert attempts == 1
        assert sleeps == []
        if op.not_found_is_ok:
            assert raised is None
        else:
            assert isinstance(raised, NotFound)
            assert isinstance(raised, PermanentBackendError)
    else:
        assert fault == "400"
        assert attempts == 1
        assert sleeps == []
        assert type(raised) is PermanentBackendError
        assert raised.status == 400
