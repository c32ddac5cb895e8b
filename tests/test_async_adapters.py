"""The async adapters on their own terms: cancellation mid-request, one token fetch for many
tasks, and the twins side by side against the emulator over real sockets."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from http_fakes import BSS_URL, TOKEN, FakeClock, Sleeps, account_body, json_response, token_body
from reseller_plans import Plan, StorefrontAlias, TransientBackendError
from reseller_plans.bss import AsyncBSSClient, BSSClient
from reseller_plans.http import AsyncBackendClient, RetryPolicy
from reseller_plans.storefront import AsyncStorefrontClient, StorefrontClient
from reseller_plans.testing.emulator import EmulatorServer, EmulatorState, serve_emulator

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def _retry(sleeps: Sleeps | None = None, **kwargs: Any) -> RetryPolicy:
    sleeps = sleeps if sleeps is not None else Sleeps()
    return RetryPolicy(sleep=sleeps, async_sleep=sleeps.wait, random=lambda: 0.5, **kwargs)


def _bss(handler: Handler, **kwargs: Any) -> AsyncBSSClient:
    return AsyncBSSClient(BSS_URL, client_key="key-1", client_secret="secret-1",
                          username="api-user", password="pw-1", clock=FakeClock(),
                          transport=httpx.MockTransport(handler), **kwargs)  # fmt: skip


class Stall:
    """A handler that answers ``route`` only once released; counts the requests it saw."""

    def __init__(self, route: str, then: httpx.Response | None = None) -> None:
        self.route = route
        self.then = then or json_response(200, account_body(1))
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.seen: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        path = f"{request.method} {request.url.path}"
        self.seen.append(path)
        if path == self.route:
            self.entered.set()
            await self.release.wait()
            return self.then
        if path == "POST /oauth/token":
            return json_response(200, token_body())
        return json_response(200, account_body(1))


async def _cancel_when_entered(stall: Stall, call: Awaitable[object]) -> None:
    task = asyncio.ensure_future(call)
    await stall.entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- cancellation -------------------------------------------------------------------------------


def test_a_request_cancelled_mid_send_raises_cancelled_and_makes_no_other_attempt() -> None:
    async def scenario() -> None:
        stall = Stall("POST /orders")
        sleeps = Sleeps()
        backend = AsyncBackendClient("https://api.test", retry=_retry(sleeps),
                                     transport=httpx.MockTransport(stall))  # fmt: skip
        seen_inside: list[float] = []

        async def call() -> None:
            try:
                await backend.request("POST", "/orders", json_body={}, idempotency_key="k")
            except asyncio.CancelledError:
                seen_inside.append(backend.deadline.remaining())  # the call's scope is left
                raise

        await _cancel_when_entered(stall, call())
        assert stall.seen == ["POST /orders"]  # cancelled is not retried
        assert sleeps == []
        assert seen_inside == [backend.deadline.seconds]
        stall.release.set()  # the next call starts afresh, with its own deadline
        assert (await backend.request("POST", "/orders", idempotency_key="k")).status == 200
        await backend.close()
        assert backend.closed

    asyncio.run(scenario())


def test_a_call_cancelled_in_its_retry_wait_makes_no_further_attempt() -> None:
    async def scenario() -> None:
        attempts: list[str] = []
        waiting = asyncio.Event()

        async def handler(request: httpx.Request) -> httpx.Response:
            attempts.append(request.url.path)
            return json_response(503)

        async def sleep(seconds: float) -> None:
            waiting.set()
            await asyncio.Event().wait()  # forever: only the cancellation ends it

        backend = AsyncBackendClient("https://api.test", transport=httpx.MockTransport(handler),
                                     retry=RetryPolicy(async_sleep=sleep))  # fmt: skip
        task = asyncio.ensure_future(backend.request("GET", "/x"))
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert attempts == ["/x"]

    asyncio.run(scenario())


def test_a_token_fetch_cancelled_midway_caches_nothing_and_frees_the_lock() -> None:
    async def scenario() -> None:
        stall = Stall("POST /oauth/token", then=json_response(200, token_body()))
        bss = _bss(stall, retry=_retry())
        await _cancel_when_entered(stall, bss.get_account("1"))
        assert bss.token_fetches == 0  # nothing half-recorded: no token, no count
        assert not bss._grant._lock.locked()  # type: ignore[attr-defined]
        assert stall.seen == ["POST /oauth/token"]  # the account was never asked for
        stall.release.set()
        assert (await bss.get_account("1")).id == "1"  # a fresh fetch, as if none had begun
        assert bss.token_fetches == 1
        assert stall.seen.count("POST /oauth/token") == 2

    asyncio.run(scenario())


def test_an_order_cancelled_between_its_writes_sends_no_later_write() -> None:
    async def scenario() -> None:
        stall = Stall("POST /api/orders/O-1/items", then=json_response(201, {"id": "I-1"}))

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/orders":
                stall.seen.append("POST /api/orders")
                return json_response(201, {"id": "O-1"})
            return await stall(request)

        bss = _bss(handler, retry=_retry())
        order = bss.place_plan_order(account_id="1", product_id="P", alias=None,
                                     billing_cycle="monthly", idempotency_key="k")  # fmt: skip
        await _cancel_when_entered(stall, order)
        assert stall.seen == ["POST /oauth/token", "POST /api/orders",
                              "POST /api/orders/O-1/items"]  # fmt: skip
        assert bss.backend.deadline.remaining() == bss.deadline

    asyncio.run(scenario())


# -- one token for many tasks -------------------------------------------------------------------


def test_concurrent_tasks_share_one_token_fetch_and_one_refresh() -> None:
    async def scenario() -> None:
        tokens = itertools.count(1)
        fetched: list[str] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                await asyncio.sleep(0.01)  # slow enough for every task to ask meanwhile
                fetched.append(f"tok-{next(tokens)}")
                return json_response(200, token_body(fetched[-1]))
            if request.headers["Authorization"] == "Bearer tok-1":
                return json_response(401)  # the first token is refused: one refresh for all
            return json_response(200, account_body(1))

        bss = _bss(handler, retry=_retry())
        accounts = await asyncio.gather(*(bss.get_account("1") for _ in range(20)))
        assert {account.id for account in accounts} == {"1"}
        assert fetched == ["tok-1", "tok-2"]
        assert bss.token_fetches == 2

    asyncio.run(scenario())


def test_the_default_token_is_the_one_the_router_gives() -> None:
    async def scenario() -> None:
        async def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/oauth/token":
                return json_response(200, token_body())
            assert request.headers["Authorization"] == f"Bearer {TOKEN}"
            return json_response(200, account_body(7))

        async with _bss(handler) as bss:
            assert (await bss.get_account("7")).id == "7"
        assert bss.closed

    asyncio.run(scenario())


# -- over real sockets ----------------------------------------------------------------------------


async def _no_wait(_seconds: float) -> None:
    return None


NO_WAIT = RetryPolicy(max_attempts=3, sleep=lambda seconds: None, async_sleep=_no_wait)
ALIAS = StorefrontAlias.parse("techsolutions")
CREDENTIALS = {"client_key": "demo-client-key", "client_secret": "demo-client-secret",
               "username": "api-user@disti.example", "password": "demo-password"}  # fmt: skip
SHOP_KEY = "demo-storefront-api-key"


def _activation(bss: Any, shop: Any) -> list[Callable[[], object]]:
    """The calls of an activation and its undoing, each a thunk (sync, or an awaitable)."""
    product = "P-1004"
    return [
        lambda: bss.get_distributor("100"),
        lambda: bss.get_account("3542"),
        lambda: shop.is_alias_free(ALIAS, account_id="3542"),
        lambda: shop.hold_alias(ALIAS, account_id="3542"),
        lambda: bss.place_plan_order(account_id="3542", product_id=product, alias=ALIAS,
                                     billing_cycle="monthly", idempotency_key="order-1"),
        lambda: bss.provision_license("3542", Plan.STANDARD, idempotency_key="lic-1"),
        lambda: bss.licensed_plan("3542"),
        lambda: shop.activate_storefront("3542", ALIAS, Plan.STANDARD, idempotency_key="sf-1"),
        lambda: shop.storefront_status("3542"),
        lambda: bss.platform_subscriptions_of("3542", product),
        lambda: shop.deactivate_storefront("3542", idempotency_key="sf-2"),
        lambda: bss.revoke_license("3542", idempotency_key="lic-2"),
        lambda: shop.release_alias(ALIAS, account_id="3542", idempotency_key="alias-1"),
    ]  # fmt: skip


def _log_of(server: EmulatorServer) -> list[tuple[str, int]]:
    return [(call.route, call.status) for call in server.state.call_log]


def test_the_twins_make_the_same_calls_and_give_the_same_answers_over_sockets() -> None:
    with serve_emulator(EmulatorState.demo()) as server:
        with BSSClient(server.url, retry=NO_WAIT, **CREDENTIALS) as bss, StorefrontClient(
            server.url, api_key=SHOP_KEY, retry=NO_WAIT
        ) as shop:  # fmt: skip
            sync_answers = [call() for call in _activation(bss, shop)]
        sync_log = _log_of(server)

    async def run_async() -> tuple[list[object], list[tuple[str, int]], int]:
        with serve_emulator(EmulatorState.demo()) as server:
            async with (
                AsyncBSSClient(server.url, retry=NO_WAIT, **CREDENTIALS) as bss,
                AsyncStorefrontClient(server.url, api_key=SHOP_KEY, retry=NO_WAIT) as shop,
            ):
                calls = _activation(bss, shop)
                answers = [await call() for call in calls]  # type: ignore[misc]
            return answers, _log_of(server), await _open_connections(server)

    async_answers, async_log, left_open = asyncio.run(run_async())
    assert async_answers == sync_answers
    assert async_log == sync_log
    assert left_open == 0


async def _open_connections(server: EmulatorServer) -> int:
    # the server notices closed sockets on its own thread: give it a bounded moment
    deadline = time.monotonic() + 5
    while server.open_connections and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return server.open_connections


def test_the_async_client_retries_over_sockets_and_serves_many_tasks_at_once() -> None:
    async def scenario(server: EmulatorServer) -> None:
        server.emulator.fail_next(503, route="GET /api/accounts/{account_id}", count=2)
        async with AsyncBSSClient(server.url, retry=NO_WAIT, **CREDENTIALS) as bss:
            account = await bss.get_account("3542")  # two 503s, then the account
            assert account.id == "3542"
            many = await asyncio.gather(*(bss.get_account("3542") for _ in range(32)))
            assert {a.id for a in many} == {"3542"}
            assert bss.token_fetches == 1
            server.emulator.fail_next(503, route="GET /api/accounts/{account_id}", count=10)
            with pytest.raises(TransientBackendError) as caught:
                await bss.get_account("3542")
            assert caught.value.retries_exhausted
        assert server.state.calls_to("GET /api/accounts/{account_id}") == 2 + 1 + 32 + 3

    with serve_emulator(EmulatorState.demo()) as server:
        asyncio.run(scenario(server))


def test_an_injected_async_client_gets_the_default_headers_and_stays_open() -> None:
    async def scenario() -> None:
        seen: list[httpx.Headers] = []

        async def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request.headers)
            return json_response(200, {"storefront": "x"})

        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as injected:
            backend = AsyncBackendClient(
                "https://api.test", service="Test", headers={"X-Api-Version": "3.0"},
                http_client=injected,
            )  # fmt: skip
            async with backend:
                assert (await backend.get_payload("/x")).text("storefront") == "x"
            assert not injected.is_closed
            assert backend.url_for("/a") == "https://api.test/a"
            assert (
                repr(backend) == "AsyncBackendClient(service='Test', base_url='https://api.test')"
            )
        assert (seen[0]["X-Api-Version"], seen[0]["User-Agent"]) == ("3.0", "reseller-plans")

    asyncio.run(scenario())


def test_the_async_reprs_name_the_twin_and_no_secret() -> None:
    bss = AsyncBSSClient(BSS_URL, client_key="ck-0001", client_secret="cs-0001", username="u",
                         password="pw-0001")  # fmt: skip
    shop = AsyncStorefrontClient(BSS_URL, api_key="sf-key-0001")
    text = repr(bss) + repr(shop) + repr(shop.backend._auth)  # type: ignore[attr-defined]
    assert "AsyncBSSClient(" in text
    assert "AsyncPasswordGrant(username='u'" in text
    assert "AsyncApiKeyAuth(header='X-ApiKey')" in text
    assert not any(secret in text for secret in ("ck-0001", "cs-0001", "pw-0001", "sf-key-0001"))
    assert bss.deadline == shop.deadline == RetryPolicy().deadline
