"""A whole world for the service manager's tests: the platform's fixtures, a distributor with its
resellers in the in-memory fakes, ``ResellerPlans`` over them, the ``ServiceManager``, and a
uvicorn server on loopback that serves it.

The request fixtures (``tests/fixtures/service_manager``) follow ``PLATFORM-API.md`` Part D: the
reseller TechSolutions Ltd (platform account 3542) buys a plan with the alias ``techsolutions``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn

from reseller_plans import Actor, LeaseSettings, Plan, ResellerAccount
from reseller_plans.ports import Store
from reseller_plans.service import ResellerPlans
from reseller_plans.service_manager import PlanCatalog, Response, ServiceManager
from reseller_plans.service_manager.asgi import create_app
from reseller_plans.service_manager.directory import InMemoryDirectory
from reseller_plans.stores.memory import InMemoryStore
from reseller_plans.testing.fakes import (
    FakeBSS,
    FakeClock,
    FakeStorefront,
    InMemoryMailer,
    sample_distributor,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "service_manager"

DISTRIBUTOR = "D-100"
OTHER_DISTRIBUTOR = "D-200"
TECHSOLUTIONS = "3542"
CLOUDY_BITS = "3543"  # reselling disabled
ACME = "3544"
BRIGHT_SHOP = "3545"
NORTHWIND = "3546"  # a reseller of the other distributor
ACCOUNTS = (TECHSOLUTIONS, CLOUDY_BITS, ACME, BRIGHT_SHOP, NORTHWIND)


def fixture(name: str) -> Any:
    """A fixture file, parsed (a fresh copy each time: tests may change it)."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


HEADERS: dict[str, str] = fixture("sm_request_headers")
APP_ID = HEADERS["X-CloudPlatform-ApplicationId"]
API_KEY = base64.b64decode(HEADERS["X-CloudPlatform-APIKey"]).decode("utf-8")
"""The key as issued at registration; the platform sends it base64-encoded once more."""


def headers(**changes: str | None) -> dict[str, str]:
    """The fixture's headers with some replaced (a value of None removes the header)."""
    result = dict(HEADERS)
    for name, value in changes.items():
        header = name.replace("_", "-")
        for existing in list(result):
            if existing.lower() == header.lower():
                del result[existing]
        if value is not None:
            result[header] = value
    return result


