"""Shared test doubles of the HTTP adapter tests: a fake clock, a sleep recorder, clients wired to
a respx router, and the responses the mocked BSS and Storefront give.

Every client factory makes either twin: the sync client, or the async one behind a
:class:`Blocking` view (each call runs to completion in ``asyncio.run``), so one test body
checks both. A module opts in with the :data:`twin` fixture below (``pytestmark`` or a
parameter); the default twin is the sync one."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, Literal

import httpx
import pytest
import respx

from reseller_plans.bss import AsyncBSSClient, BSSClient
from reseller_plans.http import RetryPolicy
from reseller_plans.storefront import AsyncStorefrontClient, StorefrontClient

Twin = Literal["sync", "async"]
TWINS: tuple[Twin, ...] = ("sync", "async")
_TWIN: ContextVar[Twin] = ContextVar("twin", default="sync")


_LOOPS: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(params=TWINS)
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    """Runs the test once per twin: the factories below make that twin's clients."""
    token = _TWIN.set(request.param)
    yield request.param
    _TWIN.reset(token)
    while _LOOPS:
        _LOOPS.pop().close()


class Blocking:
    """A blocking view of an async client, on an event loop of its own: each coroutine method
    runs to completion, an async generator is a lazy iterator, ``with`` is ``async with``;
    anything else is the client's own. (The ``twin`` fixture closes the loops.)"""

    def __init__(self, target: Any) -> None:
        self.target = target
        self.loop = asyncio.new_event_loop()
        _LOOPS.append(self.loop)

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.target, name)
        if inspect.iscoroutinefunction(value):
            return lambda *args, **kwargs: self.run(value(*args, **kwargs))
        if inspect.isasyncgenfunction(value):
            return lambda *args, **kwargs: self._iterate(value(*args, **kwargs))
        return value

    def _iterate(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self.run(items.__anext__())
            except StopAsyncIteration:
                return

    def __enter__(self) -> Blocking:
        self.run(self.target.__aenter__())
        return self

    def __exit__(self, *exc: object) -> None:
        self.run(self.target.__aexit__(*exc))

    def __repr__(self) -> str:
        return repr(self.target)


class AsyncAuth:
    """A sync authenticator seen by the async backend client."""

    def __init__(self, auth: Any) -> None:
        self.auth = auth

    async def auth_headers(self) -> Mapping[str, str]:
        return self.auth.auth_headers()  # type: ignore[no-any-return]

    async def refresh(self, used: Mapping[str, str]) -> bool:
        return self.auth.refresh(used)  # type: ignore[no-any-return]


def current_twin() -> Twin:
    """The twin the running test asked for (sync when it asked for none)."""
    return _TWIN.get()


def either(sync: Callable[..., Any], twin: Callable[..., Any], **kwargs: Any) -> Any:
    """The sync client, or a blocking view of the async twin, as the running test asks."""
    if current_twin() == "sync":
        return sync(**kwargs)
    return Blocking(twin(**kwargs))


BSS_URL = "https://bss.test"
SF_URL = "https://shop.test"
TOKEN = "tok-0001"
API_KEY = "sf-api-key-0001"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.current = start

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += dt.timedelta(seconds=seconds)


class Sleeps(list[float]):
    """Records the waits the retry policy asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)

    async def wait(self, seconds: float) -> None:
        """The async clients' sleep: recorded, not waited."""
        self.append(seconds)


def policy(sleeps: Sleeps, *, max_attempts: int = 3, max_retry_after: float = 30.0) -> RetryPolicy:
    """A policy whose jitter factor is always 0.875 (random() = 0.5, jitter 0.25)."""
    return RetryPolicy(
        max_attempts=max_attempts,
        initial_backoff=0.5,
        max_backoff=8.0,
        jitter=0.25,
        max_retry_after=max_retry_after,
        sleep=sleeps,
        random=lambda: 0.5,
        async_sleep=sleeps.wait,
    )


def backoffs(n: int) -> list[float]:
    """The first ``n`` waits of :func:`policy` when the server names no time."""
    return [0.5 * 2**i * 0.875 for i in range(n)]


def json_response(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {}, headers=headers)


def token_body(token: str = TOKEN, expires_in: int | None = 3600) -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": token, "token_type": "bearer"}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return body


def bss_router() -> respx.Router:
    router = respx.Router(base_url=BSS_URL, assert_all_called=False)
    router.post("/oauth/token", name="token").mock(return_value=json_response(200, token_body()))
    return router


def make_bss(
    router: respx.Router,
    *,
    sleeps: Sleeps | None = None,
    clock: FakeClock | None = None,
    max_attempts: int = 3,
    **kwargs: Any,
) -> BSSClient:
    return either(  # type: ignore[no-any-return]
        BSSClient,
        AsyncBSSClient,
        base_url=BSS_URL,
        client_key=kwargs.pop("client_key", "key-1"),
        client_secret=kwargs.pop("client_secret", "secret-1"),
        username=kwargs.pop("username", "api-user"),
        password=kwargs.pop("password", "pw-1"),
        retry=policy(sleeps if sleeps is not None else Sleeps(), max_attempts=max_attempts),
        clock=clock or FakeClock(),
        transport=httpx.MockTransport(router.handler),
        **kwargs,
    )


def sf_router() -> respx.Router:
    return respx.Router(base_url=SF_URL, assert_all_called=False)


class Keys:
    """A deterministic idempotency key factory."""

    def __init__(self) -> None:
        self.minted: list[str] = []

    def __call__(self) -> str:
        key = f"sf-key-{len(self.minted) + 1}"
        self.minted.append(key)
        return key


def make_storefront(
    router: respx.Router, *, sleeps: Sleeps | None = None, max_attempts: int = 3, **kwargs: Any
) -> StorefrontClient:
    return either(  # type: ignore[no-any-return]
        StorefrontClient,
        AsyncStorefrontClient,
        base_url=SF_URL,
        api_key=kwargs.pop("api_key", API_KEY),
        retry=policy(sleeps if sleeps is not None else Sleeps(), max_attempts=max_attempts),
        clock=kwargs.pop("clock", FakeClock()),
        key_factory=kwargs.pop("key_factory", Keys()),
        transport=httpx.MockTransport(router.handler),
        **kwargs,
    )


def account_body(account_id: int = 3542, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": account_id,
        "name": f"Account {account_id}",
        "email": f"a{account_id}@example.test",
        "resellingEnabled": True,
        "billToAccount": {"id": 100, "name": "Disti"},
    }
    body.update(extra)
    return body


def page_body(rows: list[Any], *, index: int, pages: int, next_url: str | None) -> dict[str, Any]:
    return {
        "data": rows,
        "paging": {"pageIndex": index, "pageSize": len(rows), "totalRecords": 0,
                   "totalPages": pages},
        "links": {"next": next_url},
    }  # fmt: skip


ORGANIZATION = {
    "id": 100,
    "name": "Disti",
    "edition": "Diamond",
    "activeAddons": ["Standard Edition Resellers"],
    "serviceManagerStatus": "Active",
    "storefrontHost": "cloud.disti.test",
    "staffEmail": "ops@disti.test",
}
PRODUCTS = [
    {"id": "P-1", "code": "Other"},
    {"id": "P-2", "code": "ResellerPlanFree"},
    {"id": "P-3", "code": "ResellerPlanStandard"},
]
