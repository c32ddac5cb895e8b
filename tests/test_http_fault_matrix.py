"""The fault matrix: every port operation of both adapters, crossed with every kind
of failure.

For each cell it checks the number of attempts made on the failing route, that every attempt of
a write carried the same ``Idempotency-Key``, the waits the retry policy asked for (backoff or
``Retry-After``), and the typed error raised: never an untyped one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from http_fakes import (
    ORGANIZATION,
    PRODUCTS,
    Keys,
    Sleeps,
    account_body,
    backoffs,
    bss_router,
    json_response,
    make_bss,
    make_storefront,
    page_body,
    sf_router,
    twin,  # noqa: F401 - the fixture that runs each test on both twins
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
ATTEMPTS = 3

pytestmark = pytest.mark.usefixtures("twin")


@dataclass(frozen=True)
class Op:
    """One port operation and the request a fault is injected into."""

    name: str
    adapter: str  # "bss" or "storefront"
    method: str
    path: str
    ok: Callable[[], httpx.Response]
    call: Callable[[Any], object]
    key: str | None = None  # the caller's key as sent; "minted" for a key the client mints
    reads_body: bool = True
    not_found_is_ok: bool = False
    others: dict[tuple[str, str], Callable[[], httpx.Response]] = field(default_factory=dict)


def _ok(body: Any = None, status: int = 200) -> Callable[[], httpx.Response]:
    return lambda: json_response(status, body if body is not None else {})


_PENDING_SUB = {("GET", "/api/subscriptions/S-1"): _ok({"id": "S-1", "status": "Pending"})}
_ORDER = {("POST", "/api/orders"): _ok({"id": "O-1"}, 201),
          ("POST", "/api/orders/O-1/items"): _ok({"id": "I-1"}, 201)}  # fmt: skip
_BASKET = {("POST", "/api/storefront/baskets"): _ok({"id": "O-7"}, 201),
           ("POST", "/api/storefront/baskets/O-7/items"): _ok({"id": "I-1"}, 201)}  # fmt: skip
_FRONT = "/api/storefront/resellers/3542/storefront"

OPS = [
    Op("get_distributor", "bss", "GET", "/api/organization", _ok(ORGANIZATION),
       lambda c: c.get_distributor("100"),
       others={("GET", "/api/products"): _ok(page_body(PRODUCTS, index=1, pages=1,
                                                       next_url=None))}),
    Op("get_account", "bss", "GET", "/api/accounts/3542", _ok(account_body()),
       lambda c: c.get_account("3542")),
    Op("list_resellers", "bss", "GET", "/api/accounts",
       _ok(page_body([account_body()], index=1, pages=1, next_url=None)),
       lambda c: list(c.list_resellers("100"))),
    Op("place_plan_order", "bss", "POST", "/api/orders/O-1/checkout",
       _ok({"id": "O-1", "subscriptionId": "S-1"}),
       lambda c: c.place_plan_order(account_id="3542", product_id="P-3", alias=ALIAS,
                                    billing_cycle="monthly", idempotency_key="k"),
       key="k/checkout", others=_ORDER),
    Op("cancel_subscription", "bss", "POST", "/api/subscriptions/S-1/cancel", _ok(),
       lambda c: c.cancel_subscription("S-1", idempotency_key="k"), key="k",
       reads_body=False, others=_PENDING_SUB),
    Op("suspend_subscription", "bss", "POST", "/api/subscriptions/S-1/suspend", _ok(),
       lambda c: c.suspend_subscription("S-1", idempotency_key="k"), key="k",
       reads_body=False, others=_PENDING_SUB),
    Op("resume_subscription", "bss", "POST", "/api/subscriptions/S-1/resume", _ok(),
       lambda c: c.resume_subscription("S-1", idempotency_key="k"), key="k",
       reads_body=False, others=_PENDING_SUB),
    Op("provision_license", "bss", "PATCH", "/api/accounts/3542", _ok(account_body()),
       lambda c: c.provision_license("3542", Plan.STANDARD, idempotency_key="k"), key="k",
       reads_body=False),
    Op("revoke_license", "bss", "PATCH", "/api/accounts/3542", _ok(account_body()),
       lambda c: c.revoke_license("3542", idempotency_key="k"), key="k", reads_body=False),
    Op("is_alias_free", "storefront", "GET", "/api/storefront/aliases/techsolutions",
       _ok({"accountId": 3542}), lambda c: c.is_alias_free(ALIAS, account_id="3542"),
       not_found_is_ok=True),
    Op("hold_alias", "storefront", "PUT", "/api/storefront/aliases/techsolutions",
       _ok({}, 201), lambda c: c.hold_alias(ALIAS, account_id="3542"), reads_body=False),
    Op("release_alias", "storefront", "DELETE", "/api/storefront/aliases/techsolutions",
       lambda: httpx.Response(204), lambda c: c.release_alias(ALIAS, account_id="3542"),
       key="minted", reads_body=False, not_found_is_ok=True),
    Op("activate_storefront", "storefront", "POST", f"{_FRONT}/activate",
       _ok({"url": "https://cloud.disti.test/techsolutions"}),
       lambda c: c.activate_storefront("3542", ALIAS, Plan.STANDARD), key="minted"),
    Op("suspend_storefront", "storefront", "POST", f"{_FRONT}/suspend", _ok(),
       lambda c: c.suspend_storefront("3542"), key="minted", reads_body=False),
    Op("resume_storefront", "storefront", "POST", f"{_FRONT}/resume", _ok(),
       lambda c: c.resume_storefront("3542"), key="minted", reads_body=False),
    Op("deactivate_storefront", "storefront", "POST", f"{_FRONT}/deactivate", _ok(),
       lambda c: c.deactivate_storefront("3542"), key="minted", reads_body=False,
       not_found_is_ok=True),
    Op("purchase_plan", "storefront", "POST", "/api/storefront/baskets/O-7/checkout",
       _ok({"orderId": "O-7", "subscriptionId": "S-3"}),
       lambda c: c.purchase_plan(account_id="3542", product_id="P-3", alias=ALIAS,
                                 billing_cycle="monthly", idempotency_key="k"),
       key="k/checkout", others=_BASKET),
]  # fmt: skip


def _raise(error: Exception) -> Callable[[], httpx.Response]:
    def fail() -> httpx.Response:
        raise error

    return fail


FAULTS: dict[str, Callable[[], httpx.Response]] = {
    "connection_reset": _raise(httpx.ReadError("[Errno 104] Connection reset by peer")),
    "read_timeout": _raise(httpx.ReadTimeout("The read operation timed out")),
    "429_retry_after": lambda: json_response(429, {"message": "slow"}, **{"Retry-After": "2"}),
    "429": lambda: json_response(429, {"message": "slow down"}),
    "403_rate_limit": lambda: json_response(403, {"message": "API rate limit exceeded"}),
    "500": lambda: json_response(500, {"message": "boom"}),
    "503": lambda: json_response(503, {"message": "maintenance"}),
    "malformed_json": lambda: httpx.Response(
        200, text="{'not': json", headers={"Content-Type": "application/json"}
    ),
    "400": lambda: json_response(400, {"message": "invalid parameter"}),
    "404": lambda: json_response(404, {"message": "no such object"}),
}
RETRYABLE = {"connection_reset", "read_timeout", "429_retry_after", "429", "403_rate_limit",
             "500", "503"}  # fmt: skip
STATUS = {"429_retry_after": 429, "429": 429, "403_rate_limit": 403, "500": 500, "503": 503}

CELLS = [
    pytest.param(op, fault, mode, id=f"{op.name}-{fault}-{mode}")
    for op in OPS
    for fault in FAULTS
    for mode in (("always", "once") if fault in RETRYABLE else ("always",))
]


def _wire(op: Op, fault: str, mode: str) -> tuple[respx.Router, respx.Route]:
    router = bss_router() if op.adapter == "bss" else sf_router()
    for (method, path), answer in op.others.items():
        router.route(method=method, path=path).mock(side_effect=lambda _r, a=answer: a())
    failing = FAULTS[fault]
    calls = {"n": 0}

    def answer(_request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if mode == "once" and calls["n"] > 1:
            return op.ok()
        return failing()

    route = router.route(method=op.method, path=op.path).mock(side_effect=answer)
    return router, route


@pytest.mark.parametrize(("op", "fault", "mode"), CELLS)
def test_fault_matrix(op: Op, fault: str, mode: str) -> None:
    router, route = _wire(op, fault, mode)
    sleeps = Sleeps()
    keys = Keys()
    client: Any = (
        make_bss(router, sleeps=sleeps, max_attempts=ATTEMPTS)
        if op.adapter == "bss"
        else make_storefront(router, sleeps=sleeps, max_attempts=ATTEMPTS, key_factory=keys)
    )
    raised: BaseException | None = None
    try:
        op.call(client)
    except Exception as error:
        raised = error

    assert raised is None or isinstance(raised, ResellerPlansError), repr(raised)
    _check_outcome(op, fault, mode, route=route, sleeps=sleeps, raised=raised)
    _check_keys(op, route, keys)


def _check_outcome(
    op: Op, fault: str, mode: str, *, route: respx.Route, sleeps: Sleeps,
    raised: BaseException | None,
) -> None:  # fmt: skip
    """Attempts, waits and the typed outcome."""
    if fault in RETRYABLE:
        attempts = 2 if mode == "once" else ATTEMPTS
        waits = [2.0] * (attempts - 1) if fault == "429_retry_after" else backoffs(attempts - 1)
        assert route.call_count == attempts
        assert sleeps == waits
        if mode == "once":
            assert raised is None
            return
        assert isinstance(raised, TransientBackendError)
        assert raised.status == STATUS.get(fault)
        assert raised.retry_after == (2.0 if fault == "429_retry_after" else None)
        return
    assert route.call_count == 1
    assert sleeps == []
    if fault == "malformed_json" and op.method != "GET":
        # a write's unreadable success may have acted: unknown, not malformed
        assert isinstance(raised, OutcomeUnknown) if op.reads_body else raised is None
    elif fault == "malformed_json":
        assert isinstance(raised, MalformedResponse) if op.reads_body else raised is None
    elif fault == "404" and op.not_found_is_ok:
        assert raised is None
    elif fault == "404":
        assert isinstance(raised, NotFound)
        assert isinstance(raised, PermanentBackendError)
    else:
        assert type(raised) is PermanentBackendError
        assert raised.status == 400


def _check_keys(op: Op, route: respx.Route, keys: Keys) -> None:
    """One key per logical write, the same on every attempt."""
    sent = [call.request.headers.get("Idempotency-Key") for call in route.calls]
    if op.key is None:
        assert sent == [None] * len(sent)
    elif op.key == "minted":
        assert len(keys.minted) == 1
        assert sent == [keys.minted[0]] * len(sent)
    else:
        assert sent == [op.key] * len(sent)