class World:
    """The distributor D-100 and its resellers, ``ResellerPlans`` and the service manager."""

    def __init__(
        self,
        *,
        catalog: PlanCatalog | None = None,
        store: Store | None = None,
        leases: LeaseSettings | None = None,
        **options: Any,
    ) -> None:
        self.clock = FakeClock()
        self.bss = FakeBSS()
        self.bss.add_distributor(sample_distributor(DISTRIBUTOR, name="Sample Distribution"))
        self.bss.add_distributor(sample_distributor(OTHER_DISTRIBUTOR, name="Other Distribution"))
        for account_id, distributor, name, reselling in (
            (TECHSOLUTIONS, DISTRIBUTOR, "TechSolutions Ltd", True),
            (CLOUDY_BITS, DISTRIBUTOR, "Cloudy Bits", False),
            (ACME, DISTRIBUTOR, "Acme Hosting", True),
            (BRIGHT_SHOP, DISTRIBUTOR, "Bright Shop", True),
            (NORTHWIND, OTHER_DISTRIBUTOR, "Northwind IT", True),
        ):
            email = f"admin@{name.split()[0].lower()}.example"
            self.bss.add_account(ResellerAccount(account_id, distributor, name, email, reselling))
        self.storefront = FakeStorefront(self.bss)
        self.mailer = InMemoryMailer()
        self.store = store if store is not None else InMemoryStore()
        ids = itertools.count(1)
        self.plans = ResellerPlans(
            bss=self.bss,
            storefront=self.storefront,
            mailer=self.mailer,
            store=self.store,
            clock=self.clock,
            new_id=lambda: f"sub_{next(ids):04d}",
            leases=leases,
        )
        self.directory = InMemoryDirectory()
        self.service_manager = ServiceManager(
            self.plans,
            credentials={APP_ID: API_KEY},
            distributor_id=DISTRIBUTOR,
            catalog=catalog,
            directory=self.directory,
            **options,
        )
        self.distributor = Actor.distributor(DISTRIBUTOR)

    def change_distributor(self, **changes: Any) -> None:
        """Change D-100's profile (edition, add-ons, service manager, plan products)."""
        self.bss.add_distributor(
            sample_distributor(DISTRIBUTOR, name="Sample Distribution", **changes)
        )

    def handle(
        self,
        route: str,
        body: object = None,
        *,
        method: str = "POST",
        query: str = "",
        request_headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:
        """Call the service manager directly (no HTTP) under the base path /api/ResellerPlans."""
        data = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
        return self.service_manager.handle(
            method,
            f"/api/ResellerPlans/{route}",
            request_headers if request_headers is not None else HEADERS,
            data,
            query,
        )

    def snapshot(self) -> tuple[object, ...]:
        """Everything a call could change: subscriptions, orders, licenses, storefronts, aliases,
        emails, and what the service manager remembers."""
        with self.store.unit_of_work() as uow:
            subscriptions = tuple(
                (s.id, s.version) for account in ACCOUNTS for s in uow.subscriptions_of(account)
            )
        storefronts = {
            account: (state.alias, state.plan, state.online)
            for account, state in self.storefront.storefronts.items()
        }
        return (
            subscriptions,
            dict(self.bss.orders),
            dict(self.bss.licenses),
            dict(self.bss.subscriptions),
            storefronts,
            dict(self.storefront.aliases),
            len(self.mailer.sent),
            self.directory.accounts,
            self.directory.subscriptions,
        )

    def subscriptions(self, account_id: str = TECHSOLUTIONS) -> list[Any]:
        with self.store.unit_of_work() as uow:
            return uow.subscriptions_of(account_id)

    def give_alias_to(self, alias: str, account_id: str) -> None:
        """Another reseller holds ``alias`` in the Storefront."""
        self.storefront.aliases[alias] = account_id

    def licensed_plan(self, account_id: str = TECHSOLUTIONS) -> Plan:
        return self.bss.licenses.get(account_id, Plan.BASIC)


def create_body(
    *,
    plan: str = "Standard",
    account: str = TECHSOLUTIONS,
    alias: str | None = "techsolutions",
    subscription_id: str | None = None,
    check_only: bool = False,
) -> dict[str, Any]:
    """The Create fixture, for another plan, account, alias or platform subscription."""
    body = fixture("sm_subscriptions_create_free" if plan == "Free" else "sm_subscriptions_create")
    body["Account"]["ID"] = account
    body["Account"]["ExternalID"] = account
    if alias is None:
        del body["AttributeList"]["StorefrontAlias"]
    else:
        body["AttributeList"]["StorefrontAlias"]["Value"] = alias
    if subscription_id is not None:
        body["SubscriptionID"] = subscription_id
    body["CheckOnly"] = check_only
    return body


def envelope(response: Response) -> dict[str, Any]:
    """The JSON envelope of an answer, checked to be one."""
    assert response.status == 200, response
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == {"Code", "Message", "Result"}, body
    return copy.deepcopy(body)


class Switch:
    """One server for the module; each test plugs its own world's service manager in."""

    max_body_bytes = 64 * 1024

    def __init__(self) -> None:
        self.target: ServiceManager | None = None

    def handle(self, *args: Any) -> Response:
        assert self.target is not None
        return self.target.handle(*args)


@contextlib.contextmanager
def serve_on_loopback() -> Iterator[tuple[Switch, str]]:
    """Serve the ASGI app with uvicorn on a free 127.0.0.1 port, in a background thread.

    Yields:
        The switch to plug a service manager into, and the server's base URL.
    """
    switch = Switch()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(switch),  # type: ignore[arg-type]
        log_config=None,
        access_log=False,
        lifespan="off",
        ws="none",
        http="h11",
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield switch, f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=15)
        sock.close()
